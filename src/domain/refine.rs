//! The segmentation checked against the ideogram: an object that fits no
//! chromosome class is cut in two where both parts fit one.
//!
//! Theory of operation: two chromosomes touching end to end at a shallow
//! angle leave no trace in the outline (no notch, no corner, no neck) that
//! a chromosome bent at its centromere does not leave too, so the segmenter
//! keeps them as one object. Their banding, length and centromere tell them
//! apart: the built-in classifier's log-score of the best class (its *fit*,
//! see [`BuiltinClassifier::fit`]) is low for the pair and high for each of
//! the two. For every object that fits far worse than the cell's median
//! object, cuts across its medial axis are tried (half a width apart, then
//! finer around the best; both parts at least the smallest chromosome's
//! size); the cut whose worse part fits best is made when that part fits
//! much better than the whole did and about as well as the cell's median
//! object.
//!
//! The fit is evidence only where the ideogram explains the cell's
//! chromosomes: the check runs only when the cell's median fit is high
//! ([`FitCutParams::min_cell_fit`]). On spreads whose banding the built-in
//! classifier cannot read (it places a third of real G-band crops), the
//! fits are noise and cutting by them cuts whole chromosomes, so there the
//! segmentation is left as it is.

use rayon::prelude::*;

use super::analysis::{MeasuredObject, measure_object};
use super::classify::ChromosomeFeatures;
use super::classify::builtin::BuiltinClassifier;
use super::geometry;
use super::raster::{GrayImage, Region};
use super::segmentation::SegmentNote;
use super::segmentation::builtin::AxisSides;

/// Thresholds of the check, in nats of the built-in classifier's log-score.
#[derive(Debug, Clone, PartialEq)]
pub struct FitCutParams {
    /// The check runs only in cells whose median object fits at least this
    /// well (a banding correlation of about 0.6 with right length and
    /// centromere; cells of well-banded chromosomes reach 6).
    pub min_cell_fit: f64,
    /// Objects are tried when they fit this much worse than the median.
    pub poor_fit: f64,
    /// A cut is made when its worse part fits this much better than the
    /// whole...
    pub min_gain: f64,
    /// ...and no more than this worse than the cell's median object.
    pub part_slack: f64,
    /// Objects smaller than this fraction of the median area are no
    /// chromosome (21, Y are about a third of the median).
    pub min_part_of_median: f64,
    /// The check needs a cell: at least this many objects.
    pub min_objects: usize,
}

impl Default for FitCutParams {
    fn default() -> Self {
        Self {
            min_cell_fit: 5.0,
            poor_fit: 3.0,
            min_gain: 2.5,
            part_slack: 1.0,
            min_part_of_median: 0.3,
            min_objects: 10,
        }
    }
}

/// One cut of an object across its medial axis.
#[derive(Debug, Clone)]
pub struct CutTrial {
    /// The axis point cut at.
    pub cut: usize,
    /// The fit of each part.
    pub fits: [f64; 2],
    pub regions: [Region; 2],
}

impl CutTrial {
    /// The fit of the part that fits worse.
    pub fn worse(&self) -> f64 {
        self.fits[0].min(self.fits[1])
    }
}

/// What the check knows about the cell.
struct CellFit {
    mean_length: f64,
    min_area: f64,
    median_fit: f64,
}

/// The fit of a region measured on `density`, its length relative to
/// `mean_length`.
fn region_fit(
    classifier: &BuiltinClassifier,
    density: &GrayImage,
    region: &Region,
    mean_length: f64,
) -> Option<f64> {
    let geo = geometry::measure(density, region)?;
    // The built-in classifier reads the profile, not the crop.
    let features = ChromosomeFeatures::from_geometry(&geo, GrayImage::new(1, 1, 255));
    Some(classifier.fit(&features, Some(geo.length_px / mean_length)))
}

