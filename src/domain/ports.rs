//! Ports: what the domain needs from the outside, as traits. Learned models
//! (ONNX) and the built-in algorithms implement the same ports, so the
//! pipeline, the CLI and the GUI never care which one runs.

use serde::{Deserialize, Serialize};

use super::classify::builtin::BuiltinClassifier;
use super::classify::{BatchContext, ChromosomeFeatures, Prediction};
use super::modality::{Modality, density};
use super::raster::GrayImage;
use super::segmentation::Segmentation;
use super::segmentation::builtin::{BuiltinParams, segment};

/// Which algorithm or model produced a result.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ModelInfo {
    pub name: String,
    pub version: String,
}

impl ModelInfo {
    pub fn new(name: &str, version: &str) -> Self {
        Self {
            name: name.to_string(),
            version: version.to_string(),
        }
    }
}

/// A segmenter failed as a whole (not: found nothing, which is an empty result).
#[derive(Debug, thiserror::Error)]
pub enum SegmentationError {
    #[error("segmenter {model} failed: {reason}")]
    Failed { model: String, reason: String },
}

/// A classifier failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum ClassifyError {
    #[error("classifier {model} failed: {reason}")]
    Failed { model: String, reason: String },
    #[error("classifier {model} returned {got} predictions for {expected} chromosomes")]
    WrongCount {
        model: String,
        expected: usize,
        got: usize,
    },
}

/// Cuts a spread into chromosome objects.
pub trait Segmenter: Send + Sync {
    fn info(&self) -> ModelInfo;

    /// Segments an 8-bit spread as acquired, with its modality.
    ///
    /// # Errors
    /// When the segmenter cannot run at all; an empty spread is `Ok`.
    fn segment(
        &self,
        gray: &GrayImage,
        modality: Modality,
    ) -> Result<Segmentation, SegmentationError>;
}

/// Names chromosomes and their polarity.
pub trait ChromosomeClassifier: Send + Sync {
    fn info(&self) -> ModelInfo;

    /// Classifies a batch (one cell, or independent crops), one prediction
    /// per input in order.
    ///
    /// # Errors
    /// When the classifier cannot run at all.
    fn classify(
        &self,
        batch: &[ChromosomeFeatures],
        context: BatchContext,
    ) -> Result<Vec<Prediction>, ClassifyError>;
}

/// The classical segmenter of `segmentation::builtin`.
#[derive(Debug, Clone, Default)]
pub struct BuiltinSegmenter {
    pub params: BuiltinParams,
}

impl BuiltinSegmenter {
    pub const NAME: &'static str = "builtin-classical";
    pub const VERSION: &'static str = "1";
}

impl Segmenter for BuiltinSegmenter {
    fn info(&self) -> ModelInfo {
        ModelInfo::new(Self::NAME, Self::VERSION)
    }

    fn segment(
        &self,
        gray: &GrayImage,
        modality: Modality,
    ) -> Result<Segmentation, SegmentationError> {
        Ok(segment(&density(gray, modality), modality, &self.params))
    }
}

impl ChromosomeClassifier for BuiltinClassifier {
    fn info(&self) -> ModelInfo {
        ModelInfo::new(Self::NAME, Self::VERSION)
    }

    fn classify(
        &self,
        batch: &[ChromosomeFeatures],
        context: BatchContext,
    ) -> Result<Vec<Prediction>, ClassifyError> {
        Ok(self.classify_batch(batch, context))
    }
}
