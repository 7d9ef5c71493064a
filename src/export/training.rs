//! The retraining export: what technologists confirmed and corrected, as
//! training data for the next models (ARCHITECTURE.md 2.6: a training
//! example is a query over audited final states).
//!
//! Layout of the output folder:
//! ```text
//! OUT/manifest.json                      written last; counts, filters, categories
//! OUT/{train,val}/annotations.json       COCO instance segmentation (compressed RLE)
//! OUT/{train,val}/images/KEY-CCC.png     the spreads (8-bit gray, no metadata)
//! OUT/{train,val}/crops/KEY-CCC-OOOO.png straightened chromosomes (G-band look)
//! OUT/{train,val}/labels.jsonl           one line per crop
//! ```
//!
//! De-identification: no patient field, accession, file name, user name or
//! free text (reasons) is written. Each case is named by a key: the first 16
//! hex digits of sha256(salt, accession), where the salt is random and kept
//! only in the case database (`export_salt` table), so the same case gets the
//! same key in every export from that database and nobody without it can
//! link a key to an accession. Images are re-encoded from pixels, so no
//! metadata of the original files comes along.
//!
//! The split is by case: a case's cells all go to `train` or all to `val`,
//! decided by its key (deterministic, about 20 % validation).
//!
//! Which objects were corrected: the stored edits of the cell (over every
//! version of the case, amendments included) are inverted from the final
//! state back to the analysed one; an object is corrected when its class,
//! polarity, mask or rejection differs, or it did not exist (split). Undone
//! edits thus count as no correction. The `edit` is the last edit that
//! touched the object.
//!
//! Crash safety: everything is written into a temporary folder beside the
//! target, which is renamed into place at the end; on any error it is
//! removed and the target is left as it was.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::ExportError;
use super::coco::{
    CocoAnnotation, CocoDataset, CocoImage, CocoInfo, CocoRle, REJECTED_CATEGORY, bbox, categories,
    category_id,
};
use crate::domain::analysis::gband_look;
use crate::domain::chromosome::ChromosomeClass;
use crate::domain::classify::entropy;
use crate::domain::ids::{EditId, ObjectId};
use crate::domain::karyogram::crop::straightened_crop;
use crate::domain::karyogram::edit::{CellObject, CellState, Edit};
use crate::domain::ports::{CaseRepo, ModelInfo};
use crate::domain::review::sha256_hex;
use crate::imageio::{LoadLimits, decode_gray, encode_gray_png};
use crate::store::{SqliteCaseRepo, TrainingCase};

/// Version of the export layout.
pub const TRAINING_SCHEMA_VERSION: u32 = 1;

/// Share of cases (percent) that go to validation.
pub const VALIDATION_PERCENT: u64 = 20;

/// Which cases to take.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrainingOptions {
    /// Take the latest version of every case, not only signed ones.
    pub include_unsigned: bool,
    /// Only cases signed (or, unsigned, last changed) on or after this day.
    pub since: Option<String>,
}

/// What was written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TrainingSummary {
    pub train: SplitCounts,
    pub val: SplitCounts,
    /// Objects with no class and not rejected: nothing to learn from.
    pub skipped_unassigned: u64,
    /// Objects with an empty mask.
    pub skipped_empty: u64,
}

/// Counts of one split.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SplitCounts {
    pub cases: u64,
    pub images: u64,
    pub annotations: u64,
    pub corrected: u64,
}

/// `train` or `val`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Split {
    Train,
    Val,
}

impl Split {
    pub fn dir(self) -> &'static str {
        match self {
            Self::Train => "train",
            Self::Val => "val",
        }
    }
}

/// The de-identified key of a case.
pub fn case_key(salt: &str, accession: &str) -> String {
    let digest = sha256_hex(format!("{salt}\n{}", accession.trim()).as_bytes());
    digest[..16].to_string()
}

/// The split of a case, from its key.
pub fn split_of(key: &str) -> Split {
    let n = u64::from_str_radix(key.get(..8).unwrap_or("0"), 16).unwrap_or(0);
    if n % 100 < VALIDATION_PERCENT {
        Split::Val
    } else {
        Split::Train
    }
}

