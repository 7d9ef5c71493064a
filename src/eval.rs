//! Evaluation on labelled data: the figures reported for segmentation and
//! classification (`karyostation eval ...`). Real data lives outside the
//! repository (`../shared/data`); callers skip when it is absent.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::domain::chromosome::{ChromosomeClass, Polarity};
use crate::domain::classify::{BatchContext, ChromosomeFeatures};
use crate::domain::geometry::contour::rasterize_polygon;
use crate::domain::metrics::{InstanceMatch, average_precision, match_instances};
use crate::domain::modality::ModalityChoice;
use crate::domain::raster::Region;
use crate::imageio::load_gray;
use crate::pipeline::{Pipeline, single_chromosome_features};

/// Segmentation figures over a set of spreads.
#[derive(Debug, Clone, Serialize, Default)]
pub struct SegmentationSummary {
    pub spreads: usize,
    pub truth_objects: usize,
    pub predicted_objects: usize,
    pub matched: usize,
    pub recall: f64,
    pub precision: f64,
    pub ap50: f64,
    /// Share of spreads where every chromosome was found as its own object.
    pub spreads_without_miss_or_merge: f64,
    pub mean_ms_per_spread: f64,
}

/// Summarises per-spread matches.
pub fn summarise_segmentation(
    per_spread: &[(Vec<f64>, InstanceMatch)],
    total_ms: f64,
) -> SegmentationSummary {
    let truth: usize = per_spread.iter().map(|(_, m)| m.truth).sum();
    let predicted: usize = per_spread.iter().map(|(_, m)| m.predicted).sum();
    let matched: usize = per_spread.iter().map(|(_, m)| m.true_positives()).sum();
    let perfect = per_spread
        .iter()
        .filter(|(_, m)| m.true_positives() == m.truth)
        .count();
    let n = per_spread.len().max(1) as f64;
    SegmentationSummary {
        spreads: per_spread.len(),
        truth_objects: truth,
        predicted_objects: predicted,
        matched,
        recall: matched as f64 / truth.max(1) as f64,
        precision: matched as f64 / predicted.max(1) as f64,
        ap50: average_precision(per_spread),
        spreads_without_miss_or_merge: perfect as f64 / n,
        mean_ms_per_spread: total_ms / n,
    }
}

/// The validation units of a learned model's training split, so it is
/// measured only on data it never trained on: the segmenter's
/// (`models/train/segmenter_splits.json`: BioImLab spreads, M-FISH slides)
/// or the classifier's (`models/train/splits.json`: Pki-3 cases). A list
/// the file does not hold is empty; [`ValSplit::list`] refuses it.
#[derive(Debug, Clone, Deserialize)]
pub struct ValSplit {
    #[serde(skip)]
    path: PathBuf,
    /// BioImLab spread stems (`original_12`).
    #[serde(default)]
    pub bioimlab_val: Vec<String>,
    /// M-FISH slide folders (`A01__XY`).
    #[serde(default)]
    pub mfish_val: Vec<String>,
    /// Pki-3 cases (the `case` column: one patient).
    #[serde(default)]
    pub pki3_val_cases: Vec<String>,
    /// BioImLab karyotype folders of the crops (`crops/<karyotype>/`).
    #[serde(default)]
    pub bioimlab_val_karyotypes: Vec<String>,
}

/// A split file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the split file {path}: {reason}")]
pub struct SplitError {
    path: PathBuf,
    reason: String,
}

