//! The analysis pipeline on files: load, segment, measure, classify,
//! arrange, then write `analysis.json`, `karyogram.png` and `karyotype.txt`.
//! Each stage is timed here (the domain has no clock).

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::domain::analysis::{
    AnalysisParams, MetaphaseAnalysis, arrange_cell, gband_look, measure_objects_on,
};
use crate::domain::classify::builtin::BuiltinClassifier;
use crate::domain::classify::{BatchContext, ChromosomeFeatures, Prediction};
use crate::domain::geometry;
use crate::domain::modality::{Modality, ModalityChoice, density, resolve};
use crate::domain::ports::{
    BuiltinSegmenter, ChromosomeClassifier, ClassifyError, SegmentationError, Segmenter,
};
use crate::domain::raster::{GrayImage, Region};
use crate::domain::refine::check_against_ideogram;
use crate::imageio::{ImageLoadError, ImageSaveError, LoadLimits, load_gray, save_rgb_png};
use crate::infer::ModelError;
use crate::infer::classifier::OnnxClassifier;
use crate::infer::manifest::Manifest;
use crate::infer::segmenter::OnnxSegmenter;
use crate::karyogram_png::render_karyogram;
use crate::report::{AnalysisReport, ClassifyReport};

/// Anything that stops one image from being analysed.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Load(#[from] ImageLoadError),
    #[error("{path}: {source}")]
    Segmentation {
        path: PathBuf,
        source: SegmentationError,
    },
    #[error("{path}: {source}")]
    Classify {
        path: PathBuf,
        source: ClassifyError,
    },
    #[error(transparent)]
    Save(#[from] ImageSaveError),
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Wall-clock milliseconds per stage, in stage order.
pub type Timings = Vec<(String, f64)>;

/// The configured pipeline: which segmenter and classifier, and the limits.
pub struct Pipeline {
    pub segmenter: Box<dyn Segmenter>,
    pub classifier: Box<dyn ChromosomeClassifier>,
    pub params: AnalysisParams,
    pub limits: LoadLimits,
    /// Checks the segmentation against the ideogram, whichever classifier
    /// classifies (see `domain::refine`).
    pub fit_classifier: BuiltinClassifier,
}

/// Which classifier (or segmenter) to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ModelChoice {
    /// The learned model when it loads, otherwise the built-in one (with a notice).
    #[default]
    Auto,
    /// Always the built-in algorithm.
    Builtin,
    /// The learned model or an error.
    Learned,
}

impl std::str::FromStr for ModelChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "builtin" | "built-in" => Ok(Self::Builtin),
            "onnx" | "learned" => Ok(Self::Learned),
            other => Err(format!(
                "unknown model choice {other:?}: expected auto, builtin or onnx"
            )),
        }
    }
}

/// The model for a choice: the built-in one for `Builtin`; otherwise the
/// learned one when it loads, else (with `Auto`) the built-in one and a
/// notice to show once. `what` names the model in the notice.
fn select<T: ?Sized>(
    choice: ModelChoice,
    what: &str,
    builtin: impl FnOnce() -> Box<T>,
    learned: impl FnOnce(&Manifest) -> Result<Box<T>, ModelError>,
) -> Result<(Box<T>, Option<String>), ModelError> {
    if choice == ModelChoice::Builtin {
        return Ok((builtin(), None));
    }
    match (Manifest::find().and_then(|m| learned(&m)), choice) {
        (Ok(model), _) => Ok((model, None)),
        (Err(e), ModelChoice::Learned) => Err(e),
        (Err(e), _) => Ok((
            builtin(),
            Some(format!(
                "the learned {what} is not available, using the built-in one: {e}"
            )),
        )),
    }
}

/// The classifier for a choice, and a notice to show once when `Auto` fell
/// back to the built-in classifier.
///
/// # Errors
/// With `ModelChoice::Learned`, why the learned model cannot be used.
pub fn select_classifier(
    choice: ModelChoice,
) -> Result<(Box<dyn ChromosomeClassifier>, Option<String>), ModelError> {
    select::<dyn ChromosomeClassifier>(
        choice,
        "classifier",
        || Box::new(BuiltinClassifier::default()),
        |m| Ok(Box::new(OnnxClassifier::load(m)?)),
    )
}

/// The segmenter for a choice, and a notice to show once when `Auto` fell
/// back to the built-in segmenter.
///
/// # Errors
/// With `ModelChoice::Learned`, why the learned model cannot be used.
pub fn select_segmenter(
    choice: ModelChoice,
) -> Result<(Box<dyn Segmenter>, Option<String>), ModelError> {
    select::<dyn Segmenter>(
        choice,
        "segmenter",
        || Box::new(BuiltinSegmenter::default()),
        |m| Ok(Box::new(OnnxSegmenter::load(m)?)),
    )
}