/// One line of `labels.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelLine {
    pub crop: String,
    pub image: String,
    pub annotation: u64,
    pub case: String,
    pub cell: usize,
    pub object: ObjectId,
    /// `1`..`22`, `X`, `Y` or `rejected`.
    pub class: String,
    /// Where the p arm is in the crop (row 0 = top).
    pub polarity: &'static str,
    /// The class the model proposed (after whole-cell assignment).
    pub predicted_class: Option<ChromosomeClass>,
    /// The most probable class and its probability.
    pub top_class: Option<ChromosomeClass>,
    pub top_probability: f64,
    /// Entropy of the class probabilities (nats).
    pub entropy: f64,
    pub corrected: bool,
    /// What changed: `class`, `polarity`, `mask`, `rejected`, `new_object`.
    pub corrections: Vec<&'static str>,
    /// The last edit that touched the object, when corrected.
    pub edit: Option<EditId>,
    /// A flagged object the technologist accepted as it was.
    pub accepted: bool,
    pub segmenter: ModelInfo,
    pub classifier: ModelInfo,
}

#[derive(Serialize)]
struct Manifest<'a> {
    schema_version: u32,
    generator: String,
    include_unsigned: bool,
    since: Option<&'a str>,
    validation_percent: u64,
    case_keys: &'static str,
    summary: &'a TrainingSummary,
    categories: Vec<super::coco::Category>,
}

/// Exports the training set of the database into `out` (a new folder, or an
/// empty one).
///
/// # Errors
/// A bad `since`, an existing non-empty `out`, a read-only database with no
/// salt yet, unreadable stored images, or a write failure (naming the path).
pub fn export_training(
    repo: &mut SqliteCaseRepo,
    out: &Path,
    options: &TrainingOptions,
) -> Result<TrainingSummary, ExportError> {
    if let Some(d) = &options.since
        && !is_date(d)
    {
        return Err(ExportError::BadDate(d.clone()));
    }
    if out.exists() {
        let empty = std::fs::read_dir(out).is_ok_and(|mut d| d.next().is_none());
        if !empty {
            return Err(ExportError::Exists(out.to_path_buf()));
        }
    }
    let salt = repo.export_salt()?;
    let cases = repo.training_cases(options.include_unsigned, options.since.as_deref())?;
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = out.file_name().map_or_else(
        || "training".to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let tmp = parent.join(format!(".{name}.{}.tmp", std::process::id()));
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ExportError::Io { path, source }
    };
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    std::fs::create_dir(&tmp).map_err(io(&tmp))?;
    let result = (|| {
        let summary = write_all(repo, &tmp, &salt, &cases)?;
        let manifest = Manifest {
            schema_version: TRAINING_SCHEMA_VERSION,
            generator: format!("KaryoStation {}", env!("CARGO_PKG_VERSION")),
            include_unsigned: options.include_unsigned,
            since: options.since.as_deref(),
            validation_percent: VALIDATION_PERCENT,
            case_keys: "first 16 hex digits of sha256(salt, accession); the salt stays in the case database",
            summary: &summary,
            categories: categories(),
        };
        write_json(&tmp.join("manifest.json"), &manifest)?;
        if out.exists() {
            std::fs::remove_dir(out).map_err(io(out))?;
        }
        std::fs::rename(&tmp, out).map_err(io(out))?;
        Ok(summary)
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}

fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && (1..=12).contains(&text[5..7].parse::<u32>().unwrap_or(0))
        && (1..=31).contains(&text[8..10].parse::<u32>().unwrap_or(0))
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), ExportError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| ExportError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    write_file(path, &bytes)
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    std::fs::write(path, bytes).map_err(|source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    })
}

struct SplitWriter {
    dir: PathBuf,
    coco: CocoDataset,
    labels: String,
    counts: SplitCounts,
}