impl ValSplit {
    /// Reads a split file.
    ///
    /// # Errors
    /// When it cannot be read or lacks the two lists.
    pub fn read(path: &Path) -> Result<Self, SplitError> {
        let error = |reason: String| SplitError {
            path: path.to_path_buf(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
        let mut split: Self = serde_json::from_str(&text).map_err(|e| error(e.to_string()))?;
        split.path = path.to_path_buf();
        Ok(split)
    }

    /// The validation units of `set`.
    ///
    /// # Errors
    /// When the file holds no such list (e.g. the segmenter's split asked
    /// for Pki-3 cases).
    pub fn list(&self, set: SplitList) -> Result<&[String], SplitError> {
        let (list, name) = match set {
            SplitList::Bioimlab => (&self.bioimlab_val, "bioimlab_val"),
            SplitList::Mfish => (&self.mfish_val, "mfish_val"),
            SplitList::Pki3 => (&self.pki3_val_cases, "pki3_val_cases"),
            SplitList::BioimlabKaryotypes => {
                (&self.bioimlab_val_karyotypes, "bioimlab_val_karyotypes")
            }
        };
        if list.is_empty() {
            return Err(SplitError {
                path: self.path.clone(),
                reason: format!("it has no {name} list"),
            });
        }
        Ok(list)
    }
}

/// The lists a [`ValSplit`] may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitList {
    /// BioImLab spread stems.
    Bioimlab,
    /// M-FISH slide folders.
    Mfish,
    /// Pki-3 cases.
    Pki3,
    /// BioImLab karyotype folders (the classifier's crops).
    BioimlabKaryotypes,
}

/// Evaluates segmentation on the BioImLab spreads (`<data>/bioimlab/metaphases`),
/// optionally only those whose stem is in `stems`.
///
/// # Errors
/// When the folder cannot be read.
pub fn eval_bioimlab(
    pipeline: &Pipeline,
    data: &Path,
    limit: Option<usize>,
    stems: Option<&[String]>,
) -> std::io::Result<SegmentationSummary> {
    let dir = data.join("bioimlab/metaphases");
    let mut jsons: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .filter(|p| {
            stems.is_none_or(|stems| {
                p.file_stem()
                    .is_some_and(|s| stems.iter().any(|k| k.as_str() == s))
            })
        })
        .collect();
    jsons.sort();
    if let Some(l) = limit {
        jsons.truncate(l);
    }
    let mut per_spread = Vec::new();
    let mut total_ms = 0.0;
    for json in jsons {
        let Ok(text) = std::fs::read_to_string(&json) else {
            continue;
        };
        let Ok(doc) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        let Ok(loaded) = load_gray(&json.with_extension("png"), &pipeline.limits) else {
            continue;
        };
        let (w, h) = (loaded.gray.width(), loaded.gray.height());
        let truth = bioimlab_truth(&doc, w, h);
        let t = std::time::Instant::now();
        let Ok((analysis, _)) = pipeline.analyze_gray(&json, &loaded.gray, ModalityChoice::Auto)
        else {
            continue;
        };
        total_ms += t.elapsed().as_secs_f64() * 1000.0;
        let predicted: Vec<Region> = analysis.objects.iter().map(|o| o.region.clone()).collect();
        let scores = analysis.objects.iter().map(|o| o.score).collect();
        per_spread.push((scores, match_instances(&predicted, &truth, 0.5)));
    }
    Ok(summarise_segmentation(&per_spread, total_ms))
}

/// The chromosomes of a BioImLab spread's JSON (`polygons[].points`),
/// rasterised on a `w` x `h` image; empty polygons are dropped.
pub fn bioimlab_truth(doc: &serde_json::Value, w: usize, h: usize) -> Vec<Region> {
    doc["polygons"]
        .as_array()
        .map(|polys| {
            polys
                .iter()
                .filter_map(|p| p["points"].as_array())
                .map(|pts| {
                    let poly: Vec<(f64, f64)> = pts
                        .iter()
                        .filter_map(|pt| Some((pt[0].as_f64()?, pt[1].as_f64()?)))
                        .collect();
                    rasterize_polygon(&poly, w, h)
                })
                .filter(|r| r.area() > 0)
                .collect()
        })
        .unwrap_or_default()
}

/// Classification figures.
#[derive(Debug, Clone, Serialize, Default)]
pub struct ClassificationSummary {
    pub crops: usize,
    pub accuracy_independent: f64,
    /// Crops grouped by their karyogram, classified as one cell and assigned.
    pub accuracy_cell_assigned: f64,
    /// Share of crops whose polarity is right, as given and turned by 180
    /// degrees; `None` for a set whose crops' orientation is not known.
    pub polarity_accuracy: Option<f64>,
    pub per_class_accuracy_cell: BTreeMap<String, f64>,
}

/// A folder of single-chromosome crops listed in a `crops.csv`
/// (`path,class,<cell>[,<unit>]`).
struct CropSet {
    /// The folder holding `crops.csv`.
    root: PathBuf,
    /// The column naming the cell (karyogram) a crop belongs to.
    cell_column: usize,
    /// The column naming the split unit (patient case, karyotype).
    unit_column: usize,
    modality: ModalityChoice,
    /// Crops stand p arm up, so polarity can be scored.
    p_up: bool,
}

/// Evaluates the classifier on Pki-3 crops (`<data>/pki3/crops.csv`), at most
/// `limit_karyograms` karyograms, only the patient `cases` given. Crops are
/// upright (p arm up); each is also classified turned by 180 degrees for the
/// polarity figure.
///
/// # Errors
/// When the CSV cannot be read.
pub fn eval_pki3(
    pipeline: &Pipeline,
    data: &Path,
    limit_karyograms: Option<usize>,
    cases: Option<&[String]>,
) -> std::io::Result<ClassificationSummary> {
    let set = CropSet {
        root: data.join("pki3"),
        cell_column: 2,
        unit_column: 3,
        modality: ModalityChoice::Brightfield,
        p_up: true,
    };
    eval_crops(pipeline, &set, limit_karyograms, cases)
}

/// Evaluates the classifier on BioImLab Q-band crops
/// (`<data>/bioimlab/crops.csv`, inverted to G-band look as fluorescence),
/// at most `limit_karyotypes` karyotype folders, only the `karyotypes`
/// given. Their orientation is not known, so there is no polarity figure.
///
/// # Errors
/// When the CSV cannot be read.
pub fn eval_bioimlab_crops(
    pipeline: &Pipeline,
    data: &Path,
    limit_karyotypes: Option<usize>,
    karyotypes: Option<&[String]>,
) -> std::io::Result<ClassificationSummary> {
    let set = CropSet {
        root: data.join("bioimlab"),
        cell_column: 2,
        unit_column: 2,
        modality: ModalityChoice::Fluorescence,
        p_up: false,
    };
    eval_crops(pipeline, &set, limit_karyotypes, karyotypes)
}

/// Each crop through `classify`'s path (the image as given): crop by crop,
/// and each cell's crops classified as one cell and assigned.
fn eval_crops(
    pipeline: &Pipeline,
    set: &CropSet,
    limit_cells: Option<usize>,
    units: Option<&[String]>,
) -> std::io::Result<ClassificationSummary> {
    let csv = std::fs::read_to_string(set.root.join("crops.csv"))?;
    let mut by_cell: BTreeMap<String, Vec<(PathBuf, ChromosomeClass)>> = BTreeMap::new();
    for line in csv.lines().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        let (Some(cell), Some(unit)) = (cols.get(set.cell_column), cols.get(set.unit_column))
        else {
            continue;
        };
        if units.is_some_and(|u| !u.iter().any(|v| v == unit)) {
            continue;
        }
        if let Some(class) = ChromosomeClass::parse(cols[1]) {
            by_cell
                .entry((*cell).to_string())
                .or_default()
                .push((set.root.join(cols[0]), class));
        }
    }
    let keep = limit_cells.unwrap_or(usize::MAX);
    let (mut n, mut ok_ind, mut ok_cell, mut ok_pol, mut pol_n) =
        (0usize, 0usize, 0usize, 0usize, 0usize);
    let mut per_class: BTreeMap<ChromosomeClass, (usize, usize)> = BTreeMap::new();
    for crops in by_cell.values().take(keep) {
        let mut features: Vec<ChromosomeFeatures> = Vec::new();
        let mut truth = Vec::new();
        for (path, class) in crops {
            let Ok(img) = load_gray(path, &pipeline.limits) else {
                continue;
            };
            let as_given = single_chromosome_features(&img.gray, set.modality);
            if set.p_up {
                // Polarity: the crop as given is p up; turned by 180 degrees, p down.
                let turned = single_chromosome_features(&img.gray.rotated_180(), set.modality);
                if let Ok(p) = pipeline
                    .classifier
                    .classify(&[as_given.clone(), turned], BatchContext::Independent)
                {
                    ok_pol += usize::from(p[0].polarity == Polarity::PUp)
                        + usize::from(p[1].polarity == Polarity::PDown);
                    pol_n += 2;
                }
            }
            features.push(as_given);
            truth.push(*class);
        }
        let Ok(independent) = pipeline
            .classifier
            .classify(&features, BatchContext::Independent)
        else {
            continue;
        };
        let Ok(cell) = pipeline.classifier.classify(&features, BatchContext::Cell) else {
            continue;
        };
        let placements =
            crate::domain::classify::assign::assign_cell(&cell, &pipeline.params.assign);
        for ((p, place), t) in independent.iter().zip(&placements).zip(&truth) {
            n += 1;
            ok_ind += usize::from(p.top_class() == *t);
            let hit = place.class() == Some(*t);
            ok_cell += usize::from(hit);
            let e = per_class.entry(*t).or_default();
            e.0 += usize::from(hit);
            e.1 += 1;
        }
    }
    Ok(ClassificationSummary {
        crops: n,
        accuracy_independent: ok_ind as f64 / n.max(1) as f64,
        accuracy_cell_assigned: ok_cell as f64 / n.max(1) as f64,
        polarity_accuracy: set.p_up.then(|| ok_pol as f64 / pol_n.max(1) as f64),
        per_class_accuracy_cell: per_class
            .into_iter()
            .map(|(c, (ok, total))| (c.label().to_string(), ok as f64 / total.max(1) as f64))
            .collect(),
    })
}

