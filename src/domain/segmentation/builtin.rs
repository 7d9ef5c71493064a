//! The built-in classical segmenter.
//!
//! Theory of operation:
//! 1. flatten the background of the stain-density image and smooth it;
//! 2. threshold at Otsu's level, open (drop one-pixel bridges and specks) and
//!    fill small holes (pale bands, chromatid gaps);
//! 3. label 4-connected components and learn the cell's scale from them
//!    (median object area, typical half-width from the distance transform);
//! 4. set aside debris (tiny) and nuclei (large, compact, far thicker than a
//!    chromosome) with their reason;
//! 5. a component larger than the longest chromosome should be, or whose
//!    skeleton branches, is cut by a watershed of its distance transform from
//!    the thick cores of its parts; neighbouring pieces are merged back unless
//!    the cut runs through a neck clearly narrower than both pieces (the
//!    concavity check), so a single chromosome is not cut at its centromere;
//! 6. every piece is then cut along a pale seam where two chromosomes lie
//!    side by side (one object in the mask whose stain falls apart into two
//!    chromosome-sized seeds at a higher level);
//! 7. the pieces of one component are finally checked as hypotheses about
//!    chromosomes: a piece whose axis turns at a corner is two chromosomes
//!    meeting at an angle and is cut there, and two neighbouring pieces that
//!    together make one clean chromosome (unbranched, one width thick, no
//!    neck, no corner) are joined again, which undoes cuts through a
//!    chromosome where another one touches its side.

use crate::domain::geometry::{self, skeleton};
use crate::domain::modality::Modality;
use crate::domain::raster::{GrayImage, Mask, Region};

use super::components::{connected_components, distance_transform, watershed};
use super::concavity::{ConcavityParams, cut_at_concavities};
use super::filters::{
    blur5, dilate_cross, erode_cross, fill_holes, flatten_background, histogram, otsu_threshold,
    threshold,
};
use super::{RejectReason, RejectedObject, SegmentNote, Segmentation, SegmentedObject};

/// Tunable parameters of the built-in segmenter.
#[derive(Debug, Clone, PartialEq)]
pub struct BuiltinParams {
    /// Objects below this many pixels are always debris.
    pub min_area_px: usize,
    /// Debris: area below this fraction of the median object area.
    pub debris_fraction: f64,
    /// Threshold = this fraction of Otsu's level, for bright-field (G-band)
    /// spreads, where pale bands still absorb clearly.
    pub threshold_scale_brightfield: f64,
    /// The same for fluorescence (Q-band/DAPI), where dull bands come close
    /// to the background and a lower level keeps chromosomes whole.
    pub threshold_scale_fluorescence: f64,
    /// A cut is kept when the shared boundary is narrower than this fraction
    /// of the narrower piece's width.
    pub neck_ratio: f64,
    /// Touching chromosomes are cut between two outline notches each at
    /// least this fraction of the chromosome width deep...
    pub notch_depth: f64,
    /// ...facing a notch at least this fraction deep...
    pub facing_notch_depth: f64,
    /// ...when the cut is no longer than this times the two depths summed.
    pub notch_length_to_depth: f64,
    /// Failing a pair, a single sharp notch at least this fraction of the
    /// width deep (two tips meeting at an angle, a V) is cut to the nearest
    /// point of the outline across the object...
    pub single_notch_depth: f64,
    /// ...when that cut is no longer than this fraction of the width.
    pub single_notch_length: f64,
    /// Chromosomes lying side by side are cut along a pale seam at least
    /// this many typical widths long.
    pub seam_length: f64,
}

impl Default for BuiltinParams {
    fn default() -> Self {
        Self {
            min_area_px: 12,
            debris_fraction: 0.12,
            threshold_scale_brightfield: 1.0,
            threshold_scale_fluorescence: 0.8,
            neck_ratio: 0.8,
            notch_depth: 0.5,
            facing_notch_depth: 0.3,
            notch_length_to_depth: 1.0,
            single_notch_depth: 0.9,
            single_notch_length: 1.4,
            seam_length: 1.3,
        }
    }
}

/// Segments a stain-density image (chromosomes high, background low).
pub fn segment(density: &GrayImage, modality: Modality, params: &BuiltinParams) -> Segmentation {
    segment_with(density, modality, params, Separation::All)
}

/// [`segment`] with a choice of which objects are cut apart.
pub fn segment_with(
    density: &GrayImage,
    modality: Modality,
    params: &BuiltinParams,
    separation: Separation,
) -> Segmentation {
    match Stain::of(density, modality, params) {
        Ok(stain) => segment_stain(&stain, params, separation),
        Err(warning) => Segmentation {
            warnings: vec![warning.into()],
            ..Segmentation::default()
        },
    }
}

/// [`segment_with`] from the stain already worked out.
pub fn segment_stain(
    stain: &Stain,
    params: &BuiltinParams,
    separation: Separation,
) -> Segmentation {
    let (w, h) = (stain.flat.width(), stain.flat.height());
    let mask = threshold(&stain.flat, stain.level);
    let mask = dilate_cross(&erode_cross(&mask));
    let mask = fill_holes(&mask, (w * h / 4000).max(16));
    let components = connected_components(&mask);
    sort_components(
        components,
        w,
        h,
        params,
        separation,
        Some(stain),
        Segmentation::default(),
    )
}

/// The stain the built-in segmenter thresholds, also where a pale seam
/// between chromosomes lying side by side is looked for: the density with
/// its background flattened and smoothed, and the level chromosomes start at.
#[derive(Debug, Clone)]
pub struct Stain {
    pub flat: GrayImage,
    pub level: u8,
}

