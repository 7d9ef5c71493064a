//! The segmentation checked against the ideogram: an object that fits no
//! chromosome class is cut in two where both parts fit one, and two
//! touching objects are joined where only together they fit one.
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
//! The segmenter also errs the other way: where a chromosome touches the
//! side of another, the notches at the contact look like those between two
//! chromosomes, and the watershed cuts the long one across (or clips off
//! the end of a short one). The pieces fit badly, the whole fits well: two
//! touching objects, one of them fitting far worse than the median, are
//! joined when their union fits about as well as the median object, much
//! better than the worse piece and clearly better than the better one (a
//! small chromosome lying against a large one adds nothing to the large
//! one's fit, so the two stay apart). The check cuts first and joins the
//! objects it then has; a join never undoes a cut (its parts fit well).
//!
//! The fit is evidence only where the ideogram explains the cell's
//! chromosomes: the check runs only when the cell's median fit is high
//! ([`FitCheckParams::min_cell_fit`]). On spreads whose banding the built-in
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
use super::segmentation::concavity::{notch_cuts, split_along};

/// Thresholds of the check, in nats of the built-in classifier's log-score.
#[derive(Debug, Clone, PartialEq)]
pub struct FitCheckParams {
    /// The check runs only in cells whose median object fits at least this
    /// well (a banding correlation of about 0.6 with right length and
    /// centromere; cells of well-banded chromosomes reach 6).
    pub min_cell_fit: f64,
    /// Objects are tried when they fit this much worse than the median.
    pub poor_fit: f64,
    /// A cut is made when its worse part fits this much better than the
    /// whole...
    pub min_gain: f64,
    /// ...and no more than this worse than the cell's median object. The
    /// same two thresholds hold for a join: its union against the worse
    /// piece and against the median.
    pub part_slack: f64,
    /// A join is made only when the union also fits this much better than
    /// the better piece.
    pub join_margin: f64,
    /// Objects smaller than this fraction of the median area are no
    /// chromosome (21, Y are about a third of the median).
    pub min_part_of_median: f64,
    /// The check needs a cell: at least this many objects.
    pub min_objects: usize,
}

impl Default for FitCheckParams {
    fn default() -> Self {
        Self {
            min_cell_fit: 5.0,
            poor_fit: 3.0,
            min_gain: 2.5,
            part_slack: 1.0,
            join_margin: 1.0,
            min_part_of_median: 0.25,
            min_objects: 10,
        }
    }
}

/// One cut of an object in two.
#[derive(Debug, Clone)]
pub struct CutTrial {
    /// The fit of each part.
    pub fits: [f64; 2],
    /// How far the worse part falls short of the cell's chromosomes of its
    /// length (negative: it fits better than they do).
    pub shortfall: f64,
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
    /// Each object's length relative to the mean and its fit, by length.
    by_length: Vec<(f64, f64)>,
}

impl CellFit {
    /// How well the cell's chromosomes of about `relative_length` fit: the
    /// median fit of the objects nearest in length, at most the cell's
    /// median. Small chromosomes carry few bands and fit less well than
    /// large ones, so a part is held to the standard of its own size.
    fn reference(&self, relative_length: f64) -> f64 {
        let k = REFERENCE_NEIGHBOURS.max(self.by_length.len() / 6);
        let mut near: Vec<(f64, f64)> = self
            .by_length
            .iter()
            .map(|&(r, f)| ((r - relative_length).abs(), f))
            .collect();
        near.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut fits: Vec<f64> = near.iter().take(k).map(|&(_, f)| f).collect();
        fits.sort_by(f64::total_cmp);
        fits.get(fits.len() / 2)
            .map_or(self.median_fit, |&f| f.min(self.median_fit))
    }

    /// The fit of a region measured on `density` and how far it falls short
    /// of the [`reference`](Self::reference) of its length.
    fn judge(
        &self,
        classifier: &BuiltinClassifier,
        density: &GrayImage,
        region: &Region,
    ) -> Option<Judged> {
        let geo = geometry::measure(density, region)?;
        let relative_length = geo.length_px / self.mean_length;
        // The built-in classifier reads the profile, not the crop.
        let features = ChromosomeFeatures::from_geometry(&geo, GrayImage::new(1, 1, 255));
        let fit = classifier.fit(&features, Some(relative_length));
        Some(Judged {
            fit,
            shortfall: self.reference(relative_length) - fit,
        })
    }
}

