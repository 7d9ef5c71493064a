//! Learned models through ONNX Runtime. This is the only module that names
//! `ort`.
//!
//! Theory of operation: the ONNX Runtime shared library is found at run time
//! (`runtime`: an environment variable, next to the executable, the user data
//! directory) and loaded once per process. Models are described by
//! `models/models.json` (`manifest`): file, sha256, version, task, input and
//! output names and shapes, normalisation and class list; a model is only
//! used when its bytes hash to the manifest's digest and its session's
//! inputs and outputs match the manifest. Anything missing or wrong is a
//! `ModelError` with a plain message; callers then fall back to the built-in
//! algorithms and say so once.

pub mod classifier;
pub mod manifest;
pub mod preprocess;
pub mod runtime;
pub mod segmenter;

use std::path::PathBuf;

use ort::session::Session;

use manifest::{Manifest, ModelEntry};

/// Why a learned model cannot be used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ModelError {
    #[error(
        "the ONNX Runtime library was not found (looked in: {}); reinstall KaryoStation, or set KARYOSTATION_ORT_LIB to the path of libonnxruntime.so (in a source checkout, packaging/fetch-onnxruntime.sh fetches it)",
        searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    RuntimeNotFound { searched: Vec<PathBuf> },
    #[error("the ONNX Runtime library {path} could not be loaded: {reason}")]
    RuntimeLoad { path: PathBuf, reason: String },
    #[error("no model manifest found (looked in: {}); set KARYOSTATION_MODELS to the folder holding models.json",
        searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    ManifestNotFound { searched: Vec<PathBuf> },
    #[error("cannot read {path}: {reason}")]
    ManifestRead { path: PathBuf, reason: String },
    #[error("{path} has no model for the task {task:?}")]
    NoModelForTask { path: PathBuf, task: String },
    #[error("model file {path} is missing or unreadable: {reason}")]
    ModelMissing { path: PathBuf, reason: String },
    #[error(
        "model file {path} does not match its manifest entry (sha256 {actual}, expected {expected}): damaged or replaced"
    )]
    HashMismatch {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("model file {path} is not a usable ONNX model: {reason}")]
    Session { path: PathBuf, reason: String },
    #[error("model {model} does not have the inputs and outputs its manifest promises: {detail}")]
    Signature { model: String, detail: String },
    #[error("model {model} failed while running: {reason}")]
    Inference { model: String, reason: String },
}

/// A `Signature` error for a manifest entry.
fn signature_error(entry: &ModelEntry, detail: impl Into<String>) -> ModelError {
    ModelError::Signature {
        model: format!("{} {}", entry.name, entry.version),
        detail: detail.into(),
    }
}

/// Refuses an entry whose normalisation is not the one the caller prepares.
fn check_normalisation(entry: &ModelEntry, supported: &str) -> Result<(), ModelError> {
    if entry.normalisation == supported {
        Ok(())
    } else {
        Err(signature_error(
            entry,
            format!(
                "normalisation {:?} is not the supported {supported:?}",
                entry.normalisation
            ),
        ))
    }
}

/// Opens a session on a manifest entry's model: verifies the file's sha256,
/// finds the runtime and builds the session (up to four threads).
fn open_session(manifest: &Manifest, entry: &ModelEntry) -> Result<Session, ModelError> {
    let bytes = manifest.read_verified(entry)?;
    let env = runtime::environment()?;
    let path = manifest.dir.join(&entry.file);
    let session_error = |reason: String| ModelError::Session {
        path: path.clone(),
        reason,
    };
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    let mut builder = Session::builder(env)
        .map_err(|e| session_error(e.to_string()))?
        .with_intra_threads(threads)
        .map_err(|e| session_error(e.to_string()))?;
    builder
        .commit_from_memory(&bytes)
        .map_err(|e| session_error(e.to_string()))
}