impl Stain {
    /// The stain of a density image (chromosomes high).
    ///
    /// # Errors
    /// A warning to show when the image is too small or has no contrast.
    pub fn of(
        density: &GrayImage,
        modality: Modality,
        params: &BuiltinParams,
    ) -> Result<Self, &'static str> {
        let (w, h) = (density.width(), density.height());
        if w < 3 || h < 3 {
            return Err("image too small to segment");
        }
        let block = (w.min(h) / 8).max(32);
        let flat = blur5(&flatten_background(density, block));
        let hist = histogram(&flat);
        let otsu = otsu_threshold(&hist);
        // A flat image (no contrast) has no objects.
        let max_level = hist.iter().rposition(|&c| c > 0).unwrap_or(0);
        if max_level < 12 || otsu < 4 {
            return Err("no chromosomes found: the image has no contrast");
        }
        let scale = match modality {
            Modality::Brightfield => params.threshold_scale_brightfield,
            Modality::Fluorescence => params.threshold_scale_fluorescence,
        };
        let level = ((f64::from(otsu) * scale).round() as u8).max(3);
        Ok(Self { flat, level })
    }
}

/// Sorts candidate objects (whole-image regions) into chromosomes, debris and
/// nuclei, learning the cell's scale from them, and cuts the ones that look
/// like touching chromosomes: all candidates with [`Separation::All`], only
/// those too large, too thick or branched for one chromosome with
/// [`Separation::Suspicious`]; given the `stain`, also along a pale seam between
/// chromosomes lying side by side. Shared by the built-in
/// segmenter and the learned one (`maps`), whose instances get the same
/// debris and nucleus rules.
pub(crate) fn sort_components(
    components: Vec<Region>,
    w: usize,
    h: usize,
    params: &BuiltinParams,
    separate: Separation,
    stain: Option<&Stain>,
    mut result: Segmentation,
) -> Segmentation {
    // Learn the cell's scale from plausible objects.
    let mut areas: Vec<usize> = components
        .iter()
        .map(Region::area)
        .filter(|&a| a >= params.min_area_px * 2)
        .collect();
    areas.sort_unstable();
    let median_area = areas.get(areas.len() / 2).copied().unwrap_or(0) as f64;
    let debris_area = (params.min_area_px as f64).max(params.debris_fraction * median_area);
    let max_dts: Vec<f64> = components.iter().map(|c| max_distance(&c.mask)).collect();
    let mut typical: Vec<f64> = components
        .iter()
        .zip(&max_dts)
        .filter(|(c, _)| (c.area() as f64) >= debris_area && (c.area() as f64) <= 3.0 * median_area)
        .map(|(_, &d)| d)
        .collect();
    typical.sort_by(f64::total_cmp);
    let half_width = typical
        .get(typical.len() / 2)
        .copied()
        .unwrap_or(3.0)
        .max(1.5);

    let mut candidates = Vec::new();
    for (region, &max_dt) in components.into_iter().zip(&max_dts) {
        let area = region.area() as f64;
        let on_border = region.bbox.touches_border(w, h);
        if area < debris_area {
            let reason = if on_border {
                RejectReason::CutByBorder
            } else {
                RejectReason::Debris
            };
            result.rejected.push(RejectedObject { region, reason });
        } else if max_dt > 2.2 * half_width
            && area > 3.0 * median_area
            && is_compact(&region, max_dt)
        {
            result.rejected.push(RejectedObject {
                region,
                reason: RejectReason::Nucleus,
            });
        } else {
            candidates.push((region, on_border, max_dt));
        }
    }
    let total_area: f64 = candidates.iter().map(|(r, _, _)| r.area() as f64).sum();
    // Chromosome 1 is about 4.2% of a diploid cell's chromosome length.
    let largest_expected = 0.0422 * total_area.max(46.0 * median_area);

    let ctx = SplitContext {
        half_width,
        median_area,
        debris_area,
        max_area: 1.35 * largest_expected,
        params,
        stain,
    };
    for (region, on_border, max_dt) in candidates {
        let mut notes = Vec::new();
        if on_border {
            notes.push(SegmentNote::TouchesBorder);
        }
        let (pieces, unresolved) = match separate {
            Separation::All => ctx.separate(&region, max_dt),
            Separation::Suspicious if ctx.suspicious(&region, max_dt) => {
                ctx.separate(&region, max_dt)
            }
            Separation::Seams => match ctx.split_at_seam(&region) {
                Some(pieces) => (pieces, false),
                None => (vec![region.clone()], false),
            },
            _ => (vec![region.clone()], false),
        };
        if pieces.len() > 1 {
            for piece in pieces {
                let mut notes = notes.clone();
                notes.push(SegmentNote::SplitFromCluster);
                result.objects.push(SegmentedObject {
                    region: piece,
                    score: 0.7,
                    notes,
                });
            }
            continue;
        }
        if unresolved {
            notes.push(SegmentNote::PossibleCluster);
        }
        let score = if notes.contains(&SegmentNote::PossibleCluster) {
            0.4
        } else if on_border {
            0.6
        } else {
            0.95
        };
        result.objects.push(SegmentedObject {
            region,
            score,
            notes,
        });
    }
    if result.objects.is_empty() {
        result
            .warnings
            .push("no chromosomes found in the image".into());
    }
    result.sort();
    result
}

fn max_distance(mask: &Mask) -> f64 {
    distance_transform(mask).into_iter().fold(0.0, f64::max)
}

/// Compact: the area is not much more than a disc of the object's thickness
/// would cover several times over, and it fills its bounding box.
fn is_compact(region: &Region, max_dt: f64) -> bool {
    let disc = std::f64::consts::PI * max_dt * max_dt;
    let fill = region.area() as f64 / region.bbox.area().max(1) as f64;
    (region.area() as f64) < 2.5 * disc && fill > 0.5
}