/// A region's fit and its shortfall from the reference of its length.
#[derive(Debug, Clone, Copy)]
struct Judged {
    fit: f64,
    shortfall: f64,
}

/// The reference fit of a length is the median of at least this many
/// objects nearest in length.
const REFERENCE_NEIGHBOURS: usize = 7;

/// What the check knows about the cell and the fit of each object, or
/// `None` where the check does not run (too few objects, or fits too low
/// to be evidence).
fn cell_fit(
    classifier: &BuiltinClassifier,
    measured: &[MeasuredObject],
    params: &FitCheckParams,
) -> Option<(CellFit, Vec<f64>)> {
    if measured.len() < params.min_objects.max(1) {
        return None;
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
        by_length: measured
            .iter()
            .zip(&wholes)
            .map(|(m, &f)| (m.geometry.length_px / mean_length, f))
            .collect(),
    };
    (cell.median_fit >= params.min_cell_fit).then_some((cell, wholes))
}

/// For each object, the cut the check makes, if any.
pub fn plan_cuts(
    classifier: &BuiltinClassifier,
    density: &GrayImage,
    measured: &[MeasuredObject],
    params: &FitCheckParams,
) -> Vec<Option<CutTrial>> {
    let Some((cell, wholes)) = cell_fit(classifier, measured, params) else {
        return vec![None; measured.len()];
    };
    cuts(classifier, density, measured, &wholes, &cell, params)
}

/// The [`best_cut`] of each object fitting `wholes`.
fn cuts(
    classifier: &BuiltinClassifier,
    density: &GrayImage,
    measured: &[MeasuredObject],
    wholes: &[f64],
    cell: &CellFit,
    params: &FitCheckParams,
) -> Vec<Option<CutTrial>> {
    measured
        .par_iter()
        .zip(wholes)
        .map(|(m, &whole)| best_cut(classifier, density, m, whole, cell, params))
        .collect()
}

/// The cut the check makes in `object` (fitting `whole`), if any.
fn best_cut(
    classifier: &BuiltinClassifier,
    density: &GrayImage,
    object: &MeasuredObject,
    whole: f64,
    cell: &CellFit,
    params: &FitCheckParams,
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
    // The best cut is the one whose worse part falls least short of the
    // chromosomes of its length: a trial stops at its first part when that
    // part falls shorter than the best so far. Each part must also fit much
    // better than the whole.
    let trial = |regions: [Region; 2], best: &Option<CutTrial>| {
        let bar = best.as_ref().map_or(f64::INFINITY, |t| t.shortfall);
        if regions.iter().any(|r| (r.area() as f64) < cell.min_area) {
            return None;
        }
        let judge = |r: &Region| {
            cell.judge(classifier, density, r)
                .filter(|j| j.shortfall < bar && j.fit >= whole + params.min_gain)
        };
        let a = judge(&regions[0])?;
        let b = judge(&regions[1])?;
        Some(CutTrial {
            fits: [a.fit, b.fit],
            shortfall: a.shortfall.max(b.shortfall),
            regions,
        })
    };
    // Across the axis: the coarse pass keeps its best cut whatever its fit,
    // the fine pass looks around it.
    let sides = AxisSides::of(&object.region, axis);
    let search = |cuts: &mut dyn Iterator<Item = usize>, mut best: Option<(usize, CutTrial)>| {
        for cut in cuts {
            let current = best.as_ref().map(|(_, t)| t.clone());
            if let Some(t) = sides.split(cut).and_then(|r| trial(r, &current)) {
                best = Some((cut, t));
            }
        }
        best
    };
    let mut best = search(&mut (margin..n - margin).step_by(coarse), None)
        .and_then(|first| {
            let at = first.0;
            let around = at.saturating_sub(coarse - fine).max(margin)
                ..=(at + coarse - fine).min(n - margin - 1);
            search(&mut around.step_by(fine).filter(|&c| c != at), Some(first))
        })
        .map(|(_, t)| t);
    // Between notches of the outline: where a small chromosome meets the
    // side or the end of a larger one at an angle, the axis runs along one
    // of them and no cut across it separates the two.
    for (pa, pb) in notch_cuts(
        &object.region,
        NOTCH_DEPTH * width,
        NOTCH_CUT_LENGTH * width,
        NOTCH_CUT_LENGTH * width,
    ) {
        let Some(parts) = split_along(&object.region, pa, pb, cell.min_area) else {
            continue;
        };
        let Ok(regions) = <[Region; 2]>::try_from(parts) else {
            continue;
        };
        if let Some(t) = trial(regions, &best) {
            best = Some(t);
        }
    }
    best.filter(|t| t.shortfall <= params.part_slack)
}