fn write_all(
    repo: &SqliteCaseRepo,
    root: &Path,
    salt: &str,
    cases: &[TrainingCase],
) -> Result<TrainingSummary, ExportError> {
    let mut summary = TrainingSummary::default();
    let mut writers: BTreeMap<Split, SplitWriter> = BTreeMap::new();
    for split in [Split::Train, Split::Val] {
        let dir = root.join(split.dir());
        for sub in ["images", "crops"] {
            let d = dir.join(sub);
            std::fs::create_dir_all(&d).map_err(|source| ExportError::Io { path: d, source })?;
        }
        writers.insert(
            split,
            SplitWriter {
                dir,
                coco: CocoDataset {
                    info: CocoInfo {
                        description: format!(
                            "KaryoStation retraining export, {} split",
                            split.dir()
                        ),
                        version: TRAINING_SCHEMA_VERSION.to_string(),
                    },
                    images: Vec::new(),
                    annotations: Vec::new(),
                    categories: categories(),
                },
                labels: String::new(),
                counts: SplitCounts::default(),
            },
        );
    }
    let mut keyed: Vec<(String, &TrainingCase)> = cases
        .iter()
        .map(|c| (case_key(salt, &c.accession), c))
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    for (key, case) in keyed {
        let split = split_of(&key);
        let Some(w) = writers.get_mut(&split) else {
            continue;
        };
        w.counts.cases += 1;
        // The cells of every version, by position (an amendment copies the
        // cells in order).
        let mut per_version = Vec::new();
        for v in &case.versions {
            per_version.push((*v, repo.case_metaphases(*v)?));
        }
        let cells = repo.case_metaphases(case.id)?;
        for (index, metaphase) in cells.iter().enumerate() {
            let number = index + 1;
            let state = repo.cell(*metaphase)?;
            let mut history = Vec::new();
            for (version, ids) in &per_version {
                if let Some(m) = ids.get(index) {
                    history.extend(repo.edit_history(*version, Some(*m))?);
                }
            }
            let (path, modality) = repo.metaphase_image(*metaphase)?;
            let bytes = std::fs::read(&path).map_err(|source| ExportError::Io {
                path: path.clone(),
                source,
            })?;
            let image = decode_gray(Path::new("stored image"), &bytes, &LoadLimits::default())
                .map_err(|source| ExportError::Image {
                    metaphase: *metaphase,
                    source,
                })?
                .gray;
            let png = encode_gray_png(&image).map_err(|e| ExportError::Encode(e.to_string()))?;
            let image_name = format!("images/{key}-{number:03}.png");
            write_file(&w.dir.join(&image_name), &png)?;
            let image_id = w.coco.images.len() as u64 + 1;
            let (width, height) = (image.width() as u32, image.height() as u32);
            w.coco.images.push(CocoImage {
                id: image_id,
                file_name: image_name.clone(),
                width,
                height,
            });
            w.counts.images += 1;
            let gband = gband_look(&image, modality);
            let corrections = corrections(&state, &history);
            for o in state.objects.values() {
                let category = if o.rejected.is_some() {
                    REJECTED_CATEGORY
                } else if let Some(c) = o.class {
                    category_id(c)
                } else {
                    summary.skipped_unassigned += 1;
                    continue;
                };
                let Some(crop) = straightened_crop(&gband, o) else {
                    summary.skipped_empty += 1;
                    continue;
                };
                let annotation_id = w.coco.annotations.len() as u64 + 1;
                let (what, edit) = corrections.get(&o.id).cloned().unwrap_or_default();
                let corrected = !what.is_empty();
                w.coco.annotations.push(CocoAnnotation {
                    id: annotation_id,
                    image_id,
                    category_id: category,
                    segmentation: CocoRle::encode(&o.pixels, width, height),
                    area: o.pixels.len() as u64,
                    bbox: bbox(&o.pixels),
                    iscrowd: 0,
                    corrected,
                    edit: edit.filter(|_| corrected).map(|e| e.0),
                });
                w.counts.annotations += 1;
                w.counts.corrected += u64::from(corrected);
                let crop_name = format!("crops/{key}-{number:03}-{:04}.png", o.id.0);
                let crop_png =
                    encode_gray_png(&crop).map_err(|e| ExportError::Encode(e.to_string()))?;
                write_file(&w.dir.join(&crop_name), &crop_png)?;
                let line = label_line(o, &key, number, annotation_id, (&crop_name, &image_name));
                let line = LabelLine {
                    corrected,
                    corrections: what,
                    edit: edit.filter(|_| corrected),
                    ..line
                };
                let text = serde_json::to_string(&line).map_err(|e| ExportError::Io {
                    path: w.dir.join("labels.jsonl"),
                    source: std::io::Error::other(e),
                })?;
                w.labels.push_str(&text);
                w.labels.push('\n');
            }
        }
    }
    for (split, w) in writers {
        write_json(&w.dir.join("annotations.json"), &w.coco)?;
        write_file(&w.dir.join("labels.jsonl"), w.labels.as_bytes())?;
        match split {
            Split::Train => summary.train = w.counts,
            Split::Val => summary.val = w.counts,
        }
    }
    Ok(summary)
}