/// End-to-end figures on synthetic spreads with full ground truth.
#[derive(Debug, Clone, Serialize, Default)]
pub struct SyntheticSummary {
    pub width: usize,
    pub height: usize,
    pub segmentation: SegmentationSummary,
    /// Chromosomes whose matched object got the right class, over all chromosomes.
    pub classified_correctly: f64,
    /// Same, over the chromosomes that were found.
    pub classified_correctly_of_found: f64,
    /// Chromosomes found as a clean cut (IoU >= [`WELL_CUT_IOU`] with the
    /// truth), over all chromosomes: what the classifier gets to see whole.
    pub well_cut: f64,
    /// Classified correctly, over the well-cut chromosomes: the classifier's
    /// own accuracy, apart from pieces and merges the segmenter made.
    pub classified_correctly_of_well_cut: f64,
    /// Found chromosomes whose p arm was put at the right end.
    pub polarity_correct_of_found: f64,
    /// Spreads whose proposed karyotype equals the truth (numerical part only
    /// for normal and aneuploid cells).
    pub karyotype_exact: f64,
}

/// IoU above which a found chromosome counts as cut cleanly: a piece or a
/// merge that still passes IoU 0.5 (two thirds of a chromosome, or one with
/// half a neighbour) falls below it.
pub const WELL_CUT_IOU: f64 = 0.8;

