//! File-system helpers shared by the infrastructure modules: the user data
//! directory and crash-safe whole-file writes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The user data directory of KaryoStation (`~/.local/share/karyostation` on
/// Linux): the case database, the ONNX Runtime library fetched by
/// `packaging/fetch-onnxruntime.sh`.
pub fn user_data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("org", "KaryoStation", "karyostation")
        .map(|d| d.data_dir().to_path_buf())
}

/// Writes `bytes` to a new temporary file beside `path`, syncs it and renames
/// it to `path`, so readers see the old file or the whole new one, never part
/// of it. The temporary file is removed on any failure.
///
/// # Errors
/// The I/O error of the step that failed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the path has no file name",
            )
        })?
        .to_string_lossy();
    let tmp = dir.join(format!(
        ".{file_name}.{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        // Best effort: the temporary file may not exist if creation failed.
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