/// Cuts a cluster into pieces by watershed from thick cores, then merges back
/// neighbours whose shared boundary is not a neck. Returns the region itself
/// when no cut survives.
fn split_cluster(
    region: &Region,
    half_width: f64,
    debris_area: f64,
    neck_ratio: f64,
) -> Vec<Region> {
    let mask = &region.mask;
    let (w, h) = (mask.width(), mask.height());
    let dt = distance_transform(mask);
    let mut pieces = vec![region.clone()];
    for core_level in [0.65, 0.8, 0.5] {
        let core = Mask::from_vec(
            w,
            h,
            dt.iter().map(|&d| d >= core_level * half_width).collect(),
        )
        .unwrap_or_else(|| Mask::new(w, h));
        let cores = connected_components(&core);
        if cores.len() < 2 {
            continue;
        }
        let found = grow_seeds(region, &dt, &cores, |labels| {
            merge_non_necks(labels, &dt, w, h, cores.len(), debris_area, neck_ratio);
        });
        if found.len() > 1 {
            pieces = found;
            break;
        }
    }
    pieces
}

/// An object whose distance transform reaches this many typical
/// half-widths is a blob, not touching chromosomes (see
/// `SplitContext::separate`).
const BLOB_HALF_WIDTHS: f64 = 6.0;

/// The seam cut raises the threshold from the mask's level to an object's
/// peak in this many steps (see `SplitContext::split_at_seam`).
const SEAM_STEPS: usize = 12;

/// More seeds than this at one level are bands, not chromosomes lying side
/// by side (see `SplitContext::split_at_seam`).
const MAX_SEAM_SEEDS: usize = 6;

/// The smallest chromosome's area as a share of the cell's median object
/// area (chromosome 21 is about a third of the length of the median one).
const MIN_CHROMOSOME_OF_MEDIAN: f64 = 0.3;

/// A medial axis turning this much (radians) within a chromosome width is a
/// corner where two chromosomes meet, not a bend of one (about 63°).
const CUT_TURN: f64 = 1.1;

/// Two pieces are joined again only if the axis of their union turns less
/// than this (radians) within a width anywhere (about 35°).
const JOIN_TURN: f64 = 0.6;

/// ...and, where the pieces share only a short boundary, the union's width
/// nowhere falls below this share of its median (no neck between them).
const JOIN_NECK: f64 = 0.6;

/// ...and the union is no thicker than this many typical half-widths (two
/// chromosomes side by side are twice as thick).
const JOIN_THICKNESS: f64 = 1.5;

/// Which candidate objects [`sort_components`] tries to cut apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Separation {
    /// None: the objects are final.
    Never,
    /// Only chromosomes lying side by side, along the pale seam between
    /// them, when the stain is given (the learned segmenter's instances:
    /// its maps separate most touching chromosomes, not all of these).
    Seams,
    /// Those too large, too thick or branched for one chromosome.
    Suspicious,
    /// Every one (the classical segmenter: touching chromosomes are one
    /// component until cut).
    All,
}

/// What the separation of touching chromosomes knows about the cell.
struct SplitContext<'a> {
    half_width: f64,
    /// The median area of the cell's objects.
    median_area: f64,
    debris_area: f64,
    /// Larger than the longest chromosome should be.
    max_area: f64,
    params: &'a BuiltinParams,
    stain: Option<&'a Stain>,
}

