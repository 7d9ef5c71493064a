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

/// Writes several files all or nothing: every file goes to a temporary file
/// beside its target first (written and synced); only when all of them are
/// written are they renamed into place. When a write fails, every temporary
/// file is removed and no target has changed; the error names the target.
///
/// # Errors
/// The target path and the I/O error of the step that failed.
pub fn write_all_atomic(files: &[(&Path, &[u8])]) -> Result<(), (PathBuf, std::io::Error)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut temps: Vec<(PathBuf, &Path)> = Vec::new();
    let cleanup = |temps: &[(PathBuf, &Path)]| {
        for (tmp, _) in temps {
            let _ = std::fs::remove_file(tmp);
        }
    };
    for &(path, bytes) in files {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let Some(name) = path.file_name() else {
            cleanup(&temps);
            return Err((
                path.to_path_buf(),
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "the path has no file name",
                ),
            ));
        };
        let tmp = dir.join(format!(
            ".{}.{}.{}.tmp",
            name.to_string_lossy(),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let written = (|| {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)?;
            temps.push((tmp.clone(), path));
            file.write_all(bytes)?;
            file.sync_all()
        })();
        if let Err(e) = written {
            cleanup(&temps);
            return Err((path.to_path_buf(), e));
        }
    }
    for (i, (tmp, path)) in temps.iter().enumerate() {
        if let Err(e) = std::fs::rename(tmp, path) {
            cleanup(&temps[i..]);
            return Err((path.to_path_buf(), e));
        }
    }
    Ok(())
}

/// The environment variable naming a folder with extra band tables.
pub const BANDS_ENV: &str = "KARYOSTATION_BANDS";

/// Folders searched for the 300- and 700-band tables (not shipped: they are
/// derived with an LGPL band list): `$KARYOSTATION_BANDS`, `bands/` in the
/// user data directory, and `bands/` beside the executable.
pub fn band_table_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(p) = std::env::var_os(BANDS_ENV).filter(|p| !p.is_empty()) {
        dirs.push(PathBuf::from(p));
    }
    if let Some(d) = user_data_dir() {
        dirs.push(d.join("bands"));
    }
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        dirs.push(exe_dir.join("bands"));
    }
    dirs
}

/// Installs the 300- and 700-band tables found in `dirs` (first match per
/// level). Returns one line per level: where it came from, or why it is not
/// available (the level then shows the nearest built-in table).
pub fn install_band_tables(dirs: &[PathBuf]) -> Vec<String> {
    use crate::domain::bands::{BandLevel, BandTable};
    let mut notes = Vec::new();
    for level in [BandLevel::B300, BandLevel::B700] {
        let found = dirs
            .iter()
            .map(|d| d.join(level.file_name()))
            .find(|p| p.is_file());
        let Some(path) = found else {
            notes.push(format!(
                "{}-band table not found ({} in ${BANDS_ENV} or the data folder's bands/): using {} bands",
                level.bands_per_set(),
                level.file_name(),
                level.fallback().bands_per_set()
            ));
            continue;
        };
        let result = std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|text| BandTable::install(level, &text));
        notes.push(match result {
            Ok(_) => format!(
                "{}-band table from {}",
                level.bands_per_set(),
                path.display()
            ),
            Err(e) => format!(
                "{}-band table {} is unusable ({e}): using {} bands",
                level.bands_per_set(),
                path.display(),
                level.fallback().bands_per_set()
            ),
        });
    }
    notes
}
