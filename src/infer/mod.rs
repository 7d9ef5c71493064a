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
