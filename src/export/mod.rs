//! Exports of a stored case: the karyogram of one cell as PNG (screen or
//! print resolution), the ISCN report (text and JSON), and the de-identified
//! retraining set (`training`, with COCO masks from `coco`).
//!
//! Everything is rendered from the case store: the cell's stored image and
//! its `CellState` as corrected, so an export shows exactly what was signed.
//! Everything is built in memory first and written with crash-safe writes
//! (`fsutil`), so a failed export leaves no partial file.
//!
//! Patient name and id appear only when the caller opts in
//! (`include_patient`); the training export never carries them.

pub mod coco;
pub mod training;

use std::path::PathBuf;

use serde::Serialize;

use crate::domain::case::{CaseDetail, MetaphaseSummary};
use crate::domain::clonality::{
    CaseKaryotype, CellInput, CellLineSummary, NonClonalCell, UnparsedCell, assess_cells,
};
use crate::domain::ids::MetaphaseId;
use crate::domain::karyogram::edit::CellState;
use crate::domain::ports::CaseRepo;
use crate::domain::review::CaseStatus;
use crate::imageio::{ImageLoadError, LoadLimits, decode_gray};
use crate::karyogram_png::{SCREEN_DPI, encode_png_with_dpi, render_cell_karyogram};
use crate::store::{SqliteCaseRepo, StoreError};

/// Version of the report JSON layout.
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// Everything that can go wrong in an export.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("case {accession} has no cells to export")]
    NoCells { accession: String },
    #[error("case {accession} has cells 1 to {count}; there is no cell {cell}")]
    NoSuchCell {
        accession: String,
        cell: usize,
        count: usize,
    },
    #[error("the stored image of metaphase {metaphase} cannot be read: {source}")]
    Image {
        metaphase: MetaphaseId,
        source: ImageLoadError,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} already exists and is not an empty folder; choose a new one")]
    Exists(PathBuf),
    #[error("PNG encoding failed: {0}")]
    Encode(String),
    #[error("--since wants a date YYYY-MM-DD, not {0:?}")]
    BadDate(String),
}

/// What to export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KaryogramOptions {
    /// The cell, 1-based in the case's order (`case show`); default: the
    /// first analysed cell.
    pub cell: Option<usize>,
    /// Resolution: 96 for screen, 300 for print.
    pub dpi: u32,
    /// Write the patient's name and id on the karyogram.
    pub include_patient: bool,
}

impl Default for KaryogramOptions {
    fn default() -> Self {
        Self {
            cell: None,
            dpi: SCREEN_DPI,
            include_patient: false,
        }
    }
}

/// A rendered karyogram.
#[derive(Debug, Clone, PartialEq)]
pub struct KaryogramExport {
    pub png: Vec<u8>,
    pub width: usize,
    pub height: usize,
    /// The cell shown, 1-based.
    pub cell: usize,
    pub metaphase: MetaphaseId,
}

/// The latest version of a case with the state of each of its cells.
#[derive(Debug, Clone)]
pub struct CaseSnapshot {
    pub detail: CaseDetail,
    pub cells: Vec<(MetaphaseSummary, CellState)>,
}

