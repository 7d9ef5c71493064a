//! The built-in classifier: relative length, centromeric index and the
//! correlation of the banding profile with the band ideograms.
//!
//! Theory of operation: for each class the log-score adds
//! - a Gaussian log-likelihood of the relative length (only for a whole cell:
//!   length / mean length of the cell's objects, against the ideogram's),
//! - for each of the two orientations, a robust log-likelihood of the
//!   centromere position (p arm = the ideogram's p arm length) plus the
//!   Pearson correlation of the profile with the class's ideogram density
//!   (best over a small stretch/shift search) times a weight,
//!   combined over orientations by log-sum-exp.
//!
//! A softmax turns scores into probabilities; the orientation evidence,
//! averaged over classes by their probabilities, gives the polarity.

use crate::domain::bands::{BandLevel, BandTable, gaussian_smooth};
use crate::domain::chromosome::{CLASS_COUNT, ChromosomeClass, Polarity};

use super::{BatchContext, ChromosomeFeatures, Prediction, softmax};

/// Number of samples a profile is resampled to before correlation.
const PROFILE_SAMPLES: usize = 64;

/// Blur (pixels along the axis) applied to the ideogram templates.
const TEMPLATE_BLUR_PX: f64 = 1.0;

/// Rounded tips trimmed off each end of a profile, in chromosome widths.
const TIP_TRIM_WIDTHS: f64 = 0.2;

/// Weights of the built-in classifier.
#[derive(Debug, Clone, PartialEq)]
pub struct BuiltinClassifierParams {
    pub band_level: BandLevel,
    /// Weight of the banding correlation (nats per unit of Pearson r).
    pub banding_weight: f64,
    /// Relative standard deviation of the length likelihood.
    pub length_sigma: f64,
    /// Standard deviation of the centromere position likelihood.
    pub centromere_sigma: f64,
    /// Divides all scores before the softmax (calibration).
    pub temperature: f64,
}

impl Default for BuiltinClassifierParams {
    fn default() -> Self {
        Self {
            band_level: BandLevel::B400,
            banding_weight: 8.0,
            length_sigma: 0.1,
            centromere_sigma: 0.06,
            temperature: 1.0,
        }
    }
}

/// Per-class reference data derived from the band table.
#[derive(Debug, Clone)]
pub struct BuiltinClassifier {
    params: BuiltinClassifierParams,
    /// Class length relative to the mean chromosome of a diploid cell.
    relative_length: [f64; CLASS_COUNT],
    centromeric_index: [f64; CLASS_COUNT],
    /// Middle of the stalk (secondary constriction) of the acrocentrics, as
    /// a fraction of the length from pter; a measured constriction may be it.
    stalk: [Option<f64>; CLASS_COUNT],
}

impl BuiltinClassifier {
    pub const NAME: &'static str = "builtin-ideogram";
    pub const VERSION: &'static str = "1";

    pub fn new(params: BuiltinClassifierParams) -> Self {
        let table = BandTable::get(params.band_level);
        let rl = table.relative_lengths();
        // Mean chromosome of a 46,XX cell: 2 * (autosomes + X) / 46 = 2/46 of
        // the haploid autosome + X total (which `relative_lengths` is based on).
        let mut relative_length = [0.0; CLASS_COUNT];
        let mut centromeric_index = [0.0; CLASS_COUNT];
        let mut stalk = [None; CLASS_COUNT];
        for c in ChromosomeClass::all() {
            relative_length[c.index()] = rl[c.index()] * 46.0 / 2.0;
            let ideo = table.ideogram(c);
            centromeric_index[c.index()] = ideo.centromeric_index();
            stalk[c.index()] = ideo
                .bands
                .iter()
                .find(|b| b.stain == crate::domain::bands::Stain::Stalk)
                .map(|b| (b.start + b.stop) / 2.0 / ideo.length().max(1.0));
        }
        Self {
            params,
            relative_length,
            centromeric_index,
            stalk,
        }
    }

    pub fn params(&self) -> &BuiltinClassifierParams {
        &self.params
    }

    /// Classifies a batch; with `BatchContext::Cell` lengths are compared
    /// with the batch mean.
    pub fn classify_batch(
        &self,
        batch: &[ChromosomeFeatures],
        context: BatchContext,
    ) -> Vec<Prediction> {
        let mean_length = if batch.is_empty() {
            1.0
        } else {
            batch.iter().map(|f| f.length_px).sum::<f64>() / batch.len() as f64
        };
        batch
            .iter()
            .map(|f| {
                let rl = match context {
                    BatchContext::Cell if batch.len() >= 10 => {
                        Some(f.length_px / mean_length.max(1e-9))
                    }
                    _ => None,
                };
                self.classify_one(f, rl)
            })
            .collect()
    }

