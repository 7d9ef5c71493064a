//! What this build is and what it finds at run time: the text of
//! `karyostation --version` (version, git commit, the models and their
//! check, the ONNX Runtime library and its version, where user data lives).
//!
//! Everything here is read-only: asking for the version never creates the
//! data directory or the database.

use std::path::{Path, PathBuf};

use crate::infer::ModelError;
use crate::infer::manifest::{MANIFEST_FILE, Manifest};
use crate::infer::runtime;

/// The git commit the binary was built from (see `build.rs`).
pub const GIT_HASH: &str = env!("KARYOSTATION_GIT_HASH");

/// The crate version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// One model of the manifest and whether its file is intact.
#[derive(Debug, Clone)]
pub struct ModelStatus {
    pub name: String,
    pub version: String,
    pub task: String,
    pub path: PathBuf,
    /// `Err` with the reason when the file is missing or does not match its sha256.
    pub check: Result<(), String>,
}

/// Everything `--version` reports.
#[derive(Debug, Clone)]
pub struct BuildInfo {
    pub version: &'static str,
    pub git_hash: &'static str,
    pub profile: &'static str,
    /// The manifest read and its models, or why none could be read.
    pub models: Result<(PathBuf, Vec<ModelStatus>), ModelError>,
    /// The ONNX Runtime library (path, version), or why it is not available.
    pub runtime: Result<(PathBuf, String), ModelError>,
    pub data_dir: Option<PathBuf>,
    pub database: Option<PathBuf>,
}

impl BuildInfo {
    /// Looks for the models and the ONNX Runtime library (loading it) the
    /// same way the analysis does.
    pub fn gather() -> Self {
        let models = Manifest::find().map(|m| {
            let statuses = m
                .models
                .iter()
                .map(|entry| ModelStatus {
                    name: entry.name.clone(),
                    version: entry.version.clone(),
                    task: entry.task.clone(),
                    path: m.dir.join(&entry.file),
                    check: m
                        .read_verified(entry)
                        .map(|_| ())
                        .map_err(|e| e.to_string()),
                })
                .collect();
            (m.dir.join(MANIFEST_FILE), statuses)
        });
        let runtime = runtime::runtime_version().map(|version| {
            let path = runtime::loaded_library()
                .map(Path::to_path_buf)
                .unwrap_or_default();
            (path, version)
        });
        Self {
            version: VERSION,
            git_hash: GIT_HASH,
            profile: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
            models,
            runtime,
            data_dir: crate::fsutil::user_data_dir(),
            database: crate::store::default_db_path(),
        }
    }

    /// The multi-line report printed by `--version`; the first line is
    /// `karyostation VERSION (git HASH, PROFILE build)`.
    pub fn report(&self) -> String {
        let mut out = format!(
            "karyostation {} (git {}, {} build)\n",
            self.version, self.git_hash, self.profile
        );
        match &self.models {
            Ok((manifest, models)) => {
                out += &format!("models: {}\n", manifest.display());
                for m in models {
                    let state = match &m.check {
                        Ok(()) => "sha256 verified".to_string(),
                        Err(reason) => format!("NOT USABLE: {reason}"),
                    };
                    out += &format!(
                        "  {} {} ({}): {} [{state}]\n",
                        m.name,
                        m.version,
                        m.task,
                        m.path.display()
                    );
                }
            }
            Err(e) => out += &format!("models: none usable ({e}); built-in algorithms in use\n"),
        }
        match &self.runtime {
            Ok((path, version)) => {
                out += &format!("ONNX Runtime: {version} ({})\n", path.display());
            }
            Err(e) => {
                out += &format!("ONNX Runtime: not available ({e}); built-in algorithms in use\n")
            }
        }
        let shown = |p: &Option<PathBuf>| {
            p.as_ref()
                .map_or("(none: no home directory)".to_string(), |p| {
                    p.display().to_string()
                })
        };
        out += &format!(
            "user data: {} (case database: {})\n",
            shown(&self.data_dir),
            shown(&self.database)
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_names_version_commit_models_and_runtime_problems() {
        let info = BuildInfo {
            version: "9.9.9",
            git_hash: "0123456789ab",
            profile: "release",
            models: Ok((
                PathBuf::from("/opt/m/models.json"),
                vec![ModelStatus {
                    name: "chromosome-classifier".into(),
                    version: "0.3.0".into(),
                    task: "chromosome-classifier".into(),
                    path: PathBuf::from("/opt/m/c.onnx"),
                    check: Err("sha256 mismatch".into()),
                }],
            )),
            runtime: Err(ModelError::RuntimeNotFound {
                searched: vec![PathBuf::from("/opt/lib/libonnxruntime.so")],
            }),
            data_dir: Some(PathBuf::from("/home/t/.local/share/karyostation")),
            database: None,
        };
        let text = info.report();
        assert!(text.starts_with("karyostation 9.9.9 (git 0123456789ab, release build)\n"));
        assert!(text.contains("chromosome-classifier 0.3.0"));
        assert!(text.contains("/opt/m/c.onnx [NOT USABLE: sha256 mismatch]"));
        assert!(text.contains("ONNX Runtime: not available"));
        assert!(text.contains("/opt/lib/libonnxruntime.so"));
        assert!(text.contains("(case database: (none: no home directory))"));
    }
}