/// Generates `count` synthetic spreads (seeds `seed..seed+count`, alternating
/// sex) of the given size and measures the pipeline on them.
pub fn eval_synthetic(
    pipeline: &Pipeline,
    count: usize,
    seed: u64,
    width: usize,
    height: usize,
) -> SyntheticSummary {
    use crate::domain::synth::{Sex, SynthConfig, generate_spread};
    let mut per_spread = Vec::new();
    let (mut truth_n, mut found, mut class_ok, mut pol_ok, mut kt_ok) =
        (0usize, 0usize, 0usize, 0usize, 0usize);
    let (mut well_cut, mut well_cut_ok) = (0usize, 0usize);
    let mut total_ms = 0.0;
    for k in 0..count {
        let mut cfg = SynthConfig::new(width, height, seed + k as u64);
        cfg.sex = if k % 2 == 0 { Sex::Female } else { Sex::Male };
        let spread = generate_spread(&cfg);
        let t = std::time::Instant::now();
        let Ok((analysis, _)) =
            pipeline.analyze_gray(Path::new("synthetic"), &spread.image, ModalityChoice::Auto)
        else {
            continue;
        };
        total_ms += t.elapsed().as_secs_f64() * 1000.0;
        let predicted: Vec<Region> = analysis.objects.iter().map(|o| o.region.clone()).collect();
        let truth: Vec<Region> = spread.instances.iter().map(|i| i.region.clone()).collect();
        let m = match_instances(&predicted, &truth, 0.5);
        truth_n += truth.len();
        for &(p_idx, t_idx, iou) in &m.pairs {
            let inst = &spread.instances[t_idx];
            found += 1;
            let object = &analysis.objects[p_idx];
            let right = object.class() == Some(inst.class);
            class_ok += usize::from(right);
            if iou >= WELL_CUT_IOU {
                well_cut += 1;
                well_cut_ok += usize::from(right);
            }

            let axis = &object.geometry.axis;
            let (top, bottom) = (axis[0], axis[axis.len() - 1]);
            let p_end = if object.prediction.polarity == Polarity::PUp {
                top
            } else {
                bottom
            };
            let (tp, tq) = (inst.axis[0], inst.axis[inst.axis.len() - 1]);
            let d = |a: (f64, f64), b: (f64, f64)| (a.0 - b.0).hypot(a.1 - b.1);
            pol_ok += usize::from(d(p_end, tp) < d(p_end, tq));
        }
        kt_ok += usize::from(analysis.karyotype.to_iscn() == spread.karyotype);
        per_spread.push((analysis.objects.iter().map(|o| o.score).collect(), m));
    }
    SyntheticSummary {
        width,
        height,
        segmentation: summarise_segmentation(&per_spread, total_ms),
        classified_correctly: class_ok as f64 / truth_n.max(1) as f64,
        classified_correctly_of_found: class_ok as f64 / found.max(1) as f64,
        well_cut: well_cut as f64 / truth_n.max(1) as f64,
        classified_correctly_of_well_cut: well_cut_ok as f64 / well_cut.max(1) as f64,
        polarity_correct_of_found: pol_ok as f64 / found.max(1) as f64,
        karyotype_exact: kt_ok as f64 / count.max(1) as f64,
    }
}