/// Notches of the outline at least this many widths deep are cut between...
const NOTCH_DEPTH: f64 = 0.2;
/// ...along cuts at most this many widths long.
const NOTCH_CUT_LENGTH: f64 = 1.5;

/// Two touching objects the check joins into one.
#[derive(Debug, Clone)]
pub struct JoinTrial {
    /// The indices of the two objects.
    pub parts: [usize; 2],
    /// The fit of the union.
    pub fit: f64,
    pub region: Region,
}

/// Whether two regions touch (4-neighbours) or overlap.
fn touching(a: &Region, b: &Region) -> bool {
    let (ab, bb) = (a.bbox, b.bbox);
    if ab.x > bb.x + bb.w || bb.x > ab.x + ab.w || ab.y > bb.y + bb.h || bb.y > ab.y + ab.h {
        return false;
    }
    a.pixels().into_iter().any(|(x, y)| {
        let (x, y) = (x as i64, y as i64);
        [(x, y), (x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1)]
            .into_iter()
            .any(|(nx, ny)| b.contains(nx, ny))
    })
}

/// The joins the check makes among `objects` fitting `fits` (see the module
/// documentation): each object joins at most one other, the best-fitting
/// unions first.
fn plan_joins(
    classifier: &BuiltinClassifier,
    density: &GrayImage,
    objects: &[MeasuredObject],
    fits: &[f64],
    cell: &CellFit,
    params: &FitCheckParams,
) -> Vec<JoinTrial> {
    let poor = |i: usize| fits[i] < cell.median_fit - params.poor_fit;
    let candidates: Vec<[usize; 2]> = (0..objects.len())
        .flat_map(|a| (a + 1..objects.len()).map(move |b| [a, b]))
        .filter(|&[a, b]| (poor(a) || poor(b)) && touching(&objects[a].region, &objects[b].region))
        .collect();
    let mut trials: Vec<JoinTrial> = candidates
        .into_par_iter()
        .filter_map(|[a, b]| {
            let (worse, better) = (fits[a].min(fits[b]), fits[a].max(fits[b]));
            let mut pixels = objects[a].region.pixels();
            pixels.extend(objects[b].region.pixels());
            let region = Region::from_pixels(&pixels);
            let Judged { fit, shortfall } = cell.judge(classifier, density, &region)?;
            (shortfall <= params.part_slack
                && fit >= worse + params.min_gain
                && fit >= better + params.join_margin)
                .then_some(JoinTrial {
                    parts: [a, b],
                    fit,
                    region,
                })
        })
        .collect();
    trials.sort_by(|p, q| q.fit.total_cmp(&p.fit));
    let mut used = vec![false; objects.len()];
    trials.retain(|t| {
        let free = t.parts.iter().all(|&i| !used[i]);
        if free {
            t.parts.iter().for_each(|&i| used[i] = true);
        }
        free
    });
    trials
}

/// Applies the check (see the module documentation): each object it cuts
/// is replaced by its two parts, and each pair it joins by their union,
/// measured on `density` with crops from `gband`. Cut parts and joined
/// objects are noted as cut from a cluster.
pub fn check_against_ideogram(
    classifier: &BuiltinClassifier,
    density: &GrayImage,
    gband: &GrayImage,
    measured: Vec<MeasuredObject>,
    params: &FitCheckParams,
) -> Vec<MeasuredObject> {
    let Some((cell, wholes)) = cell_fit(classifier, &measured, params) else {
        return measured;
    };
    let plan = cuts(classifier, density, &measured, &wholes, &cell, params);
    // The objects after the cuts, with their fits.
    let mut objects = Vec::with_capacity(measured.len() + 4);
    let mut fits = Vec::with_capacity(measured.len() + 4);
    for ((object, whole), cut) in measured.into_iter().zip(wholes).zip(plan) {
        let parts: Option<Vec<MeasuredObject>> = cut.as_ref().and_then(|cut| {
            let notes = split_notes(&object.notes, &[]);
            let score = object.score.min(SPLIT_SCORE);
            cut.regions
                .iter()
                .map(|r| measure_object(density, gband, r.clone(), score, notes.clone()))
                .collect()
        });
        match (parts, cut) {
            (Some(parts), Some(cut)) => {
                objects.extend(parts);
                fits.extend(cut.fits);
            }
            _ => {
                objects.push(object);
                fits.push(whole);
            }
        }
    }
    let joins = plan_joins(classifier, density, &objects, &fits, &cell, params);
    let mut slots: Vec<Option<MeasuredObject>> = objects.into_iter().map(Some).collect();
    for join in joins {
        let [a, b] = join.parts;
        let (Some(first), Some(second)) = (&slots[a], &slots[b]) else {
            continue;
        };
        let notes = split_notes(&first.notes, &second.notes);
        let score = first.score.min(second.score).min(SPLIT_SCORE);
        if let Some(joined) = measure_object(density, gband, join.region, score, notes) {
            slots[a] = Some(joined);
            slots[b] = None;
        }
    }
    slots.into_iter().flatten().collect()
}