impl SplitContext<'_> {
    /// Too large, too thick or branched for one chromosome.
    fn suspicious(&self, region: &Region, max_dt: f64) -> bool {
        (region.area() as f64) > self.max_area
            || max_dt > 1.8 * self.half_width
            || skeleton::significant_junctions(
                &skeleton::thin(&region.mask),
                (3.0 * self.half_width).round() as usize,
            ) > 0
    }

    /// Splits a component (`max_dt`: the peak of its distance transform)
    /// into chromosomes. Returns the pieces and whether
    /// the component still looks like a cluster that could not be cut.
    fn separate(&self, region: &Region, max_dt: f64) -> (Vec<Region>, bool) {
        // A blob many chromosome widths thick (stain, a burst nucleus) is no
        // cluster of chromosomes the cuts below could part: it stays whole
        // and flagged, instead of thinning a huge skeleton for seconds.
        if max_dt > BLOB_HALF_WIDTHS * self.half_width {
            return (vec![region.clone()], true);
        }
        let concavity = ConcavityParams {
            width_px: 2.0 * self.half_width,
            min_depth: self.params.notch_depth,
            min_facing_depth: self.params.facing_notch_depth,
            max_length_to_depth: self.params.notch_length_to_depth,
            min_piece_area: self.min_piece_area(),
            single_notch_depth: self.params.single_notch_depth,
            single_notch_length: self.params.single_notch_length,
        };
        let mut out = Vec::new();
        let mut unresolved = false;
        for piece in cut_at_concavities(region, &concavity, 4) {
            let branched = skeleton::significant_junctions(
                &skeleton::thin(&piece.mask),
                (3.0 * self.half_width).round() as usize,
            ) > 0;
            let too_thick = max_distance(&piece.mask) > 1.8 * self.half_width;
            let parts = if branched || too_thick {
                split_cluster(
                    &piece,
                    self.half_width,
                    self.debris_area,
                    self.params.neck_ratio,
                )
            } else {
                vec![piece.clone()]
            };
            unresolved |= parts.len() == 1 && (branched || too_thick);
            for part in parts {
                for piece in self.cut_along_axis(&part, 3) {
                    match self.split_at_seam(&piece) {
                        Some(sides) => out.extend(sides),
                        None => out.push(piece),
                    }
                }
            }
        }
        let out = self.reconcile(out);
        unresolved |= out.iter().any(|p| p.area() as f64 > self.max_area);
        (out, unresolved)
    }

    /// Two chromosomes lying side by side fuse into one object in the mask,
    /// but the stain along the line where they meet is pale. Raises the
    /// threshold inside the object step by step (twelfths of the way from
    /// the mask's level to the object's peak); wherever the object falls
    /// into two or more seeds larger than one dark band, grows them back
    /// over the object by a watershed of the density. Two neighbouring
    /// pieces stay apart only where their shared boundary is a seam: longer
    /// than a cut across one chromosome could be (`seam_length` typical
    /// widths), with both pieces a chromosome's size and width (not two
    /// chromatids of one chromosome); the rest merge back, shortest
    /// boundary first, so a pale band across a chromosome is never a cut.
    /// The lowest level that leaves pieces apart wins.
    fn split_at_seam(&self, region: &Region) -> Option<Vec<Region>> {
        let stain = self.stain?;
        let min_piece = self.min_piece_area();
        // Two chromosomes side by side are never larger than two of the
        // longest; a larger object is a cluster this cut cannot resolve.
        let area = region.area() as f64;
        if area < 2.0 * min_piece || area > 2.0 * self.max_area {
            return None;
        }
        let (w, h) = (region.mask.width(), region.mask.height());
        let (bx, by) = (region.bbox.x, region.bbox.y);
        let local: Vec<f64> = (0..w * h)
            .map(|i| {
                let (x, y) = ((bx + i % w) as i64, (by + i / w) as i64);
                match (region.mask.data()[i], stain.flat.get(x, y)) {
                    (true, Some(v)) => f64::from(v),
                    _ => 0.0,
                }
            })
            .collect();
        let peak = local.iter().copied().fold(0.0, f64::max);
        let base = f64::from(stain.level);
        // A seed is a good part of a chromosome, not one dark band.
        let seed_area = 1.5 * self.debris_area;
        for step in 1..SEAM_STEPS {
            let level = base + (peak - base) * step as f64 / SEAM_STEPS as f64;
            let core = Mask::from_vec(w, h, local.iter().map(|&d| d >= level).collect())?;
            let seeds: Vec<Region> = connected_components(&core)
                .into_iter()
                .filter(|c| c.area() as f64 >= seed_area)
                .collect();
            if seeds.len() < 2 {
                continue;
            }
            if seeds.len() > MAX_SEAM_SEEDS {
                // Past the level of whole chromosomes: only bands now.
                break;
            }
            let pieces = grow_seeds(region, &local, &seeds, |labels| {
                self.merge_unless_seam(labels, w, h, seeds.len());
            });
            if pieces.len() > 1 {
                return Some(pieces);
            }
        }
        None
    }

    /// Merges neighbouring labels, the shortest shared boundary first, until
    /// every remaining one is a seam (see [`Self::split_at_seam`]) between
    /// two pieces each a chromosome's size and width.
    fn merge_unless_seam(&self, labels: &mut [u32], w: usize, h: usize, n: usize) {
        let width = 2.0 * self.half_width;
        let min_piece = self.min_piece_area();
        let thickness = |labels: &[u32], l: usize| {
            let data = labels.iter().map(|&v| v as usize == l).collect();
            Mask::from_vec(w, h, data).map_or(0.0, |m| max_distance(&m))
        };
        let mut area = vec![0usize; n + 1];
        for &l in labels.iter() {
            area[l as usize] += 1;
        }
        let mut thick: Vec<f64> = (0..=n)
            .map(|l| {
                if l == 0 || area[l] == 0 {
                    0.0
                } else {
                    thickness(labels, l)
                }
            })
            .collect();
        loop {
            let shared = shared_boundaries(labels, w, h);
            // The weakest link first: the shortest boundary relative to a seam.
            let weakest = shared
                .iter()
                .filter(|&(&(a, b), &len)| {
                    let (a, b) = (a as usize, b as usize);
                    let small = (area[a] as f64) < min_piece || (area[b] as f64) < min_piece;
                    let thin = thick[a].min(thick[b]) < 0.6 * self.half_width;
                    small || thin || (len as f64) < self.params.seam_length * width
                })
                .min_by_key(|&(_, &len)| len);
            let Some((&(a, b), _)) = weakest else { return };
            for l in labels.iter_mut() {
                if *l == b {
                    *l = a;
                }
            }
            let (a, b) = (a as usize, b as usize);
            area[a] += std::mem::take(&mut area[b]);
            thick[b] = 0.0;
            thick[a] = thickness(labels, a);
        }
    }

    fn min_piece_area(&self) -> f64 {
        self.debris_area
            .max(2.0 * self.half_width * self.half_width)
    }

    /// Cuts an object too large for one chromosome across its medial axis
    /// (see [`Self::axis_cut`]), recursing while a piece is still too large.
    fn cut_along_axis(&self, region: &Region, depth: usize) -> Vec<Region> {
        if depth == 0 || (region.area() as f64) <= self.max_area {
            return vec![region.clone()];
        }
        match self.axis_cut(region) {
            Some((_, parts)) => parts
                .iter()
                .flat_map(|part| self.cut_along_axis(part, depth - 1))
                .collect(),
            None => vec![region.clone()],
        }
    }

    /// The best cut across the medial axis, where two chromosomes most likely
    /// meet end to end: the narrowest interior point, favouring sharp turns
    /// of the axis. Returns its score (smoothed width over the median width
    /// minus 0.6 × the turn in radians: lower is more convincing) and the two
    /// parts; pixels go to the side of the cut their nearest axis point is on.
    fn axis_cut(&self, region: &Region) -> Option<(f64, [Region; 2])> {
        let axis = geometry::medial_axis(region);
        let n = axis.len();
        let widths = geometry::width_profile(region, &axis);
        let median_w = upper_median(&widths).unwrap_or(1.0).max(1.0);
        let margin =
            ((self.debris_area / median_w).ceil() as usize).max((1.2 * median_w).round() as usize);
        if n < 2 * margin + 3 {
            return None;
        }
        let reach = (median_w.round() as usize).max(3);
        let turn = |i: usize| turn_at(&axis, i, reach);
        let smooth_w = crate::domain::bands::gaussian_smooth(&widths, 1.0);
        let score = |i: usize| smooth_w[i] / median_w - 0.6 * turn(i);
        let cut = (margin..n - margin).min_by(|&a, &b| score(a).total_cmp(&score(b)))?;
        Some((score(cut), split_at_axis_point(region, &axis, cut)?))
    }

    /// The smallest chromosome (21, Y) in pixels: a piece smaller than this
    /// is no chromosome of its own.
    fn min_chromosome_area(&self) -> f64 {
        (MIN_CHROMOSOME_OF_MEDIAN * self.median_area).max(self.min_piece_area())
    }

    /// Checks the pieces one component was cut into as hypotheses about
    /// chromosomes: a piece whose axis turns abruptly is two chromosomes
    /// meeting at an angle and is cut there (see [`Self::cut_at_turn`]);
    /// then two neighbouring pieces that together make one clean chromosome
    /// (see [`Self::continues`]) are joined again, so a cut through a
    /// chromosome at a centromere, a pale band or where another one touches
    /// its side is undone.
    fn reconcile(&self, pieces: Vec<Region>) -> Vec<Region> {
        let pieces: Vec<Region> = pieces
            .iter()
            .flat_map(|piece| self.cut_at_turn(piece, 2))
            .collect();
        self.join_continuations(pieces)
    }

    /// Cuts `region` where its medial axis turns by at least [`CUT_TURN`]
    /// within a chromosome width, when both parts are chromosome-sized
    /// (recursing `depth` levels): chromosomes bend smoothly, two meeting
    /// end to end or end to side at an angle make a corner.
    fn cut_at_turn(&self, region: &Region, depth: usize) -> Vec<Region> {
        let min_area = self.min_chromosome_area();
        if depth == 0 || (region.area() as f64) < 2.0 * min_area {
            return vec![region.clone()];
        }
        let axis = geometry::medial_axis(region);
        let width = 2.0 * self.half_width;
        let margin = (min_area / width).ceil() as usize;
        let Some((cut, turn)) = sharpest_turn(&axis, width, margin) else {
            return vec![region.clone()];
        };
        if turn < CUT_TURN {
            return vec![region.clone()];
        }
        match split_at_axis_point(region, &axis, cut) {
            Some(parts) if parts.iter().all(|p| p.area() as f64 >= min_area) => parts
                .iter()
                .flat_map(|part| self.cut_at_turn(part, depth - 1))
                .collect(),
            _ => vec![region.clone()],
        }
    }

    /// Whether `union` of two neighbouring pieces is one clean chromosome:
    /// no larger than the longest, no thicker than one, unbranched, and its
    /// axis nowhere turning by [`JOIN_TURN`] or more within a width.
    fn continues(&self, union: &Region) -> bool {
        let width = 2.0 * self.half_width;
        (union.area() as f64) <= self.max_area
            && max_distance(&union.mask) <= JOIN_THICKNESS * self.half_width
            && skeleton::significant_junctions(
                &skeleton::thin(&union.mask),
                (3.0 * self.half_width).round() as usize,
            ) == 0
            && sharpest_turn(&geometry::medial_axis(union), width, 0)
                .is_none_or(|(_, turn)| turn < JOIN_TURN)
    }

    /// No neck along the axis of `region`: its smoothed width nowhere in the
    /// interior falls below [`JOIN_NECK`] of its median width.
    fn neck_free(&self, region: &Region) -> bool {
        let axis = geometry::medial_axis(region);
        let widths =
            crate::domain::bands::gaussian_smooth(&geometry::width_profile(region, &axis), 1.0);
        let n = widths.len();
        let end = (2.0 * self.half_width).round() as usize;
        let Some(median) = upper_median(&widths).filter(|_| n > 2 * end) else {
            return false;
        };
        let median = median.max(1.0);
        widths[end..n - end]
            .iter()
            .all(|&w| w >= JOIN_NECK * median)
    }

    /// Joins neighbouring pieces with no neck between them (a shared
    /// boundary at least `neck_ratio` of the narrower piece's width, or
    /// failing that a union whose width never narrows, see
    /// [`Self::neck_free`]: a third piece may cut into the boundary) and
    /// that together [`Self::continues`], the widest boundary first, until
    /// no pair is left.
    fn join_continuations(&self, pieces: Vec<Region>) -> Vec<Region> {
        // Each piece with a stable id and its width; a pair that failed the
        // test fails it again until one of the two changes, so it is kept.
        let mut pieces: Vec<(usize, Region, f64)> = pieces
            .into_iter()
            .enumerate()
            .map(|(id, p)| {
                let width = 2.0 * max_distance(&p.mask);
                (id, p, width)
            })
            .collect();
        let mut next_id = pieces.len();
        let mut rejected = std::collections::HashSet::new();
        while pieces.len() >= 2 {
            let x0 = pieces.iter().map(|p| p.1.bbox.x).min().unwrap_or(0);
            let y0 = pieces.iter().map(|p| p.1.bbox.y).min().unwrap_or(0);
            let x1 = pieces.iter().map(|p| p.1.bbox.x + p.1.bbox.w).max();
            let y1 = pieces.iter().map(|p| p.1.bbox.y + p.1.bbox.h).max();
            let (w, h) = (x1.unwrap_or(0) - x0, y1.unwrap_or(0) - y0);
            let mut labels = vec![0u32; w * h];
            for (k, (_, piece, _)) in pieces.iter().enumerate() {
                for (x, y) in piece.pixels() {
                    labels[(y - y0) * w + (x - x0)] = k as u32 + 1;
                }
            }
            let mut pairs: Vec<(f64, usize, usize)> = shared_boundaries(&labels, w, h)
                .into_iter()
                .map(|((a, b), len)| {
                    let (a, b) = (a as usize - 1, b as usize - 1);
                    let narrower = pieces[a].2.min(pieces[b].2).max(1.0);
                    (len as f64 / narrower, a, b)
                })
                .filter(|&(_, a, b)| !rejected.contains(&id_pair(&pieces, a, b)))
                .collect();
            pairs.sort_by(|p, q| q.0.total_cmp(&p.0));
            let joined = pairs.into_iter().find_map(|(ratio, a, b)| {
                let mut pixels = pieces[a].1.pixels();
                pixels.extend(pieces[b].1.pixels());
                let union = Region::from_pixels(&pixels);
                let joins = self.continues(&union)
                    && (ratio >= self.params.neck_ratio || self.neck_free(&union));
                if !joins {
                    rejected.insert(id_pair(&pieces, a, b));
                }
                joins.then_some((a, b, union))
            });
            let Some((a, b, union)) = joined else {
                break;
            };
            let width = 2.0 * max_distance(&union.mask);
            pieces[a] = (next_id, union, width);
            next_id += 1;
            pieces.remove(b);
        }
        pieces.into_iter().map(|(_, piece, _)| piece).collect()
    }
}