impl CaseSnapshot {
    /// Loads the latest version of `accession`.
    ///
    /// # Errors
    /// When there is no such case or the store fails.
    pub fn load(repo: &SqliteCaseRepo, accession: &str) -> Result<Self, ExportError> {
        let detail = repo.case_detail(accession)?;
        let cells = detail
            .metaphases
            .iter()
            .map(|m| Ok((m.clone(), repo.cell(m.id)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Self { detail, cells })
    }

    /// Clonality over the cells (labels `cell 1`, `cell 2`, ...).
    pub fn clonality(&self) -> CaseKaryotype {
        let inputs: Vec<CellInput> = self
            .cells
            .iter()
            .enumerate()
            .map(|(i, (m, _))| CellInput {
                label: cell_label(i + 1),
                karyotype: m.karyotype.clone(),
                analysed: m.analysed,
            })
            .collect();
        assess_cells(&inputs)
    }
}

fn cell_label(number: usize) -> String {
    format!("cell {number}")
}

/// Renders the karyogram of one cell of the latest version of `accession`.
///
/// # Errors
/// No such case or cell, an unreadable stored image, or a PNG failure.
pub fn karyogram(
    repo: &SqliteCaseRepo,
    accession: &str,
    options: &KaryogramOptions,
) -> Result<KaryogramExport, ExportError> {
    let case = CaseSnapshot::load(repo, accession)?;
    let count = case.cells.len();
    if count == 0 {
        return Err(ExportError::NoCells {
            accession: accession.to_string(),
        });
    }
    let number = match options.cell {
        Some(n) if (1..=count).contains(&n) => n,
        Some(n) => {
            return Err(ExportError::NoSuchCell {
                accession: case.detail.summary.accession.clone(),
                cell: n,
                count,
            });
        }
        None => case.cells.iter().position(|(m, _)| m.analysed).unwrap_or(0) + 1,
    };
    let Some((meta, cell)) = case.cells.get(number - 1) else {
        return Err(ExportError::NoCells {
            accession: accession.to_string(),
        });
    };
    let (path, modality) = repo.metaphase_image(meta.id)?;
    let bytes = std::fs::read(&path).map_err(|source| ExportError::Io {
        path: path.clone(),
        source,
    })?;
    let image = decode_gray(&path, &bytes, &LoadLimits::default())
        .map_err(|source| ExportError::Image {
            metaphase: meta.id,
            source,
        })?
        .gray;
    let header = karyogram_header(&case.detail, number, count, meta, options.include_patient);
    let canvas = render_cell_karyogram(&image, modality, cell, &header, options.dpi);
    let png = encode_png_with_dpi(&canvas, options.dpi)
        .map_err(|e| ExportError::Encode(e.to_string()))?;
    Ok(KaryogramExport {
        png,
        width: canvas.width,
        height: canvas.height,
        cell: number,
        metaphase: meta.id,
    })
}

/// The lines written above an exported karyogram.
pub fn karyogram_header(
    detail: &CaseDetail,
    number: usize,
    count: usize,
    meta: &MetaphaseSummary,
    include_patient: bool,
) -> Vec<String> {
    let s = &detail.summary;
    let mut lines = vec![
        format!(
            "Case {} v{} · cell {number} of {count} (metaphase {}, {})",
            s.accession, s.version, meta.id, meta.source_name
        ),
        format!(
            "{} · {}",
            detail.band_level.map_or_else(
                || "band level not recorded".to_string(),
                |b| format!("{b}-band level")
            ),
            if meta.karyotype.is_empty() {
                "no cell karyotype"
            } else {
                &meta.karyotype
            }
        ),
        match &detail.sign_off {
            Some(so) => format!("Signed by {} at {}", so.user, so.at),
            None => format!("Not signed ({})", s.status),
        },
    ];
    if include_patient {
        lines.push(format!(
            "Patient: {} · ID {}",
            s.patient_name.as_deref().unwrap_or("-"),
            s.patient_id.as_deref().unwrap_or("-")
        ));
    }
    lines
}

/// The ISCN report of one case version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseReport {
    pub schema_version: u32,
    pub accession: String,
    pub version: u32,
    pub status: CaseStatus,
    /// Only when the user asked for patient details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patient: Option<PatientReport>,
    pub specimen: Option<String>,
    pub indication: Option<String>,
    pub band_level: Option<u32>,
    /// The case karyotype: the one the user stored, else the proposal.
    pub karyotype: String,
    /// `user`, `proposed` or `none`.
    pub karyotype_source: &'static str,
    /// What the cells propose (clonality rules), whatever the final one is.
    pub proposed_karyotype: Option<String>,
    pub cells_counted: usize,
    pub cells_analysed: usize,
    pub clones: Vec<LineReport>,
    pub normal: Option<LineReport>,
    pub non_clonal: Vec<NonClonalCell>,
    pub unparsed: Vec<UnparsedCell>,
    pub cells: Vec<CellReport>,
    pub signed: Option<SignedReport>,
    pub amendment: Option<AmendmentReport>,
    pub models: Vec<ModelReport>,
    pub generated_by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatientReport {
    pub name: Option<String>,
    pub id: Option<String>,
}

/// A clone or the normal line with its number of cells.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineReport {
    pub karyotype: String,
    pub cells: usize,
    pub cell_labels: Vec<String>,
    pub changes: Vec<String>,
}

impl From<&CellLineSummary> for LineReport {
    fn from(l: &CellLineSummary) -> Self {
        Self {
            karyotype: l.karyotype.clone(),
            cells: l.cells.len(),
            cell_labels: l.cells.clone(),
            changes: l.changes.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellReport {
    /// 1-based, as `cell N` in the lines above.
    pub cell: usize,
    pub metaphase: MetaphaseId,
    pub source_name: String,
    pub karyotype: String,
    pub analysed: bool,
    pub objects: u32,
    pub rejected: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignedReport {
    pub by: String,
    pub at: String,
    pub reason: Option<String>,
    pub content_sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AmendmentReport {
    /// The version this one amends.
    pub amends_version: Option<u32>,
    pub reason: Option<String>,
    /// Every version: (version, status).
    pub versions: Vec<(u32, CaseStatus)>,
}

/// A model that produced objects of the case, and how many.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ModelReport {
    /// `segmenter` or `classifier`.
    pub role: &'static str,
    pub name: String,
    pub version: String,
    pub objects: usize,
}

/// Builds the report of the latest version of `accession`.
///
/// # Errors
/// No such case, or the store fails.
pub fn case_report(
    repo: &SqliteCaseRepo,
    accession: &str,
    include_patient: bool,
) -> Result<CaseReport, ExportError> {
    let case = CaseSnapshot::load(repo, accession)?;
    Ok(report_of(&case, include_patient))
}

/// The report of a loaded case.
pub fn report_of(case: &CaseSnapshot, include_patient: bool) -> CaseReport {
    let d = &case.detail;
    let s = &d.summary;
    let clonality = case.clonality();
    let (karyotype, source) = if !s.karyotype.trim().is_empty() {
        (s.karyotype.clone(), "user")
    } else if let Some(p) = &clonality.proposed {
        (p.clone(), "proposed")
    } else {
        (String::new(), "none")
    };
    let mut models: std::collections::BTreeMap<(&'static str, String, String), usize> =
        std::collections::BTreeMap::new();
    for (_, cell) in &case.cells {
        for o in cell.objects.values() {
            for (role, m) in [
                ("segmenter", &o.producer.segmenter),
                ("classifier", &o.producer.classifier),
            ] {
                *models
                    .entry((role, m.name.clone(), m.version.clone()))
                    .or_default() += 1;
            }
        }
    }
    let amendment = d.amends.map(|prev| AmendmentReport {
        amends_version: d.versions.iter().find(|v| v.id == prev).map(|v| v.version),
        reason: d.amend_reason.clone(),
        versions: d.versions.iter().map(|v| (v.version, v.status)).collect(),
    });
    CaseReport {
        schema_version: REPORT_SCHEMA_VERSION,
        accession: s.accession.clone(),
        version: s.version,
        status: s.status,
        patient: include_patient.then(|| PatientReport {
            name: s.patient_name.clone(),
            id: s.patient_id.clone(),
        }),
        specimen: d.specimen.clone(),
        indication: d.indication.clone(),
        band_level: d.band_level,
        karyotype,
        karyotype_source: source,
        proposed_karyotype: clonality.proposed.clone(),
        cells_counted: clonality.counted,
        cells_analysed: clonality.analysed,
        clones: clonality.clones.iter().map(LineReport::from).collect(),
        normal: clonality.normal.as_ref().map(LineReport::from),
        non_clonal: clonality.non_clonal.clone(),
        unparsed: clonality.unparsed.clone(),
        cells: case
            .cells
            .iter()
            .enumerate()
            .map(|(i, (m, _))| CellReport {
                cell: i + 1,
                metaphase: m.id,
                source_name: m.source_name.clone(),
                karyotype: m.karyotype.clone(),
                analysed: m.analysed,
                objects: m.objects,
                rejected: m.rejected,
            })
            .collect(),
        signed: d.sign_off.as_ref().map(|so| SignedReport {
            by: so.user.clone(),
            at: so.at.clone(),
            reason: so.reason.clone(),
            content_sha256: so.content_hash.clone(),
        }),
        amendment,
        models: models
            .into_iter()
            .map(|((role, name, version), objects)| ModelReport {
                role,
                name,
                version,
                objects,
            })
            .collect(),
        generated_by: format!("KaryoStation {}", env!("CARGO_PKG_VERSION")),
    }
}

impl CaseReport {
    /// The report as plain text, one fact per line.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let mut line = |text: String| {
            out.push_str(&text);
            out.push('\n');
        };
        line("ISCN report".into());
        line(format!(
            "Case: {} version {} ({})",
            self.accession, self.version, self.status
        ));
        if let Some(p) = &self.patient {
            line(format!(
                "Patient: {} (ID {})",
                p.name.as_deref().unwrap_or("-"),
                p.id.as_deref().unwrap_or("-")
            ));
        }
        for (k, v) in [
            ("Specimen", self.specimen.as_deref()),
            ("Indication", self.indication.as_deref()),
        ] {
            if let Some(v) = v {
                line(format!("{k}: {v}"));
            }
        }
        line(format!(
            "Band level: {}",
            self.band_level
                .map_or_else(|| "not recorded".to_string(), |b| b.to_string())
        ));
        line(String::new());
        let source = match self.karyotype_source {
            "user" => "as entered",
            "proposed" => "proposed from the cells",
            _ => "none: no clone and no normal cell",
        };
        let karyotype = if self.karyotype.is_empty() {
            "-"
        } else {
            &self.karyotype
        };
        line(format!("Karyotype: {karyotype} ({source})"));
        if let Some(p) = &self.proposed_karyotype
            && *p != self.karyotype
        {
            line(format!("Proposed from the cells: {p}"));
        }
        line(format!(
            "Cells counted: {}, analysed: {}",
            self.cells_counted, self.cells_analysed
        ));
        if !self.clones.is_empty() || self.normal.is_some() {
            line("Cell lines:".into());
            for c in &self.clones {
                line(format!("  {}  {} cells (clone)", c.karyotype, c.cells));
            }
            if let Some(n) = &self.normal {
                line(format!("  {}  {} cells (normal)", n.karyotype, n.cells));
            }
        }
        if !self.non_clonal.is_empty() {
            line("Non-clonal abnormalities:".into());
            for n in &self.non_clonal {
                let within = n
                    .in_clone
                    .as_ref()
                    .map(|c| format!(", counted in {c}"))
                    .unwrap_or_default();
                line(format!(
                    "  {}: {} ({}{within})",
                    n.label,
                    n.karyotype,
                    n.changes.join(", ")
                ));
            }
        }
        if !self.unparsed.is_empty() {
            line("Cells not counted (karyotype not readable):".into());
            for u in &self.unparsed {
                line(format!("  {}: {:?}: {}", u.label, u.karyotype, u.reason));
            }
        }
        line(String::new());
        line("Cells:".into());
        for c in &self.cells {
            line(format!(
                "  cell {}  metaphase {}  {}  {}  {}{} objects, {} rejected",
                c.cell,
                c.metaphase,
                c.source_name,
                if c.karyotype.is_empty() {
                    "-"
                } else {
                    &c.karyotype
                },
                if c.analysed {
                    "analysed, "
                } else {
                    "counted, "
                },
                c.objects,
                c.rejected
            ));
        }
        line(String::new());
        match &self.signed {
            Some(s) => line(format!(
                "Signed by {} at {}{} (content sha256 {})",
                s.by,
                s.at,
                s.reason
                    .as_deref()
                    .map(|r| format!(", reason: {r}"))
                    .unwrap_or_default(),
                s.content_sha256
            )),
            None => line(format!("Not signed ({})", self.status)),
        }
        if let Some(a) = &self.amendment {
            line(format!(
                "Amends version {}: {}",
                a.amends_version
                    .map_or_else(|| "?".to_string(), |v| v.to_string()),
                a.reason.as_deref().unwrap_or("-")
            ));
        }
        if !self.models.is_empty() {
            line("Models:".into());
            for m in &self.models {
                line(format!(
                    "  {} {} {} ({} objects)",
                    m.role, m.name, m.version, m.objects
                ));
            }
        }
        line(self.generated_by.clone());
        out
    }
}