impl Default for Pipeline {
    fn default() -> Self {
        Self {
            segmenter: Box::new(BuiltinSegmenter::default()),
            classifier: Box::new(BuiltinClassifier::default()),
            params: AnalysisParams::default(),
            limits: LoadLimits::default(),
            fit_classifier: BuiltinClassifier::default(),
        }
    }
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

impl Pipeline {
    /// Analyses a decoded spread. `source` names it in errors.
    ///
    /// # Errors
    /// When the segmenter or classifier fails as a whole.
    pub fn analyze_gray(
        &self,
        source: &Path,
        gray: &GrayImage,
        modality: ModalityChoice,
    ) -> Result<(MetaphaseAnalysis, Timings), PipelineError> {
        let mut timings = Vec::new();
        let t = Instant::now();
        let modality = resolve(modality, gray);
        let segmentation = self
            .segmenter
            .segment(gray, modality)
            .map_err(|source_err| PipelineError::Segmentation {
                path: source.to_path_buf(),
                source: source_err,
            })?;
        timings.push(("segment".to_string(), ms_since(t)));

        let t = Instant::now();
        // The stain and the G-band look serve measuring and the check.
        let (stain, gband) = (density(gray, modality), gband_look(gray, modality));
        let measured = measure_objects_on(&stain, &gband, &segmentation);
        timings.push(("measure".to_string(), ms_since(t)));

        let t = Instant::now();
        let measured = check_against_ideogram(
            &self.fit_classifier,
            &stain,
            &gband,
            measured,
            &self.params.fit_check,
        );
        timings.push(("refine".to_string(), ms_since(t)));

        let t = Instant::now();
        let features: Vec<ChromosomeFeatures> =
            measured.iter().map(|m| m.features.clone()).collect();
        let predictions = self.classify(source, &features, BatchContext::Cell)?;
        timings.push(("classify".to_string(), ms_since(t)));

        let t = Instant::now();
        let analysis = arrange_cell(
            gray.width(),
            gray.height(),
            modality,
            measured,
            predictions,
            segmentation.rejected,
            segmentation.warnings,
            (self.segmenter.info(), self.classifier.info()),
            &self.params,
        );
        timings.push(("arrange".to_string(), ms_since(t)));
        Ok((analysis, timings))
    }

    fn classify(
        &self,
        source: &Path,
        features: &[ChromosomeFeatures],
        context: BatchContext,
    ) -> Result<Vec<Prediction>, PipelineError> {
        let predictions =
            self.classifier
                .classify(features, context)
                .map_err(|e| PipelineError::Classify {
                    path: source.to_path_buf(),
                    source: e,
                })?;
        if predictions.len() != features.len() {
            return Err(PipelineError::Classify {
                path: source.to_path_buf(),
                source: ClassifyError::WrongCount {
                    model: self.classifier.info().name,
                    expected: features.len(),
                    got: predictions.len(),
                },
            });
        }
        Ok(predictions)
    }

