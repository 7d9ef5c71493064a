//! Cases as the case store keeps them: what the CLI and the GUI ask the
//! [`CaseRepo`](super::ports::CaseRepo) for and give it.

use serde::{Deserialize, Serialize};

use super::ids::{CaseId, EditId, FailedImportId, MetaphaseId};
use super::karyogram::edit::{CellState, Edit};
use super::review::CaseStatus;

/// The fields of a new case.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct NewCase {
    pub accession: String,
    pub patient_name: Option<String>,
    pub patient_id: Option<String>,
    pub specimen: Option<String>,
    pub indication: Option<String>,
    /// Bands per haploid set (400, 550, 850).
    pub band_level: Option<u32>,
}

/// One line of the case list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseSummary {
    pub id: CaseId,
    pub accession: String,
    pub version: u32,
    pub patient_name: Option<String>,
    pub patient_id: Option<String>,
    pub status: CaseStatus,
    pub revision: u64,
    pub metaphases: u32,
    pub karyotype: String,
    /// When this version was created (UTC, ISO 8601).
    pub created_at: String,
}

/// One metaphase of a case, summarised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetaphaseSummary {
    pub id: MetaphaseId,
    pub source_name: String,
    pub image_sha256: String,
    /// Path of the stored image, relative to the database's folder.
    pub image_path: String,
    pub width: u32,
    pub height: u32,
    pub stage: Option<(f64, f64)>,
    pub quality: Option<f64>,
    pub analysed: bool,
    pub karyotype: String,
    pub objects: u32,
    pub rejected: u32,
    /// Objects with a review flag (entropy, polarity, homolog difference)
    /// neither corrected, rejected nor accepted.
    pub unresolved_flags: u32,
}

/// A sign-off as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignOff {
    pub user: String,
    pub at: String,
    pub reason: Option<String>,
    pub content_hash: String,
}

/// Everything `case show` prints about one case version, plus its versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseDetail {
    pub summary: CaseSummary,
    pub specimen: Option<String>,
    pub indication: Option<String>,
    pub band_level: Option<u32>,
    pub amends: Option<CaseId>,
    pub amend_reason: Option<String>,
    pub metaphases: Vec<MetaphaseSummary>,
    pub sign_off: Option<SignOff>,
    pub edits: u64,
    /// Every version of the accession, oldest first.
    pub versions: Vec<CaseSummary>,
    /// Files an import of this version could not turn into cells, oldest
    /// first (not cells: they count nowhere).
    #[serde(default)]
    pub failed_imports: Vec<FailedImport>,
}

/// A file dropped or imported into a case that did not become a cell
/// (unreadable, unsupported, too large, analysis failed), recorded with
/// the reason until the technologist dismisses it. It is not a cell: cell
/// counts, clonality and sign-off never see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedImport {
    pub id: FailedImportId,
    /// The file as it was given to the import (its path).
    pub file: String,
    pub reason: String,
    /// When it was recorded (UTC, ISO 8601).
    pub at: String,
    /// Who imported it.
    pub user: String,
}

/// A metaphase to store: the image bytes and its analysed cell.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMetaphase {
    pub source_name: String,
    pub image: Vec<u8>,
    /// File extension of the image (`png`, `tif`, ...).
    pub image_ext: String,
    pub width: u32,
    pub height: u32,
    pub modality: String,
    pub stage: Option<(f64, f64)>,
    pub quality: Option<f64>,
    pub cell: CellState,
    /// Objects the segmenter set aside: reason and pixels.
    pub segment_rejects: Vec<(String, Vec<(u32, u32)>)>,
}

/// One correction to store.
#[derive(Debug, Clone, PartialEq)]
pub struct EditRequest {
    pub case: CaseId,
    /// The cell edited; `None` for the case karyotype.
    pub metaphase: Option<MetaphaseId>,
    /// The case revision the edit was made on.
    pub base_revision: u64,
    pub user: String,
    pub reason: Option<String>,
    pub edit: Edit,
}

/// A stored correction.
#[derive(Debug, Clone, PartialEq)]
pub struct EditOutcome {
    pub edit: EditId,
    /// The case revision after the edit.
    pub revision: u64,
    /// The edit the store applied: the requested one, or for an undo or
    /// redo the one it took from the history. Applying it to the state the
    /// request was based on gives the stored state.
    pub applied: Edit,
}

/// What `db verify` found.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct VerifyReport {
    pub events: u64,
    pub signed_cases: u64,
    pub problems: Vec<String>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}
