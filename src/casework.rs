//! Case-level work over the pipeline and the case store: importing image
//! files into a case (one analysed cell per file; a file that fails is
//! recorded in the case with its reason and the rest imported) and seeding
//! the built-in demo case. The GUI runs these on background jobs; tests and
//! the CLI call them directly.

use std::path::{Path, PathBuf};

use crate::domain::case::NewCase;
use crate::domain::ids::{FailedImportId, MetaphaseId};
use crate::domain::modality::ModalityChoice;
use crate::domain::ports::CaseRepo;
use crate::pipeline::Pipeline;
use crate::store::{SqliteCaseRepo, StoreError};

/// Accession of the built-in demo case.
pub const DEMO_ACCESSION: &str = "DEMO-0001";

/// ADIR M-FISH DAPI spreads shipped with the demo case (redistribution
/// allowed, notice in `assets/demo/adir/LICENSE-ADIR.md`).
const ADIR_SPREADS: [(&str, &[u8]); 3] = [
    (
        "A0101XY_dapi.png",
        include_bytes!("../assets/demo/adir/A0101XY_dapi.png"),
    ),
    (
        "A0401XY_dapi.png",
        include_bytes!("../assets/demo/adir/A0401XY_dapi.png"),
    ),
    (
        "A0501XY_dapi.png",
        include_bytes!("../assets/demo/adir/A0501XY_dapi.png"),
    ),
];

/// Image file extensions an import accepts when it walks a folder.
pub const IMAGE_EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "tif", "tiff", "bmp"];

/// What happened to one file of an import.
#[derive(Debug)]
pub enum ImportEvent {
    /// About to analyse file `index` of `total`.
    Started {
        index: usize,
        total: usize,
        path: PathBuf,
    },
    Imported {
        path: PathBuf,
        metaphase: MetaphaseId,
        karyotype: String,
        /// Chromosome objects found.
        objects: usize,
    },
    /// The file was not imported; the reason names it. `recorded`: its
    /// record in the case (`None` when even that could not be stored; the
    /// reason then says why).
    Failed {
        path: PathBuf,
        reason: String,
        recorded: Option<FailedImportId>,
    },
}

/// Whether an import goes on after an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

/// The files of `inputs`, with folders replaced by the image files they
/// hold (by name, not recursing). Unreadable folders are reported as
/// failures rather than dropped.
pub fn expand_inputs(inputs: &[PathBuf]) -> (Vec<PathBuf>, Vec<(PathBuf, String)>) {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for p in inputs {
        if p.is_dir() {
            match std::fs::read_dir(p) {
                Ok(entries) => {
                    let mut found: Vec<PathBuf> = entries
                        .filter_map(Result::ok)
                        .map(|e| e.path())
                        .filter(|f| f.is_file() && has_image_extension(f))
                        .collect();
                    found.sort();
                    if found.is_empty() {
                        problems.push((p.clone(), "the folder holds no image files".into()));
                    }
                    files.extend(found);
                }
                Err(e) => problems.push((p.clone(), e.to_string())),
            }
        } else {
            files.push(p.clone());
        }
    }
    (files, problems)
}

fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Records in case `accession` that `path` did not become a cell, and why;
/// returns the event that reports it.
///
/// # Errors
/// Only when the case cannot take records (missing or signed): any other
/// store failure is added to the event's reason instead.
pub fn record_failure(
    repo: &mut SqliteCaseRepo,
    accession: &str,
    path: &Path,
    reason: String,
    user: &str,
) -> Result<ImportEvent, StoreError> {
    let file = path.display().to_string();
    match repo.record_failed_import(accession, &file, &reason, user) {
        Ok(id) => Ok(ImportEvent::Failed {
            path: path.to_path_buf(),
            reason,
            recorded: Some(id),
        }),
        Err(e @ (StoreError::NoSuchCase(_) | StoreError::CaseReadOnly { .. })) => Err(e),
        Err(e) => Ok(ImportEvent::Failed {
            path: path.to_path_buf(),
            reason: format!("{reason} (not recorded in the case: {e})"),
            recorded: None,
        }),
    }
}