    /// Loads and analyses a spread for the case store: the image bytes as
    /// they are in the file and the analysed cell.
    ///
    /// # Errors
    /// A bad image or a failing stage.
    pub fn analyze_for_case(
        &self,
        path: &Path,
        modality: ModalityChoice,
    ) -> Result<crate::domain::case::NewMetaphase, PipelineError> {
        let loaded = load_gray(path, &self.limits)?;
        let image = std::fs::read(path).map_err(|source| PipelineError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let (analysis, _) = self.analyze_gray(path, &loaded.gray, modality)?;
        let segment_rejects = analysis
            .rejected
            .iter()
            .map(|r| {
                let pixels = r
                    .region
                    .pixels()
                    .into_iter()
                    .map(|(x, y)| (x as u32, y as u32))
                    .collect();
                (r.reason.describe().to_string(), pixels)
            })
            .collect();
        Ok(crate::domain::case::NewMetaphase {
            source_name: path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            image,
            image_ext: path
                .extension()
                .map_or_else(|| "img".to_string(), |e| e.to_string_lossy().into_owned()),
            width: analysis.width as u32,
            height: analysis.height as u32,
            modality: analysis.modality.to_string(),
            stage: None,
            quality: None,
            cell: crate::domain::karyogram::edit::CellState::from_analysis(&analysis),
            segment_rejects,
        })
    }

    /// Loads, analyses and writes the three output files into `out_dir`.
    ///
    /// # Errors
    /// A bad image, a failing stage or an unwritable output directory.
    pub fn analyze_file(
        &self,
        path: &Path,
        modality: ModalityChoice,
        out_dir: &Path,
    ) -> Result<AnalysisReport, PipelineError> {
        let total = Instant::now();
        let t = Instant::now();
        let loaded = load_gray(path, &self.limits)?;
        let load_ms = ms_since(t);
        let (analysis, mut timings) = self.analyze_gray(path, &loaded.gray, modality)?;
        timings.insert(0, ("load".to_string(), load_ms));

        let t = Instant::now();
        std::fs::create_dir_all(out_dir).map_err(|source| PipelineError::Write {
            path: out_dir.to_path_buf(),
            source,
        })?;
        let stem = path
            .file_stem()
            .map_or_else(|| "image".into(), |s| s.to_string_lossy().into_owned());
        let karyotype = analysis.karyotype.to_iscn();
        let canvas = render_karyogram(&analysis, &format!("{stem}   {karyotype}"));
        save_rgb_png(
            &out_dir.join("karyogram.png"),
            canvas.width,
            canvas.height,
            &canvas.data,
        )?;
        write_atomic(
            &out_dir.join("karyotype.txt"),
            format!("{karyotype}\n").as_bytes(),
        )?;
        timings.push(("render".to_string(), ms_since(t)));
        timings.push(("total".to_string(), ms_since(total)));

        let report = AnalysisReport::new(
            &path.display().to_string(),
            &analysis,
            timings.into_iter().collect(),
        );
        let json = serde_json::to_vec_pretty(&report).map_err(|e| PipelineError::Write {
            path: out_dir.join("analysis.json"),
            source: std::io::Error::other(e),
        })?;
        write_atomic(&out_dir.join("analysis.json"), &json)?;
        Ok(report)
    }

    /// Classifies one object of a spread on its own: a piece the reviewer
    /// cut off or drew. `None` when it is too small to measure or the
    /// classifier fails (the piece then stays unassigned).
    pub fn assess_object(
        &self,
        gray: &GrayImage,
        modality: Modality,
        pixels: &std::collections::BTreeSet<(u32, u32)>,
    ) -> Option<Prediction> {
        let px: Vec<(usize, usize)> = pixels
            .iter()
            .map(|&(x, y)| (x as usize, y as usize))
            .filter(|&(x, y)| x < gray.width() && y < gray.height())
            .collect();
        if px.len() < 12 {
            return None;
        }
        // Work on the object's neighbourhood only: this runs on the window's
        // thread after a cut or a drawn outline.
        let bbox = Region::from_pixels(&px)
            .bbox
            .padded(4, gray.width(), gray.height());
        let local = gray.crop(bbox);
        let shifted: Vec<(usize, usize)> =
            px.iter().map(|&(x, y)| (x - bbox.x, y - bbox.y)).collect();
        let region = Region::from_pixels(&shifted);
        let dens = density(&local, modality);
        let geo = geometry::measure(&dens, &region)?;
        let half = (geo.straightened.width().max(1) - 1) / 2;
        let gband = gband_look(&local, modality);
        let crop = geometry::straighten(&gband, &region, &geo.axis, half, 255.0, true);
        let features = ChromosomeFeatures::from_geometry(&geo, crop);
        self.classifier
            .classify(std::slice::from_ref(&features), BatchContext::Independent)
            .ok()?
            .into_iter()
            .next()
    }

    /// Classifies images that each hold one chromosome; polarity is relative
    /// to the image as given (`p_up`: p arm towards the top of the image).
    ///
    /// # Errors
    /// A bad image or a failing classifier.
    pub fn classify_file(
        &self,
        path: &Path,
        modality: ModalityChoice,
    ) -> Result<ClassifyReport, PipelineError> {
        let loaded = load_gray(path, &self.limits)?;
        let features = single_chromosome_features(&loaded.gray, modality);
        let predictions = self.classify(
            path,
            std::slice::from_ref(&features),
            BatchContext::Independent,
        )?;
        Ok(ClassifyReport::new(
            &path.display().to_string(),
            &predictions[0],
        ))
    }
}

/// Features of an image holding one chromosome: the largest foreground
/// object, measured along its axis oriented top to bottom of the image; the
/// crop a learned classifier looks at is the whole image as given, in
/// G-band look.
pub fn single_chromosome_features(
    gray: &GrayImage,
    modality: ModalityChoice,
) -> ChromosomeFeatures {
    let modality = resolve(modality, gray);
    let dens = density(gray, modality);
    let region = largest_object(&dens);
    let as_given = crate::domain::analysis::gband_look(gray, modality);
    match geometry::measure(&dens, &region) {
        Some(geo) => {
            // The learned classifier sees the image as given, as it saw its
            // training crops (re-straightening a tidy crop cost it about a
            // quarter of its accuracy on Pki-3); its polarity is then
            // relative to the image's top, as `classify` reports it.
            ChromosomeFeatures::from_geometry(&geo, as_given)
        }
        None => ChromosomeFeatures {
            length_px: 0.0,
            width_px: 0.0,
            centromere_from_top: 0.5,
            banding_profile: Vec::new(),
            gband_crop: as_given,
        },
    }
}

/// The largest object of a single-chromosome image, by Otsu threshold on
/// the density (a crop has too little background for the spread pipeline).
fn largest_object(density: &GrayImage) -> Region {
    use crate::domain::segmentation::components::connected_components;
    use crate::domain::segmentation::filters::{fill_holes, histogram, otsu_threshold, threshold};
    let t = otsu_threshold(&histogram(density));
    let mask = fill_holes(&threshold(density, t), usize::MAX);
    connected_components(&mask)
        .into_iter()
        .max_by_key(Region::area)
        .unwrap_or_else(|| Region::from_pixels(&[]))
}

/// Writes a file through a temporary sibling and a rename.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), PipelineError> {
    crate::fsutil::write_atomic(path, bytes).map_err(|source| PipelineError::Write {
        path: path.to_path_buf(),
        source,
    })
}