/// Figures on the ADIR M-FISH DAPI spreads (`<data>/mfish/*/*_dapi.png` with
/// `*_labels.png` class maps): segmentation against the connected pieces of
/// each class label (overlap pixels, 255, count for both neighbours' classes
/// as background), and the share of chromosomes that land in the right
/// karyogram slot (found and assigned the labelled class).
#[derive(Debug, Clone, Serialize, Default)]
pub struct MfishSummary {
    pub segmentation: SegmentationSummary,
    pub right_slot: f64,
    pub right_slot_of_found: f64,
}

/// Truth instances of an M-FISH label map: 4-connected pieces of each class
/// (1..=24; 23 = X, 24 = Y), ignoring pieces under 20 pixels.
pub fn mfish_instances(
    labels: &crate::domain::raster::GrayImage,
) -> Vec<(ChromosomeClass, Region)> {
    use crate::domain::raster::Mask;
    use crate::domain::segmentation::components::connected_components;
    let mut out = Vec::new();
    for label in 1..=24u8 {
        let data = labels.data().iter().map(|&v| v == label).collect();
        let Some(mask) = Mask::from_vec(labels.width(), labels.height(), data) else {
            continue;
        };
        let Some(class) = ChromosomeClass::from_index(usize::from(label) - 1) else {
            continue;
        };
        for region in connected_components(&mask) {
            if region.area() >= 20 {
                out.push((class, region));
            }
        }
    }
    out
}

