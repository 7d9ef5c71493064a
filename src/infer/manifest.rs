//! The model manifest (`models/models.json`) and verified model loading.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ModelError;

/// The tasks a model can serve.
pub const TASK_CLASSIFIER: &str = "chromosome-classifier";
pub const TASK_SEGMENTER: &str = "segmenter";

/// Name and shape of one model input or output; `-1` is a free dimension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TensorSpec {
    pub name: String,
    pub shape: Vec<i64>,
}

/// One model of the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelEntry {
    pub name: String,
    pub version: String,
    pub task: String,
    /// File name relative to the manifest's folder.
    pub file: String,
    /// Lower-case hex sha256 of the file.
    pub sha256: String,
    pub inputs: Vec<TensorSpec>,
    pub outputs: Vec<TensorSpec>,
    /// How inputs are prepared (see `preprocess`).
    pub normalisation: String,
    /// Class names in output order ("1".."22", "X", "Y" for classifiers).
    #[serde(default)]
    pub classes: Vec<String>,
    /// The model card, relative to the manifest's folder.
    #[serde(default)]
    pub card: Option<String>,
}

/// The manifest: every shipped model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub models: Vec<ModelEntry>,
    /// Folder the manifest was read from (not serialised).
    #[serde(skip)]
    pub dir: PathBuf,
}

/// File name of the manifest inside a models folder.
pub const MANIFEST_FILE: &str = "models.json";

/// Environment variable naming the models folder.
pub const MODELS_ENV: &str = "KARYOSTATION_MODELS";

/// Where models are looked for, in order: `$KARYOSTATION_MODELS`, `models/`
/// next to the executable, `<prefix>/share/karyostation/models` for a program in `<prefix>/bin`
/// (installed packages), the source tree's `models/` (development builds).
pub fn model_dir_candidates() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(dir) = std::env::var_os(MODELS_ENV) {
        out.push(PathBuf::from(dir));
    }
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        out.push(exe_dir.join("models"));
        if let Some(prefix) = exe_dir.parent() {
            out.push(prefix.join("share/karyostation/models"));
        }
    }
    out.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models"));
    out
}

impl Manifest {
    /// Reads the manifest from the first candidate folder that has one.
    ///
    /// # Errors
    /// `ManifestNotFound` listing the folders searched, or a read/parse error.
    pub fn find() -> Result<Self, ModelError> {
        let candidates = model_dir_candidates();
        for dir in &candidates {
            if dir.join(MANIFEST_FILE).is_file() {
                return Self::read(dir);
            }
        }
        Err(ModelError::ManifestNotFound {
            searched: candidates,
        })
    }

    /// Reads `dir/models.json`.
    ///
    /// # Errors
    /// When the file cannot be read or is not a valid manifest.
    pub fn read(dir: &Path) -> Result<Self, ModelError> {
        let path = dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| ModelError::ManifestRead {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let mut manifest: Manifest =
            serde_json::from_str(&text).map_err(|e| ModelError::ManifestRead {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        manifest.dir = dir.to_path_buf();
        Ok(manifest)
    }

    /// The first model for `task`.
    ///
    /// # Errors
    /// `NoModelForTask` when there is none.
    pub fn entry(&self, task: &str) -> Result<&ModelEntry, ModelError> {
        self.models
            .iter()
            .find(|m| m.task == task)
            .ok_or_else(|| ModelError::NoModelForTask {
                path: self.dir.join(MANIFEST_FILE),
                task: task.to_string(),
            })
    }

    /// Reads a model's bytes and checks them against the manifest's sha256.
    ///
    /// # Errors
    /// `ModelMissing` or `HashMismatch`.
    pub fn read_verified(&self, entry: &ModelEntry) -> Result<Vec<u8>, ModelError> {
        let path = self.dir.join(&entry.file);
        let bytes = std::fs::read(&path).map_err(|e| ModelError::ModelMissing {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let actual = sha256_hex(&bytes);
        if !actual.eq_ignore_ascii_case(entry.sha256.trim()) {
            return Err(ModelError::HashMismatch {
                path,
                expected: entry.sha256.clone(),
                actual,
            });
        }
        Ok(bytes)
    }
}

pub use crate::domain::review::sha256_hex;

/// True when an actual shape (from the session) fits the promised one;
/// `-1` (or a symbolic dimension, reported as -1) on either side matches anything.
pub fn shape_fits(promised: &[i64], actual: &[i64]) -> bool {
    promised.len() == actual.len()
        && promised
            .iter()
            .zip(actual)
            .all(|(p, a)| *p < 0 || *a < 0 || p == a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_and_shapes() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(shape_fits(&[-1, 1, 128, 64], &[-1, 1, 128, 64]));
        assert!(shape_fits(&[-1, 24], &[7, 24]));
        assert!(!shape_fits(&[-1, 24], &[-1, 23]));
        assert!(!shape_fits(&[-1, 24], &[-1, 24, 1]));
    }

    #[test]
    fn damaged_and_missing_models_are_refused_with_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let entry = ModelEntry {
            name: "m".into(),
            version: "1".into(),
            task: TASK_CLASSIFIER.into(),
            file: "m.onnx".into(),
            sha256: sha256_hex(b"good"),
            inputs: vec![],
            outputs: vec![],
            normalisation: "x".into(),
            classes: vec![],
            card: None,
        };
        let manifest = Manifest {
            models: vec![entry.clone()],
            dir: dir.path().to_path_buf(),
        };
        let missing = manifest.read_verified(&entry).unwrap_err();
        assert!(
            matches!(missing, ModelError::ModelMissing { .. })
                && missing.to_string().contains("m.onnx")
        );
        std::fs::write(dir.path().join("m.onnx"), b"bad").unwrap();
        let wrong = manifest.read_verified(&entry).unwrap_err();
        assert!(matches!(wrong, ModelError::HashMismatch { .. }), "{wrong}");
        std::fs::write(dir.path().join("m.onnx"), b"good").unwrap();
        assert_eq!(manifest.read_verified(&entry).unwrap(), b"good");
        assert!(manifest.entry(TASK_SEGMENTER).is_err());
        std::fs::write(dir.path().join(MANIFEST_FILE), "{ not json").unwrap();
        assert!(
            Manifest::read(dir.path())
                .unwrap_err()
                .to_string()
                .contains("models.json")
        );
    }
}