/// The ids of pieces `a` and `b`, smaller first.
fn id_pair(pieces: &[(usize, Region, f64)], a: usize, b: usize) -> (usize, usize) {
    let (i, j) = (pieces[a].0, pieces[b].0);
    (i.min(j), i.max(j))
}

/// The interior point of `axis` (at least `margin` points from either end)
/// where it turns most within `width` on either side, and that turn in
/// radians; `None` when the axis is too short.
fn sharpest_turn(axis: &[(f64, f64)], width: f64, margin: usize) -> Option<(usize, f64)> {
    let n = axis.len();
    let reach = (width.round() as usize).max(3);
    let margin = margin.max(reach);
    if n < 2 * margin + 1 {
        return None;
    }
    (margin..n - margin)
        .map(|i| (i, turn_at(axis, i, reach)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

/// How much `axis` turns at point `i` (radians, 0 to π): the angle between
/// the chords from `reach` points before it and to `reach` points after it,
/// clamped to the ends.
fn turn_at(axis: &[(f64, f64)], i: usize, reach: usize) -> f64 {
    let a = axis[i.saturating_sub(reach)];
    let b = axis[i];
    let c = axis[(i + reach).min(axis.len() - 1)];
    let (ux, uy) = (b.0 - a.0, b.1 - a.1);
    let (vx, vy) = (c.0 - b.0, c.1 - b.1);
    (ux * vy - uy * vx).atan2(ux * vx + uy * vy).abs()
}

/// The upper median (the middle value, the higher of the two middle ones
/// for an even count); `None` for no values.
fn upper_median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied()
}

/// `region` cut across its `axis` at point `cut`: pixels go to the side of
/// the cut their nearest axis point is on, crumbs to the main piece.
fn split_at_axis_point(region: &Region, axis: &[(f64, f64)], cut: usize) -> Option<[Region; 2]> {
    AxisSides::of(region, axis).split(cut)
}

/// The pixels of a region with the index of the nearest point of its axis
/// each, to cut it across the axis at several points without looking the
/// nearest points up again.
pub(crate) struct AxisSides {
    pixels: Vec<((usize, usize), usize)>,
}

impl AxisSides {
    pub(crate) fn of(region: &Region, axis: &[(f64, f64)]) -> Self {
        let pixels = region
            .pixels()
            .into_iter()
            .map(|(x, y)| {
                let (px, py) = (x as f64, y as f64);
                let nearest = (0..axis.len())
                    .min_by(|&a, &b| {
                        let da = (axis[a].0 - px).powi(2) + (axis[a].1 - py).powi(2);
                        let db = (axis[b].0 - px).powi(2) + (axis[b].1 - py).powi(2);
                        da.total_cmp(&db)
                    })
                    .unwrap_or(0);
                ((x, y), nearest)
            })
            .collect();
        Self { pixels }
    }

    /// The two sides of the cut at axis point `cut` (see
    /// [`split_at_axis_point`]); `None` when one is empty.
    pub(crate) fn split(&self, cut: usize) -> Option<[Region; 2]> {
        let (mut first, mut second) = (Vec::new(), Vec::new());
        for &(p, nearest) in &self.pixels {
            if nearest < cut {
                first.push(p);
            } else {
                second.push(p);
            }
        }
        if first.is_empty() || second.is_empty() {
            return None;
        }
        Some([keep_main_piece(&first), keep_main_piece(&second)])
    }
}

/// The region of `pixels`, whose 4-connected crumbs join the largest piece.
fn keep_main_piece(pixels: &[(usize, usize)]) -> Region {
    let part = Region::from_pixels(pixels);
    let mut pieces: Vec<Region> = connected_components(&part.mask)
        .into_iter()
        .map(|piece| {
            geometry::contour::region_from_local(
                &piece.mask,
                crate::domain::raster::BBox {
                    x: part.bbox.x + piece.bbox.x,
                    y: part.bbox.y + piece.bbox.y,
                    w: piece.bbox.w,
                    h: piece.bbox.h,
                },
            )
        })
        .collect();
    pieces.sort_by_key(|r| std::cmp::Reverse(r.area()));
    if pieces.is_empty() {
        return part;
    }
    let mut main = pieces.remove(0).pixels();
    for crumb in pieces {
        main.extend(crumb.pixels());
    }
    Region::from_pixels(&main)
}

/// Grows `seeds` (local regions of `region`'s mask, labelled 1.. in order)
/// over the mask by a watershed of `height` (highest first), lets `merge`
/// join labels, and returns the pieces left, in image coordinates.
fn grow_seeds(
    region: &Region,
    height: &[f64],
    seeds: &[Region],
    merge: impl FnOnce(&mut [u32]),
) -> Vec<Region> {
    let (w, h) = (region.mask.width(), region.mask.height());
    let mut markers = vec![0u32; w * h];
    for (k, seed) in seeds.iter().enumerate() {
        for (x, y) in seed.pixels() {
            markers[y * w + x] = k as u32 + 1;
        }
    }
    let mut labels = watershed(&region.mask, height, &markers);
    merge(&mut labels);
    let mut by_label: Vec<Vec<(usize, usize)>> = vec![Vec::new(); seeds.len() + 1];
    for (i, &l) in labels.iter().enumerate() {
        if l != 0 {
            by_label[l as usize].push((region.bbox.x + i % w, region.bbox.y + i / w));
        }
    }
    by_label
        .into_iter()
        .filter(|p| !p.is_empty())
        .map(|p| Region::from_pixels(&p))
        .collect()
}

/// Shared boundary lengths (4-neighbour pixel pairs) between labels, keyed by
/// the label pair, smaller first; 0 is the background.
fn shared_boundaries(
    labels: &[u32],
    w: usize,
    h: usize,
) -> std::collections::BTreeMap<(u32, u32), usize> {
    let mut shared = std::collections::BTreeMap::new();
    for y in 0..h {
        for x in 0..w {
            let a = labels[y * w + x];
            if a == 0 {
                continue;
            }
            for j in [
                (x + 1 < w).then(|| y * w + x + 1),
                (y + 1 < h).then(|| (y + 1) * w + x),
            ]
            .into_iter()
            .flatten()
            {
                let b = labels[j];
                if b != 0 && b != a {
                    *shared.entry((a.min(b), a.max(b))).or_default() += 1;
                }
            }
        }
    }
    shared
}

/// Repeatedly merges the pair of adjacent labels whose shared boundary is
/// widest relative to the narrower of the two (no neck between them), and
/// absorbs pieces too small to be chromosomes into their widest neighbour.
fn merge_non_necks(
    labels: &mut [u32],
    dt: &[f64],
    w: usize,
    h: usize,
    n: usize,
    debris_area: f64,
    neck_ratio: f64,
) {
    loop {
        let mut area = vec![0usize; n + 1];
        let mut thick = vec![0f64; n + 1];
        for (i, &l) in labels.iter().enumerate() {
            area[l as usize] += 1;
            thick[l as usize] = thick[l as usize].max(dt[i]);
        }
        let shared = shared_boundaries(labels, w, h);
        let mut best: Option<((u32, u32), f64)> = None;
        for (&(a, b), &len) in &shared {
            let narrower = (2.0 * thick[a as usize])
                .min(2.0 * thick[b as usize])
                .max(1.0);
            let mut ratio = len as f64 / narrower;
            if (area[a as usize] as f64) < debris_area || (area[b as usize] as f64) < debris_area {
                ratio += 10.0;
            }
            if ratio >= neck_ratio && best.is_none_or(|(_, r)| ratio > r) {
                best = Some(((a, b), ratio));
            }
        }
        let Some(((a, b), _)) = best else { return };
        for l in labels.iter_mut() {
            if *l == b {
                *l = a;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draw_rod(img: &mut GrayImage, x0: f64, y0: f64, x1: f64, y1: f64, half: f64) {
        for y in 0..img.height() {
            for x in 0..img.width() {
                let (px, py) = (x as f64, y as f64);
                let (dx, dy) = (x1 - x0, y1 - y0);
                let t = (((px - x0) * dx + (py - y0) * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
                let d = ((px - x0 - t * dx).powi(2) + (py - y0 - t * dy).powi(2)).sqrt();
                if d <= half {
                    img.set(x as i64, y as i64, 180);
                }
            }
        }
    }

    /// Six free rods that give the cell its scale, in rows 106 to 154.
    fn scale_rods(img: &mut GrayImage) {
        for k in 0..6 {
            let x = 10.0 + k as f64 * 22.0;
            draw_rod(img, x, 110.0, x + 4.0, 150.0, 4.0);
        }
    }

    #[test]
    fn separate_rods_debris_and_a_nucleus() {
        let mut img = GrayImage::new(300, 200, 10);
        let mut expected = 0;
        for k in 0..8 {
            let x = 20.0 + k as f64 * 25.0;
            draw_rod(&mut img, x, 20.0, x + 5.0, 60.0 + k as f64 * 3.0, 4.0);
            expected += 1;
        }
        for (x, y) in [
            (250, 20),
            (251, 20),
            (250, 21),
            (251, 21),
            (252, 21),
            (251, 22),
        ] {
            img.set(x, y, 200); // a speck of debris
        }
        for y in 110..190i64 {
            for x in 180..280i64 {
                if (x - 230).pow(2) + (y - 150).pow(2) < 1400 {
                    img.set(x, y, 160);
                }
            }
        }
        let seg = segment(&img, Modality::Fluorescence, &BuiltinParams::default());
        assert_eq!(seg.objects.len(), expected, "{:?}", seg.warnings);
        assert!(
            seg.rejected
                .iter()
                .any(|r| r.reason == RejectReason::Nucleus)
        );
        assert!(
            seg.rejected
                .iter()
                .any(|r| r.reason == RejectReason::Debris)
        );
    }

    #[test]
    fn blank_and_tiny_images_give_warnings() {
        for (w, h) in [(0, 0), (1, 1), (50, 50)] {
            let seg = segment(
                &GrayImage::new(w, h, 0),
                Modality::Fluorescence,
                &BuiltinParams::default(),
            );
            assert!(seg.objects.is_empty());
            assert!(!seg.warnings.is_empty());
        }
    }

    #[test]
    fn a_blob_many_widths_thick_stays_whole_and_flagged() {
        let mut img = GrayImage::new(320, 320, 10);
        for k in 0..6 {
            let x = 10.0 + k as f64 * 22.0;
            draw_rod(&mut img, x, 260.0, x + 4.0, 300.0, 4.0);
        }
        // An L of stain 60 px thick: far too thick for chromosomes, and not
        // compact enough for a nucleus.
        for y in 20..230i64 {
            for x in 20..290i64 {
                if x < 80 || y >= 170 {
                    img.set(x, y, 170);
                }
            }
        }
        let seg = segment(&img, Modality::Fluorescence, &BuiltinParams::default());
        let blob: Vec<&SegmentedObject> = seg
            .objects
            .iter()
            .filter(|o| o.region.centroid().1 < 240.0)
            .collect();
        assert_eq!(
            blob.len(),
            1,
            "{:?}",
            blob.iter().map(|o| o.region.area()).collect::<Vec<_>>()
        );
        assert!(blob[0].notes.contains(&SegmentNote::PossibleCluster));
    }

    /// Pales a band across a vertical rod (rows `y0..y1` of columns `x0..=x1`).
    fn pale(img: &mut GrayImage, x0: i64, x1: i64, y0: i64, y1: i64, value: u8) {
        for y in y0..y1 {
            for x in x0..=x1 {
                if img.get(x, y).is_some_and(|v| v > value) {
                    img.set(x, y, value);
                }
            }
        }
    }

    #[test]
    fn rods_side_by_side_are_cut_along_the_pale_seam_and_pale_bands_are_not() {
        let mut img = GrayImage::new(260, 160, 10);
        scale_rods(&mut img);
        // Two rods touching along their length; the line where they meet is pale.
        draw_rod(&mut img, 30.0, 15.0, 30.0, 55.0, 4.0);
        draw_rod(&mut img, 39.0, 20.0, 39.0, 60.0, 4.0);
        pale(&mut img, 34, 35, 0, 100, 100);
        // One long rod with pale bands across it.
        draw_rod(&mut img, 120.0, 15.0, 120.0, 85.0, 4.0);
        for y0 in [25, 38, 51, 64] {
            pale(&mut img, 110, 130, y0, y0 + 3, 60);
        }
        let seg = segment(&img, Modality::Fluorescence, &BuiltinParams::default());
        let within = |x0: usize, x1: usize| {
            seg.objects
                .iter()
                .filter(|o| (x0..x1).contains(&(o.region.centroid().0 as usize)))
                .filter(|o| o.region.centroid().1 < 100.0)
                .map(|o| o.region.area())
                .collect::<Vec<_>>()
        };
        let pair = within(15, 60);
        assert_eq!(pair.len(), 2, "side by side: {pair:?}");
        assert!(pair.iter().all(|&a| a > 250), "{pair:?}");
        let banded = within(100, 140);
        assert_eq!(banded.len(), 1, "banded rod: {banded:?}");
    }

    /// Two rods meeting at `corner`: one from `start`, one `length` long
    /// leaving at `turn_deg` to the x axis (the first rod's direction when
    /// `start` and `corner` lie on one row).
    fn draw_bent_rod(
        img: &mut GrayImage,
        start: (f64, f64),
        corner: (f64, f64),
        length: f64,
        turn_deg: f64,
    ) {
        let turn = turn_deg.to_radians();
        let (ax, ay) = corner;
        draw_rod(img, start.0, start.1, ax, ay, 4.0);
        draw_rod(
            img,
            ax,
            ay,
            ax + length * turn.cos(),
            ay + length * turn.sin(),
            4.0,
        );
    }

    fn objects_above(seg: &Segmentation, y: f64) -> Vec<&SegmentedObject> {
        seg.objects
            .iter()
            .filter(|o| o.region.centroid().1 < y)
            .collect()
    }

    #[test]
    fn a_rod_whose_end_touches_the_side_of_another_leaves_that_one_whole() {
        let mut img = GrayImage::new(160, 160, 10);
        scale_rods(&mut img);
        // A T: the bar, and a stem whose end meets the bar's middle.
        draw_rod(&mut img, 20.0, 20.0, 100.0, 20.0, 4.0);
        draw_rod(&mut img, 60.0, 29.0, 62.0, 85.0, 4.0);
        let bar_area = {
            let mut bar = GrayImage::new(160, 160, 10);
            draw_rod(&mut bar, 20.0, 20.0, 100.0, 20.0, 4.0);
            bar.data().iter().filter(|&&v| v > 100).count() as f64
        };
        let seg = segment(&img, Modality::Fluorescence, &BuiltinParams::default());
        let top = objects_above(&seg, 100.0);
        let areas: Vec<usize> = top.iter().map(|o| o.region.area()).collect();
        assert_eq!(top.len(), 2, "{areas:?}");
        let bar = top
            .iter()
            .find(|o| o.region.centroid().1 < 30.0)
            .expect("the bar is one object");
        let share = bar.region.area() as f64 / bar_area;
        assert!((0.85..1.15).contains(&share), "{share} {areas:?}");
    }

    #[test]
    fn two_rods_meeting_end_to_end_at_an_angle_are_cut_at_the_corner() {
        let mut img = GrayImage::new(160, 160, 10);
        scale_rods(&mut img);
        // An L: the second rod carries on from the first's end, turned 95°.
        draw_bent_rod(&mut img, (30.0, 20.0), (70.0, 20.0), 38.0, 95.0);
        let seg = segment(&img, Modality::Fluorescence, &BuiltinParams::default());
        let top = objects_above(&seg, 100.0);
        let areas: Vec<usize> = top.iter().map(|o| o.region.area()).collect();
        assert_eq!(top.len(), 2, "{areas:?}");
        assert!(areas.iter().all(|&a| a > 200), "{areas:?}");
    }

    #[test]
    fn a_rod_bent_by_45_degrees_at_its_middle_is_not_cut() {
        let mut img = GrayImage::new(160, 160, 10);
        scale_rods(&mut img);
        // One chromosome bent at its centromere, well short of a corner: the
        // corner cut leaves it whole, and the join would put back a cut there.
        draw_bent_rod(&mut img, (25.0, 20.0), (60.0, 20.0), 35.0, 45.0);
        let seg = segment(&img, Modality::Fluorescence, &BuiltinParams::default());
        let top = objects_above(&seg, 100.0);
        assert_eq!(
            top.len(),
            1,
            "{:?}",
            top.iter().map(|o| o.region.area()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_cross_of_two_rods_is_cut() {
        let mut img = GrayImage::new(160, 160, 10);
        scale_rods(&mut img);
        // Two rods touching end to end at a right angle (an L shape).
        draw_rod(&mut img, 20.0, 20.0, 80.0, 20.0, 4.0);
        draw_rod(&mut img, 84.0, 24.0, 84.0, 90.0, 4.0);
        let seg = segment(&img, Modality::Fluorescence, &BuiltinParams::default());
        let split = seg
            .objects
            .iter()
            .filter(|o| o.notes.contains(&SegmentNote::SplitFromCluster))
            .count();
        assert!(seg.objects.len() >= 7, "{} objects", seg.objects.len());
        assert!(split >= 2 || seg.objects.len() == 8);
    }
}