    fn classify_one(&self, f: &ChromosomeFeatures, relative_length: Option<f64>) -> Prediction {
        let (scores, up_evidence) = self.scores(f, relative_length);
        let probabilities = softmax(&scores);
        let p_up: f64 = probabilities
            .iter()
            .zip(&up_evidence)
            .map(|(pc, d)| pc * sigmoid(*d))
            .sum::<f64>()
            .clamp(0.0, 1.0);
        let (polarity, confidence) = Polarity::from_p_up(p_up);
        Prediction {
            probabilities,
            polarity,
            polarity_confidence: confidence,
            embedding: Vec::new(),
        }
    }

    /// How well `f` fits its best class: the highest log-score (nats, not
    /// normalised over classes, so it compares objects with one another).
    /// `relative_length`: the length over the cell's mean length, if known.
    pub fn fit(&self, f: &ChromosomeFeatures, relative_length: Option<f64>) -> f64 {
        let (scores, _) = self.scores(f, relative_length);
        scores.iter().copied().fold(f64::NEG_INFINITY, f64::max)
    }

    /// The log-score of each class and the evidence (log-odds) that the p
    /// arm is at the top, per class.
    fn scores(
        &self,
        f: &ChromosomeFeatures,
        relative_length: Option<f64>,
    ) -> ([f64; CLASS_COUNT], [f64; CLASS_COUNT]) {
        let p = &self.params;
        let table = BandTable::get(p.band_level);
        let observed = prepare_profile(&f.banding_profile, f.width_px);
        let trimmed = trimmed_fraction(f.banding_profile.len(), f.width_px);
        // The image blurs bands over ~1 px; express that as a fraction of length.
        let blur = (TEMPLATE_BLUR_PX / f.length_px.max(1.0)).max(0.01);
        let mut scores = [0.0; CLASS_COUNT];
        let mut up_evidence = [0.0; CLASS_COUNT];
        for c in ChromosomeClass::all() {
            let i = c.index();
            let template = table.ideogram(c).density_profile(PROFILE_SAMPLES, blur);
            let ci = self.centromeric_index[i];
            let stalk = self.stalk[i];
            // The measured constriction is the centromere or, on an
            // acrocentric, possibly the stalk; `flip` mirrors the positions.
            let centromere_ll = |flip: bool| {
                let density = |expected: f64| {
                    let expected = if flip { 1.0 - expected } else { expected };
                    let z = (f.centromere_from_top - expected) / p.centromere_sigma;
                    (-0.5 * z * z).exp()
                };
                let best = stalk.map_or(density(ci), |s| density(ci).max(density(s)));
                (0.75 * best + 0.25 * 0.2).ln()
            };
            let (r_up, r_down) = match &observed {
                Some(obs) => best_correlations(obs, &template, trimmed),
                None => (0.0, 0.0),
            };
            let up = p.banding_weight * r_up + centromere_ll(false);
            let down = p.banding_weight * r_down + centromere_ll(true);
            let orient = log_sum_exp(up, down) - std::f64::consts::LN_2;
            let length_ll = relative_length.map_or(0.0, |rl| {
                let expected = self.relative_length[i];
                let z = (rl - expected) / (p.length_sigma * expected + 0.03);
                -0.5 * z * z
            });
            scores[i] = (orient + length_ll) / p.temperature;
            up_evidence[i] = up - down;
        }
        (scores, up_evidence)
    }
}