/// Analyses each file (with `modality`) and stores it as a cell of case
/// `accession`. A file that cannot be read or analysed is recorded in the
/// case with its reason ([`record_failure`]), reported and skipped;
/// `on_event` can stop the import between files. Returns the cells
/// imported.
///
/// # Errors
/// Only when the case itself cannot take cells (missing or signed case,
/// store failure): per-file problems are events, not errors.
pub fn import_files(
    repo: &mut SqliteCaseRepo,
    pipeline: &Pipeline,
    accession: &str,
    files: &[PathBuf],
    modality: ModalityChoice,
    user: &str,
    mut on_event: impl FnMut(ImportEvent) -> Flow,
) -> Result<Vec<MetaphaseId>, StoreError> {
    let mut imported = Vec::new();
    for (index, path) in files.iter().enumerate() {
        let flow = on_event(ImportEvent::Started {
            index,
            total: files.len(),
            path: path.clone(),
        });
        if flow == Flow::Stop {
            break;
        }
        let event = match pipeline.analyze_for_case(path, modality) {
            Ok(metaphase) => match repo.add_metaphase(accession, &metaphase, user) {
                Ok(id) => {
                    imported.push(id);
                    ImportEvent::Imported {
                        path: path.clone(),
                        metaphase: id,
                        karyotype: metaphase.cell.karyotype.clone(),
                        objects: metaphase.cell.objects.len(),
                    }
                }
                Err(e @ (StoreError::NoSuchCase(_) | StoreError::CaseReadOnly { .. })) => {
                    return Err(e);
                }
                Err(e) => record_failure(repo, accession, path, e.to_string(), user)?,
            },
            Err(e) => record_failure(repo, accession, path, e.to_string(), user)?,
        };
        if on_event(event) == Flow::Stop {
            break;
        }
    }
    Ok(imported)
}

/// Writes the demo case's spreads into `dir`: the synthetic G-band cells
/// (normal, trisomy 21, del(5q), t(9;22)) and the ADIR DAPI spreads.
///
/// # Errors
/// When `dir` cannot be written.
pub fn write_demo_spreads(dir: &Path) -> Result<Vec<PathBuf>, crate::pipeline::PipelineError> {
    let mut files = Vec::new();
    for (name, cfg) in crate::demo::demo_case() {
        files.push(crate::demo::write_synthetic(dir, name, &cfg)?);
    }
    for (name, bytes) in ADIR_SPREADS {
        let path = dir.join(name);
        crate::fsutil::write_atomic(&path, bytes).map_err(|source| {
            crate::pipeline::PipelineError::Write {
                path: path.clone(),
                source,
            }
        })?;
        files.push(path);
    }
    Ok(files)
}

/// Creates the demo case unless it exists. Returns false when it was there.
///
/// # Errors
/// When the store fails.
pub fn create_demo_case(repo: &mut SqliteCaseRepo, user: &str) -> Result<bool, StoreError> {
    if repo
        .list_cases(Some(DEMO_ACCESSION))?
        .iter()
        .any(|c| c.accession == DEMO_ACCESSION)
    {
        return Ok(false);
    }
    repo.create_case(
        &NewCase {
            accession: DEMO_ACCESSION.to_string(),
            patient_name: Some("Demo, Synthetic".to_string()),
            patient_id: Some("DEMO".to_string()),
            specimen: Some("demonstration (synthetic G-band and ADIR DAPI spreads)".to_string()),
            indication: Some("built-in demo case".to_string()),
            band_level: Some(400),
        },
        user,
    )?;
    Ok(true)
}

/// The demo case, analysed and stored, in one call (tests, first run
/// without a window). Returns the per-file failures.
///
/// # Errors
/// When the store fails or the spreads cannot be written.
pub fn seed_demo_case(
    repo: &mut SqliteCaseRepo,
    pipeline: &Pipeline,
    scratch: &Path,
    user: &str,
) -> Result<Vec<(PathBuf, String)>, SeedError> {
    if !create_demo_case(repo, user)? {
        return Ok(Vec::new());
    }
    let files = write_demo_spreads(scratch)?;
    let mut failures = Vec::new();
    import_files(
        repo,
        pipeline,
        DEMO_ACCESSION,
        &files,
        ModalityChoice::Auto,
        user,
        |e| {
            if let ImportEvent::Failed { path, reason, .. } = e {
                failures.push((path, reason));
            }
            Flow::Continue
        },
    )?;
    Ok(failures)
}

/// Why the demo case could not be seeded.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Files(#[from] crate::pipeline::PipelineError),
}