fn label_line(
    o: &CellObject,
    key: &str,
    cell: usize,
    annotation: u64,
    (crop, image): (&str, &str),
) -> LabelLine {
    let top = o
        .probabilities
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, &p)| (ChromosomeClass::from_index(i), p));
    LabelLine {
        crop: crop.to_string(),
        image: image.to_string(),
        annotation,
        case: key.to_string(),
        cell,
        object: o.id,
        class: if o.rejected.is_some() {
            "rejected".to_string()
        } else {
            o.class.map_or_else(String::new, |c| c.label().to_string())
        },
        polarity: o.polarity.label(),
        predicted_class: o.proposed,
        top_class: top.and_then(|t| t.0),
        top_probability: round6(top.map_or(0.0, |t| t.1)),
        entropy: round6(entropy(&o.probabilities)),
        corrected: false,
        corrections: Vec::new(),
        edit: None,
        accepted: o.accepted,
        segmenter: o.producer.segmenter.clone(),
        classifier: o.producer.classifier.clone(),
    }
}

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// Per object of the final state: what differs from the analysed state and
/// the last edit that touched it.
fn corrections(
    state: &CellState,
    history: &[(EditId, Edit)],
) -> BTreeMap<ObjectId, (Vec<&'static str>, Option<EditId>)> {
    let mut last: BTreeMap<ObjectId, EditId> = BTreeMap::new();
    for (id, e) in history {
        for o in e.touched() {
            last.insert(o, *id);
        }
    }
    let mut original = state.clone();
    let replayed = history
        .iter()
        .rev()
        .all(|(_, e)| e.invert().apply(&mut original).is_ok());
    let mut out = BTreeMap::new();
    for o in state.objects.values() {
        let mut what = Vec::new();
        if replayed {
            match original.objects.get(&o.id) {
                None => what.push("new_object"),
                Some(before) => {
                    if before.class != o.class {
                        what.push("class");
                    }
                    if before.polarity != o.polarity {
                        what.push("polarity");
                    }
                    if before.pixels != o.pixels {
                        what.push("mask");
                    }
                    if before.rejected.is_some() != o.rejected.is_some() {
                        what.push("rejected");
                    }
                }
            }
        } else {
            // The history does not replay (should not happen): fall back on
            // what the object itself tells.
            if o.class != o.proposed {
                what.push("class");
            }
            if o.rejected.is_some() {
                what.push("rejected");
            }
            if what.is_empty() && last.contains_key(&o.id) {
                what.push("edited");
            }
        }
        out.insert(o.id, (what, last.get(&o.id).copied()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_splits_are_deterministic() {
        let a = case_key("salt", "CG-1");
        assert_eq!(a, case_key("salt", " CG-1 "));
        assert_ne!(a, case_key("other salt", "CG-1"));
        assert_eq!(a.len(), 16);
        let val = (0..1000)
            .filter(|i| split_of(&case_key("s", &format!("C{i}"))) == Split::Val)
            .count();
        assert!((150..250).contains(&val), "{val}");
    }

    #[test]
    fn dates() {
        assert!(is_date("2025-01-31"));
        for bad in ["2025-1-31", "2025-13-01", "yesterday", "2025-01-31T00"] {
            assert!(!is_date(bad), "{bad}");
        }
    }

    #[test]
    fn undone_edits_are_no_correction() {
        let mut state = crate::store::sample_metaphase(3, 1).cell;
        let flip = Edit::Flip {
            object: ObjectId(1),
        };
        let reclass = Edit::Reclassify {
            object: ObjectId(2),
            from: state.objects[&ObjectId(2)].class,
            to: ChromosomeClass::autosome(21),
        };
        let undo_flip = Edit::Undo {
            edit: EditId(1),
            inverse: Box::new(flip.invert()),
        };
        for e in [&flip, &reclass, &undo_flip] {
            e.apply(&mut state).unwrap();
        }
        let history = vec![
            (EditId(1), flip),
            (EditId(2), reclass),
            (EditId(3), undo_flip),
        ];
        let c = corrections(&state, &history);
        assert_eq!(c[&ObjectId(0)], (vec![], None));
        assert_eq!(c[&ObjectId(1)], (vec![], Some(EditId(3))));
        assert_eq!(c[&ObjectId(2)], (vec!["class"], Some(EditId(2))));
    }
}