impl Default for BuiltinClassifier {
    fn default() -> Self {
        Self::new(BuiltinClassifierParams::default())
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn log_sum_exp(a: f64, b: f64) -> f64 {
    let m = a.max(b);
    m + ((a - m).exp() + (b - m).exp()).ln()
}

/// Samples trimmed off each end of a profile of `n` samples: the rounded tips.
fn tip_trim(n: usize, width_px: f64) -> usize {
    ((TIP_TRIM_WIDTHS * width_px).round() as usize).min(n / 8)
}

/// The share of the length trimmed off each end by [`prepare_profile`].
fn trimmed_fraction(n: usize, width_px: f64) -> f64 {
    if n == 0 {
        0.0
    } else {
        tip_trim(n, width_px) as f64 / n as f64
    }
}

/// Trims the rounded tips, resamples to `PROFILE_SAMPLES` and standardises;
/// `None` for a profile too short or flat to carry banding.
fn prepare_profile(profile: &[f64], width_px: f64) -> Option<Vec<f64>> {
    let n = profile.len();
    let trim = tip_trim(n, width_px);
    let core = profile.get(trim..n.saturating_sub(trim))?;
    if core.len() < 4 {
        return None;
    }
    let resampled = resample_profile(core, PROFILE_SAMPLES);
    standardise(&gaussian_smooth(&resampled, 0.5))
}

/// Linear resampling of a profile to `n` evenly spaced samples.
pub fn resample_profile(values: &[f64], n: usize) -> Vec<f64> {
    if values.is_empty() || n == 0 {
        return vec![0.0; n];
    }
    let last = (values.len() - 1) as f64;
    (0..n)
        .map(|i| {
            let t = if n == 1 {
                0.0
            } else {
                i as f64 / (n - 1) as f64 * last
            };
            let i0 = t.floor() as usize;
            let i1 = (i0 + 1).min(values.len() - 1);
            let f = t - i0 as f64;
            values[i0] * (1.0 - f) + values[i1] * f
        })
        .collect()
}

fn standardise(values: &[f64]) -> Option<Vec<f64>> {
    let (mean, sd) = mean_and_sd(values)?;
    Some(values.iter().map(|v| (v - mean) / sd).collect())
}

/// The mean and (population) standard deviation; `None` when the values
/// are (nearly) constant.
fn mean_and_sd(values: &[f64]) -> Option<(f64, f64)> {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    if var < 1e-9 {
        None
    } else {
        Some((mean, var.sqrt()))
    }
}

/// Best Pearson correlation of `observed` (standardised, with `trimmed` of
/// the length cut off each end) with the matching window of the template,
/// its ends moved by a few percent either way (uneven condensation, tips
/// measured long or short): as given and with `observed` reversed (the
/// chromosome the other way up), from the same windows.
fn best_correlations(observed: &[f64], template: &[f64], trimmed: f64) -> (f64, f64) {
    let n = template.len();
    let m = observed.len();
    let (mut up, mut down) = (-1.0f64, -1.0f64);
    const MOVES: [f64; 5] = [-0.04, -0.02, 0.0, 0.02, 0.04];
    let mut window = vec![0.0; m];
    for start in MOVES.map(|d| (trimmed + d).clamp(0.0, 0.3)) {
        for end in MOVES.map(|d| (1.0 - trimmed + d).clamp(0.7, 1.0)) {
            let lo = start * (n - 1) as f64;
            let hi = end * (n - 1) as f64;
            for (i, w) in window.iter_mut().enumerate() {
                let t = lo + (hi - lo) * i as f64 / (m - 1).max(1) as f64;
                // t >= 0, so truncation is the floor.
                let i0 = t as usize;
                let i1 = (i0 + 1).min(n - 1);
                let f = t - i0 as f64;
                *w = template[i0] * (1.0 - f) + template[i1] * f;
            }
            let Some((mean, sd)) = mean_and_sd(&window) else {
                continue;
            };
            let (mut a, mut b) = (0.0, 0.0);
            for (i, w) in window.iter().enumerate() {
                let z = (w - mean) / sd;
                a += observed[i] * z;
                b += observed[m - 1 - i] * z;
            }
            up = up.max(a / m as f64);
            down = down.max(b / m as f64);
        }
    }
    (up, down)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::raster::GrayImage;

    /// Features of an idealised chromosome straight from the ideogram.
    fn ideal(class: ChromosomeClass, scale: f64, flipped: bool) -> ChromosomeFeatures {
        let table = BandTable::get(BandLevel::B400);
        let ideo = table.ideogram(class);
        let length = ideo.length() * scale;
        let n = length.round() as usize;
        let mut profile: Vec<f64> = ideo
            .density_profile(n, 0.01)
            .iter()
            .map(|d| 40.0 + 180.0 * d)
            .collect();
        let mut cen = ideo.centromeric_index();
        if flipped {
            profile.reverse();
            cen = 1.0 - cen;
        }
        ChromosomeFeatures {
            length_px: length,
            width_px: 6.0,
            centromere_from_top: cen,
            banding_profile: profile,
            gband_crop: GrayImage::new(1, 1, 255),
        }
    }

    #[test]
    fn ideal_cell_is_classified_and_oriented() {
        let classifier = BuiltinClassifier::default();
        let mut batch = Vec::new();
        let mut truth = Vec::new();
        for c in ChromosomeClass::all().filter(|c| *c != ChromosomeClass::Y) {
            for k in 0..2 {
                batch.push(ideal(c, 0.008, k == 1));
                truth.push((c, k == 1));
            }
        }
        let preds = classifier.classify_batch(&batch, BatchContext::Cell);
        let correct = preds
            .iter()
            .zip(&truth)
            .filter(|(p, (c, _))| p.top_class() == *c)
            .count();
        assert!(correct >= 44, "{correct}/46 correct");
        let oriented = preds
            .iter()
            .zip(&truth)
            .filter(|(p, (_, flipped))| (p.polarity == Polarity::PDown) == *flipped)
            .count();
        assert!(oriented >= 44, "{oriented}/46 oriented");
        for p in &preds {
            assert!((p.probabilities.iter().sum::<f64>() - 1.0).abs() < 1e-9);
            assert!(p.polarity_confidence >= 0.5);
        }
    }

    #[test]
    fn degenerate_features_give_a_valid_uncertain_answer() {
        let f = ChromosomeFeatures {
            length_px: 0.0,
            width_px: 0.0,
            centromere_from_top: f64::NAN,
            banding_profile: vec![],
            gband_crop: GrayImage::new(0, 0, 255),
        };
        let p = &BuiltinClassifier::default().classify_batch(&[f], BatchContext::Independent)[0];
        assert!((p.probabilities.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert!(p.entropy() > 1.0);
    }
}