/// For each object, the cut the check makes, if any.
pub fn plan_cuts(
    classifier: &BuiltinClassifier,
    density: &GrayImage,
    measured: &[MeasuredObject],
    params: &FitCutParams,
) -> Vec<Option<CutTrial>> {
    if measured.len() < params.min_objects.max(1) {
        return vec![None; measured.len()];
    }
    let mean_length = (measured.iter().map(|m| m.geometry.length_px).sum::<f64>()
        / measured.len() as f64)
        .max(1.0);
    let wholes: Vec<f64> = measured
        .par_iter()
        .map(|m| classifier.fit(&m.features, Some(m.geometry.length_px / mean_length)))
        .collect();
    let median = |mut values: Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let cell = CellFit {
        mean_length,
        min_area: params.min_part_of_median
            * median(measured.iter().map(|m| m.region.area() as f64).collect()),
        median_fit: median(wholes.clone()),
    };
    if cell.median_fit.is_nan() || cell.median_fit < params.min_cell_fit {
        return vec![None; measured.len()];
    }
    measured
        .par_iter()
        .zip(&wholes)
        .map(|(m, &whole)| best_cut(classifier, density, m, whole, &cell, params))
        .collect()
}

/// The cut the check makes in `object` (fitting `whole`), if any.
fn best_cut(
    classifier: &BuiltinClassifier,
    density: &GrayImage,
    object: &MeasuredObject,
    whole: f64,
    cell: &CellFit,
    params: &FitCutParams,
) -> Option<CutTrial> {
    if (object.region.area() as f64) < 2.0 * cell.min_area
        || whole >= cell.median_fit - params.poor_fit
    {
        return None;
    }
    let axis = &object.geometry.axis;
    let width = object.geometry.width_px.max(1.0);
    // Neither part shorter than the smallest chromosome. Cuts half a width
    // apart first, then every sixth of a width around the best of those:
    // the fit changes within a band as the cut moves.
    let margin = ((cell.min_area / width).ceil() as usize).max(3);
    let fine = ((width / 6.0).round() as usize).max(1);
    let coarse = 3 * fine;
    let n = axis.len();
    if n < 2 * margin + 1 {
        return None;
    }
    // The best cut is the one whose worse part fits best: a trial stops at
    // its first part when that part fits no better than the best so far.
    // The coarse pass keeps its best cut whatever its fit, the fine pass
    // around it only cuts that fit well enough for the check.
    let floor = (cell.median_fit - params.part_slack).max(whole + params.min_gain);
    let sides = AxisSides::of(&object.region, axis);
    let search = |cuts: &mut dyn Iterator<Item = usize>, mut best: Option<CutTrial>| {
        for cut in cuts {
            let bar = best.as_ref().map_or(f64::NEG_INFINITY, CutTrial::worse);
            let Some(regions) = sides.split(cut) else {
                continue;
            };
            if regions.iter().any(|r| (r.area() as f64) < cell.min_area) {
                continue;
            }
            let fit = |r: &Region| region_fit(classifier, density, r, cell.mean_length);
            let Some(a) = fit(&regions[0]).filter(|&a| a > bar) else {
                continue;
            };
            let Some(b) = fit(&regions[1]).filter(|&b| b > bar) else {
                continue;
            };
            best = Some(CutTrial {
                cut,
                fits: [a, b],
                regions,
            });
        }
        best
    };
    let first = search(&mut (margin..n - margin).step_by(coarse), None)?;
    let at = first.cut;
    let around =
        at.saturating_sub(coarse - fine).max(margin)..=(at + coarse - fine).min(n - margin - 1);
    search(&mut around.step_by(fine).filter(|&c| c != at), Some(first))
        .filter(|t| t.worse() >= floor)
}

