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

/// The case store: cases, their cells, every correction, sign-off and the
/// audit trail. Implemented on SQLite by `store::SqliteCaseRepo`; used by the
/// CLI and the GUI. Every mutating call is one transaction: when it returns
/// `Ok` the change is durable, when it returns `Err` nothing changed.
pub trait CaseRepo {
    type Error: std::error::Error + Send + Sync + 'static;

    /// Creates a case (version 1, draft).
    ///
    /// # Errors
    /// When the accession exists or the store fails.
    fn create_case(
        &mut self,
        case: &super::case::NewCase,
        user: &str,
    ) -> Result<super::case::CaseSummary, Self::Error>;

    /// The latest version of every case whose accession, patient name or
    /// patient id contains `search` (all cases with `None`), by accession.
    ///
    /// # Errors
    /// When the store fails.
    fn list_cases(
        &self,
        search: Option<&str>,
    ) -> Result<Vec<super::case::CaseSummary>, Self::Error>;

    /// The latest version of a case, with its metaphases and versions.
    ///
    /// # Errors
    /// When there is no such case or the store fails.
    fn case_detail(&self, accession: &str) -> Result<super::case::CaseDetail, Self::Error>;

    /// Stores an analysed metaphase in the latest version of a case.
    ///
    /// # Errors
    /// When the case is signed, missing, or the store fails.
    fn add_metaphase(
        &mut self,
        accession: &str,
        metaphase: &super::case::NewMetaphase,
        user: &str,
    ) -> Result<super::ids::MetaphaseId, Self::Error>;

    /// Records a file that an import into the latest version of `accession`
    /// could not turn into a cell, with the reason (shown with the case
    /// until dismissed; never counted as a cell).
    ///
    /// # Errors
    /// When the case is missing or read-only (signed), or the store fails.
    fn record_failed_import(
        &mut self,
        accession: &str,
        file: &str,
        reason: &str,
        user: &str,
    ) -> Result<super::ids::FailedImportId, Self::Error>;

    /// Dismisses (removes) a recorded failed import; the audit trail keeps
    /// that it was dismissed, by whom.
    ///
    /// # Errors
    /// When there is no such record, its case is read-only, or the store
    /// fails.
    fn dismiss_failed_import(
        &mut self,
        id: super::ids::FailedImportId,
        user: &str,
    ) -> Result<(), Self::Error>;

    /// The current state of one cell.
    ///
    /// # Errors
    /// When there is no such metaphase or the store fails.
    fn cell(
        &self,
        metaphase: super::ids::MetaphaseId,
    ) -> Result<super::karyogram::edit::CellState, Self::Error>;

    /// Applies and stores one correction.
    ///
    /// # Errors
    /// When the case is read-only, the request is based on an old revision
    /// (stale), the edit does not fit, or the store fails.
    fn apply_edit(
        &mut self,
        request: &super::case::EditRequest,
    ) -> Result<super::case::EditOutcome, Self::Error>;

    /// Undoes the latest effective edit of a cell (or of the case karyotype).
    ///
    /// # Errors
    /// As `apply_edit`, or when there is nothing to undo.
    fn undo(
        &mut self,
        case: super::ids::CaseId,
        metaphase: Option<super::ids::MetaphaseId>,
        base_revision: u64,
        user: &str,
    ) -> Result<super::case::EditOutcome, Self::Error>;

    /// Redoes the latest undone edit.
    ///
    /// # Errors
    /// As `apply_edit`, or when there is nothing to redo.
    fn redo(
        &mut self,
        case: super::ids::CaseId,
        metaphase: Option<super::ids::MetaphaseId>,
        base_revision: u64,
        user: &str,
    ) -> Result<super::case::EditOutcome, Self::Error>;

    /// Signs the latest version after checking the rules.
    ///
    /// # Errors
    /// When a rule is not met, the case is already signed, or the store fails.
    fn sign(
        &mut self,
        accession: &str,
        user: &str,
        reason: Option<&str>,
        rules: &super::review::SignOffRules,
    ) -> Result<super::case::CaseSummary, Self::Error>;

    /// Starts an amendment: a new version copied from the signed one, which
    /// stays intact and visible.
    ///
    /// # Errors
    /// When the latest version is not signed or the store fails.
    fn amend(
        &mut self,
        accession: &str,
        user: &str,
        reason: &str,
    ) -> Result<super::case::CaseSummary, Self::Error>;

    /// Checks the audit chain and every signed case's content hash.
    ///
    /// # Errors
    /// When the store cannot be read.
    fn verify(&self) -> Result<super::case::VerifyReport, Self::Error>;
}