/// The notes of a piece the check made from objects noted `a` and `b`.
fn split_notes(a: &[SegmentNote], b: &[SegmentNote]) -> Vec<SegmentNote> {
    let mut notes = Vec::with_capacity(a.len() + b.len() + 1);
    for &note in a.iter().chain(b).chain(&[SegmentNote::SplitFromCluster]) {
        if !notes.contains(&note) {
            notes.push(note);
        }
    }
    notes
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
            let plan = plan_cuts(&classifier, &dens, &measured, &FitCheckParams::default());
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
    fn every_object_the_check_makes_is_a_chromosome() {
        let classifier = BuiltinClassifier::default();
        let params = FitCheckParams::default();
        let mut made = 0;
        for seed in 1000..1006 {
            let (spread, dens, measured) = cell(seed);
            let before: Vec<Region> = measured.iter().map(|m| m.region.clone()).collect();
            let after =
                check_against_ideogram(&classifier, &dens, &spread.image, measured, &params);
            for object in after.iter().filter(|o| !before.contains(&o.region)) {
                made += 1;
                assert!(
                    object.notes.contains(&SegmentNote::SplitFromCluster),
                    "seed {seed}: {:?}",
                    object.notes
                );
                assert!(
                    spread
                        .instances
                        .iter()
                        .any(|t| t.region.iou(&object.region) >= 0.5),
                    "seed {seed}: an object at {:?} matches no chromosome",
                    object.region.bbox
                );
            }
        }
        assert!(made >= 6, "{made} objects made");
    }

    #[test]
    fn a_long_chromosome_cut_across_is_joined_back() {
        let classifier = BuiltinClassifier::default();
        let params = FitCheckParams::default();
        let mut joined = 0;
        let mut tried = 0;
        for seed in 1000..1004 {
            let (spread, dens, mut measured) = cell(seed);
            // The longest object that is one chromosome, cut in the middle.
            let Some((i, truth)) = measured
                .iter()
                .enumerate()
                .filter_map(|(i, m)| {
                    let t = spread
                        .instances
                        .iter()
                        .find(|t| t.region.iou(&m.region) >= 0.8)?;
                    Some((i, t.region.clone()))
                })
                .max_by(|a, b| {
                    let len = |i: usize| measured[i].geometry.length_px;
                    len(a.0).total_cmp(&len(b.0))
                })
            else {
                continue;
            };
            let object = measured.remove(i);
            let axis = &object.geometry.axis;
            let Some(halves) = AxisSides::of(&object.region, axis).split(axis.len() / 2) else {
                continue;
            };
            for half in halves {
                measured.extend(measure_object(&dens, &spread.image, half, 1.0, Vec::new()));
            }
            tried += 1;
            let after =
                check_against_ideogram(&classifier, &dens, &spread.image, measured, &params);
            if after.iter().any(|o| o.region.iou(&truth) >= 0.8) {
                joined += 1;
            }
        }
        assert!(tried >= 3, "{tried} tried");
        assert!(joined >= tried - 1, "{joined} of {tried} joined back");
    }

    #[test]
    fn without_banding_evidence_nothing_is_cut() {
        let (_, dens, mut measured) = cell(1004);
        let classifier = BuiltinClassifier::default();
        let params = FitCheckParams::default();
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