/// The M-FISH spreads under `<data>/mfish`: `(slide folder, *_dapi.png)`,
/// sorted by slide, then file.
fn mfish_spreads(data: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut slides: Vec<PathBuf> = std::fs::read_dir(data.join("mfish"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    slides.sort();
    let mut out = Vec::new();
    for slide in slides {
        let name = slide
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut files: Vec<PathBuf> = std::fs::read_dir(&slide)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.to_string_lossy().ends_with("_dapi.png"))
            .collect();
        files.sort();
        out.extend(files.into_iter().map(|f| (name.clone(), f)));
    }
    Ok(out)
}

/// Evaluates the pipeline on M-FISH spreads, optionally only those whose
/// slide folder is in `folders`.
///
/// # Errors
/// When the folder cannot be read.
pub fn eval_mfish(
    pipeline: &Pipeline,
    data: &Path,
    limit: Option<usize>,
    folders: Option<&[String]>,
) -> std::io::Result<MfishSummary> {
    let mut dapi: Vec<PathBuf> = mfish_spreads(data)?
        .into_iter()
        .filter(|(slide, _)| folders.is_none_or(|f| f.contains(slide)))
        .map(|(_, path)| path)
        .collect();
    if let Some(l) = limit {
        dapi.truncate(l);
    }
    let mut per_spread = Vec::new();
    let (mut truth_n, mut found, mut right) = (0usize, 0usize, 0usize);
    let mut total_ms = 0.0;
    for path in dapi {
        let labels_path = PathBuf::from(path.to_string_lossy().replace("_dapi.png", "_labels.png"));
        let (Ok(image), Ok(labels)) = (
            load_gray(&path, &pipeline.limits),
            load_gray(&labels_path, &pipeline.limits),
        ) else {
            continue;
        };
        let truth = mfish_instances(&labels.gray);
        let t = std::time::Instant::now();
        let Ok((analysis, _)) =
            pipeline.analyze_gray(&path, &image.gray, ModalityChoice::Fluorescence)
        else {
            continue;
        };
        total_ms += t.elapsed().as_secs_f64() * 1000.0;
        let predicted: Vec<Region> = analysis.objects.iter().map(|o| o.region.clone()).collect();
        let truth_regions: Vec<Region> = truth.iter().map(|(_, r)| r.clone()).collect();
        let m = match_instances(&predicted, &truth_regions, 0.5);
        truth_n += truth.len();
        for (t_idx, (class, _)) in truth.iter().enumerate() {
            if let Some(p) = m.predicted_for(t_idx) {
                found += 1;
                right += usize::from(analysis.objects[p].class() == Some(*class));
            }
        }
        per_spread.push((analysis.objects.iter().map(|o| o.score).collect(), m));
    }
    Ok(MfishSummary {
        segmentation: summarise_segmentation(&per_spread, total_ms),
        right_slot: right as f64 / truth_n.max(1) as f64,
        right_slot_of_found: right as f64 / found.max(1) as f64,
    })
}

/// Writes the straightened crops the pipeline cuts from the M-FISH spreads
/// (one per labelled chromosome, cut along the label map's instance, in
/// G-band look), for training the classifier on crops cut automatically from
/// a spread: `<out>/crops/<slide>/<image>_<k>.png` and `<out>/mfish_crops.csv`
/// with `path,class,slide,image,length_px`. Slides named in `exclude` (the
/// validation split) are left out. Returns the number of crops written.
///
/// # Errors
/// When the data cannot be read or the output cannot be written.
pub fn write_mfish_crops(
    data: &Path,
    out: &Path,
    exclude: &[String],
    limits: &crate::imageio::LoadLimits,
) -> std::io::Result<usize> {
    use crate::domain::analysis::measure_objects;
    use crate::domain::modality::Modality;
    use crate::domain::segmentation::{Segmentation, SegmentedObject};
    use std::io::Write;
    std::fs::create_dir_all(out)?;
    let mut csv = std::io::BufWriter::new(std::fs::File::create(out.join("mfish_crops.csv"))?);
    writeln!(csv, "path,class,slide,image,length_px")?;
    let mut written = 0;
    for (name, path) in mfish_spreads(data)? {
        if exclude.contains(&name) {
            continue;
        }
        let labels_path = PathBuf::from(path.to_string_lossy().replace("_dapi.png", "_labels.png"));
        let (Ok(image), Ok(labels)) = (load_gray(&path, limits), load_gray(&labels_path, limits))
        else {
            continue;
        };
        let truth = mfish_instances(&labels.gray);
        let segmentation = Segmentation {
            objects: truth
                .iter()
                .map(|(_, region)| SegmentedObject {
                    region: region.clone(),
                    score: 1.0,
                    notes: Vec::new(),
                })
                .collect(),
            ..Segmentation::default()
        };
        let stem = path
            .file_name()
            .map(|n| n.to_string_lossy().replace("_dapi.png", ""))
            .unwrap_or_default();
        let dir = out.join("crops").join(&name);
        std::fs::create_dir_all(&dir)?;
        for (k, measured) in measure_objects(&image.gray, Modality::Fluorescence, &segmentation)
            .iter()
            .enumerate()
        {
            let Some((class, _)) = truth.iter().find(|(_, r)| *r == measured.region) else {
                continue;
            };
            let rel = format!("crops/{name}/{stem}_{k}.png");
            crate::imageio::save_gray_png(&out.join(&rel), &measured.features.gband_crop)
                .map_err(std::io::Error::other)?;
            writeln!(
                csv,
                "{rel},{},{name},{stem},{:.2}",
                class.label(),
                measured.features.length_px
            )?;
            written += 1;
        }
    }
    csv.flush()?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_split_gives_the_lists_it_holds_and_refuses_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("segmenter_splits.json");
        std::fs::write(
            &path,
            r#"{"bioimlab_val": ["original_1"], "mfish_val": []}"#,
        )
        .unwrap();
        let split = ValSplit::read(&path).unwrap();
        assert_eq!(split.list(SplitList::Bioimlab).unwrap(), ["original_1"]);
        for set in [
            SplitList::Mfish,
            SplitList::Pki3,
            SplitList::BioimlabKaryotypes,
        ] {
            let e = split.list(set).unwrap_err().to_string();
            assert!(
                e.contains("segmenter_splits.json") && e.contains("has no"),
                "{e}"
            );
        }
        std::fs::write(&path, "not json").unwrap();
        assert!(ValSplit::read(&path).is_err());
    }
}