/// Applies the check (see the module documentation): each object it cuts
/// is replaced by its two parts, measured on `density` with crops from
/// `gband`, noted as cut from a cluster.
pub fn cut_poor_fits(
    classifier: &BuiltinClassifier,
    density: &GrayImage,
    gband: &GrayImage,
    measured: Vec<MeasuredObject>,
    params: &FitCutParams,
) -> Vec<MeasuredObject> {
    let plan = plan_cuts(classifier, density, &measured, params);
    measured
        .into_iter()
        .zip(plan)
        .flat_map(|(object, cut)| {
            let Some(cut) = cut else {
                return vec![object];
            };
            let mut notes = object.notes.clone();
            if !notes.contains(&SegmentNote::SplitFromCluster) {
                notes.push(SegmentNote::SplitFromCluster);
            }
            let score = object.score.min(SPLIT_SCORE);
            let parts: Option<Vec<MeasuredObject>> = cut
                .regions
                .into_iter()
                .map(|r| measure_object(density, gband, r, score, notes.clone()))
                .collect();
            parts.unwrap_or_else(|| vec![object])
        })
        .collect()
}

/// Segmentation confidence of a part the check cut off (the built-in
/// segmenter gives pieces of a cluster the same).
const SPLIT_SCORE: f64 = 0.7;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::analysis::measure_objects;
    use crate::domain::modality::{Modality, density};
    use crate::domain::segmentation::builtin::{BuiltinParams, segment};
    use crate::domain::synth::{Sex, SynthConfig, SynthSpread, generate_spread};

    fn cell(seed: u64) -> (SynthSpread, GrayImage, Vec<MeasuredObject>) {
        let mut cfg = SynthConfig::new(768, 576, seed);
        cfg.sex = if seed.is_multiple_of(2) {
            Sex::Female
        } else {
            Sex::Male
        };
        let spread = generate_spread(&cfg);
        let dens = density(&spread.image, Modality::Brightfield);
        let seg = segment(&dens, Modality::Brightfield, &BuiltinParams::default());
        let measured = measure_objects(&spread.image, Modality::Brightfield, &seg);
        (spread, dens, measured)
    }

    /// How many truth chromosomes lie at least half inside `region`.
    fn covered(spread: &SynthSpread, region: &Region) -> usize {
        spread
            .instances
            .iter()
            .filter(|t| 2 * t.region.intersection(region) >= t.region.area())
            .count()
    }

    #[test]
    fn merged_pairs_are_cut_into_their_chromosomes_and_single_ones_are_not() {
        let classifier = BuiltinClassifier::default();
        let mut cuts = 0;
        for seed in 1000..1006 {
            let (spread, dens, measured) = cell(seed);
            let plan = plan_cuts(&classifier, &dens, &measured, &FitCutParams::default());
            for (object, cut) in measured.iter().zip(&plan) {
                let Some(cut) = cut else { continue };
                cuts += 1;
                assert!(
                    covered(&spread, &object.region) >= 2,
                    "seed {seed}: {cut:?}"
                );
                for part in &cut.regions {
                    assert!(
                        spread.instances.iter().any(|t| t.region.iou(part) >= 0.5),
                        "seed {seed}: a part matches no chromosome"
                    );
                }
            }
        }
        // Seeds 1001 and 1004 hold three merged pairs, all cut.
        assert!(cuts >= 3, "{cuts} cuts");
    }

    #[test]
    fn without_banding_evidence_nothing_is_cut() {
        let (_, dens, mut measured) = cell(1004);
        let classifier = BuiltinClassifier::default();
        let params = FitCutParams::default();
        assert!(
            plan_cuts(&classifier, &dens, &measured, &params)
                .iter()
                .any(Option::is_some)
        );
        // Unreadable banding: the cell's fits fall below the gate.
        for m in &mut measured {
            m.features
                .banding_profile
                .iter_mut()
                .for_each(|v| *v = 128.0);
        }
        let plan = plan_cuts(&classifier, &dens, &measured, &params);
        assert!(plan.iter().all(Option::is_none));
        let few = &measured[..params.min_objects - 1];
        assert!(
            plan_cuts(&classifier, &dens, few, &params)
                .iter()
                .all(Option::is_none)
        );
    }
}
