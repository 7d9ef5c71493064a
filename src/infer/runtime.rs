//! Finding and loading the ONNX Runtime shared library, once per process.
//!
//! Search order (first existing file wins):
//! 1. `$KARYOSTATION_ORT_LIB` (a file path), then `$ORT_DYLIB_PATH`;
//! 2. next to the executable: `libonnxruntime.so`, then `lib/libonnxruntime.so`
//!    and `<prefix>/lib/karyostation/libonnxruntime.so` for a program in
//!    `<prefix>/bin` (installed packages);
//! 3. the user data directory: `<data dir>/lib/libonnxruntime.so`
//!    (`~/.local/share/karyostation/lib` on Linux), where
//!    `packaging/fetch-onnxruntime.sh` puts it.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::environment::Environment;

use super::ModelError;

/// Environment variable naming the library file.
pub const LIBRARY_ENV: &str = "KARYOSTATION_ORT_LIB";

/// The library's file name on this platform.
pub fn library_file_name() -> &'static str {
    if cfg!(target_os = "windows") {
        "onnxruntime.dll"
    } else if cfg!(target_os = "macos") {
        "libonnxruntime.dylib"
    } else {
        "libonnxruntime.so"
    }
}

/// Every place the library is looked for, in order.
pub fn library_candidates() -> Vec<PathBuf> {
    let name = library_file_name();
    let mut out = Vec::new();
    for var in [LIBRARY_ENV, "ORT_DYLIB_PATH"] {
        if let Some(path) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            out.push(PathBuf::from(path));
        }
    }
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        out.push(exe_dir.join(name));
        out.push(exe_dir.join("lib").join(name));
        if let Some(prefix) = exe_dir.parent() {
            out.push(prefix.join("lib/karyostation").join(name));
        }
    }
    if let Some(data) = crate::fsutil::user_data_dir() {
        out.push(data.join("lib").join(name));
    }
    out
}

static ENVIRONMENT: OnceLock<Result<(Environment, PathBuf), ModelError>> = OnceLock::new();

/// The process-wide ONNX Runtime environment, loading the library on first use.
///
/// # Errors
/// `RuntimeNotFound` with the places searched, or `RuntimeLoad` when the file
/// exists but cannot be loaded (wrong architecture or version). The outcome of
/// the first call is kept: the library is never loaded twice.
pub fn environment() -> Result<&'static Environment, ModelError> {
    let result = ENVIRONMENT.get_or_init(|| {
        let candidates = library_candidates();
        let Some(path) = candidates.iter().find(|p| p.is_file()).cloned() else {
            return Err(ModelError::RuntimeNotFound {
                searched: candidates,
            });
        };
        let fail = |reason: String| ModelError::RuntimeLoad {
            path: path.clone(),
            reason,
        };
        let builder = ort::init_from(&path).map_err(|e| fail(e.to_string()))?;
        let env = builder
            .with_name("karyostation")
            .build()
            .map_err(|e| fail(e.to_string()))?;
        Ok((env, path))
    });
    match result {
        Ok((env, _)) => Ok(env),
        Err(e) => Err(e.clone()),
    }
}

/// The library file in use, once loaded.
pub fn loaded_library() -> Option<&'static Path> {
    ENVIRONMENT
        .get()
        .and_then(|r| r.as_ref().ok())
        .map(|(_, p)| p.as_path())
}

/// The version of the loaded ONNX Runtime library (e.g. `1.31.1`), loading
/// it first if needed. Asked of the library itself (`GetVersionString`);
/// when that fails, the library's build information line is returned.
///
/// # Errors
/// As [`environment`]: the library is missing or cannot be loaded.
pub fn runtime_version() -> Result<String, ModelError> {
    environment()?;
    let from_library = loaded_library().and_then(library_version_string);
    Ok(from_library.unwrap_or_else(|| ort::info().trim().to_string()))
}

/// `OrtGetApiBase()->GetVersionString()` of the library at `path` (already
/// loaded by [`environment`]; opening it again only raises its reference count).
#[allow(unsafe_code)]
fn library_version_string(path: &Path) -> Option<String> {
    type GetApiBase = unsafe extern "C" fn() -> *const ort::sys::OrtApiBase;
    // SAFETY: `path` is the ONNX Runtime library `environment` loaded and
    // checked (ort resolved the same symbol from it). `OrtGetApiBase` takes no
    // arguments and returns a pointer to a static table; `GetVersionString`
    // returns a static NUL-terminated string that must not be freed. Both are
    // null-checked; the string is copied before the library handle is dropped.
    unsafe {
        let lib = libloading::Library::new(path).ok()?;
        let get_base = lib.get::<GetApiBase>(b"OrtGetApiBase").ok()?;
        let base = get_base();
        if base.is_null() {
            return None;
        }
        let version = ((*base).GetVersionString)();
        if version.is_null() {
            return None;
        }
        let text = std::ffi::CStr::from_ptr(version).to_str().ok()?.to_string();
        Some(text).filter(|v| !v.is_empty())
    }
}
