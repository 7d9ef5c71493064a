//! Chromosome classification: predictions, entropy, the built-in classifier
//! and the whole-cell assignment of objects to karyogram places.

pub mod assign;
pub mod builtin;
pub mod hungarian;

use crate::domain::chromosome::{CLASS_COUNT, ChromosomeClass, Polarity};
use crate::domain::geometry::ChromosomeGeometry;
use crate::domain::raster::GrayImage;

/// What a classifier sees of one chromosome.
#[derive(Debug, Clone, PartialEq)]
pub struct ChromosomeFeatures {
    /// Length along the medial axis, pixels.
    pub length_px: f64,
    /// Median width, pixels.
    pub width_px: f64,
    /// Centromere position as a fraction of the length from the top (row 0)
    /// of the straightened crop.
    pub centromere_from_top: f64,
    /// Mean stain density of the central stripe, top to bottom (0..255).
    pub banding_profile: Vec<f64>,
    /// The chromosome in G-band look (dark on light, background light), top
    /// = row 0: what a learned classifier looks at. Straightened along its
    /// axis when cut from a spread; an image that holds one chromosome
    /// (`classify`) is kept as given, like the classifier's training crops.
    pub gband_crop: GrayImage,
}

impl ChromosomeFeatures {
    /// Features from measured geometry. `gband_crop` is the crop in
    /// G-band look (see `ChromosomeFeatures::gband_crop`).
    pub fn from_geometry(geometry: &ChromosomeGeometry, gband_crop: GrayImage) -> Self {
        Self {
            length_px: geometry.length_px,
            width_px: geometry.width_px,
            centromere_from_top: geometry.centromere_px / geometry.length_px.max(1.0),
            banding_profile: geometry.banding_profile.clone(),
            gband_crop,
        }
    }
}

/// How much the classifier may assume about the batch it is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchContext {
    /// The batch is one cell: relative lengths are meaningful.
    Cell,
    /// Unrelated single chromosomes: lengths carry no information.
    Independent,
}

/// A classifier's answer for one chromosome.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Probability of each class, indexed by `ChromosomeClass::index`; sums to 1.
    pub probabilities: [f64; CLASS_COUNT],
    /// Where the p arm points in the straightened crop as given.
    pub polarity: Polarity,
    /// Probability that `polarity` is right, 0.5..=1.
    pub polarity_confidence: f64,
    /// Penultimate-layer embedding of a learned model (empty for the built-in).
    pub embedding: Vec<f32>,
}

impl Prediction {
    /// The most probable class.
    pub fn top_class(&self) -> ChromosomeClass {
        let best = (0..CLASS_COUNT)
            .max_by(|&a, &b| self.probabilities[a].total_cmp(&self.probabilities[b]))
            .unwrap_or(0);
        ChromosomeClass::from_index(best).unwrap_or(ChromosomeClass::X)
    }

    /// Shannon entropy of the class probabilities in nats (0 = certain,
    /// ln 24 = 3.18 = uniform).
    pub fn entropy(&self) -> f64 {
        entropy(&self.probabilities)
    }

    /// The `k` most probable classes with their probabilities, best first.
    pub fn top_k(&self, k: usize) -> Vec<(ChromosomeClass, f64)> {
        let mut all: Vec<(ChromosomeClass, f64)> = ChromosomeClass::all()
            .map(|c| (c, self.probabilities[c.index()]))
            .collect();
        all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        all.truncate(k);
        all
    }
}

/// Shannon entropy in nats of a probability vector.
pub fn entropy(p: &[f64]) -> f64 {
    p.iter().filter(|&&v| v > 0.0).map(|&v| -v * v.ln()).sum()
}

/// Softmax of log-scores (numerically stable).
pub fn softmax(scores: &[f64; CLASS_COUNT]) -> [f64; CLASS_COUNT] {
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut out = [0.0; CLASS_COUNT];
    let mut sum = 0.0;
    for (o, &s) in out.iter_mut().zip(scores) {
        *o = if s.is_finite() { (s - max).exp() } else { 0.0 };
        sum += *o;
    }
    if sum > 0.0 && sum.is_finite() {
        for o in &mut out {
            *o /= sum;
        }
    } else {
        out = [1.0 / CLASS_COUNT as f64; CLASS_COUNT];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_bounds() {
        let mut p = [0.0; CLASS_COUNT];
        p[3] = 1.0;
        assert_eq!(entropy(&p), 0.0);
        let u = [1.0 / CLASS_COUNT as f64; CLASS_COUNT];
        assert!((entropy(&u) - (CLASS_COUNT as f64).ln()).abs() < 1e-9);
        let s = softmax(&[f64::NAN; CLASS_COUNT]);
        assert!((s.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }
}
