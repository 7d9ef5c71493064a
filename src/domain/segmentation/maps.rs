//! Chromosome instances from a learned segmenter's probability maps.
//!
//! Theory of operation: the model gives, per pixel, the probability of
//! *chromosome* (any chromosome, crossings included), of *boundary* (the
//! one-pixel rim of each chromosome, so where two touch there is a line of
//! boundary between them) and of *overlap* (two chromosomes cross).
//! 1. Seeds are the connected pieces of chromosome pixels that are neither
//!    boundary nor overlap: one per chromosome when the model has drawn the
//!    separating lines.
//! 2. Every seed grows back over the chromosome pixels by a watershed, low
//!    boundary probability first, so the rim goes to the nearest seed and a
//!    touching pair meets on the line the model drew.
//! 3. A crossing belongs to both chromosomes: each piece of overlap pixels is
//!    added to every instance that borders it.
//! 4. The instances then pass through the built-in segmenter's rules
//!    ([`sort_components`]): debris and interphase nuclei are set aside with
//!    their reason, and chromosomes lying side by side that the model left
//!    as one object are cut along the pale seam between them (by default;
//!    `MapParams::separation` may ask for more of the classical separation
//!    or none).
//!    The score of an instance is the built-in score times its mean chromosome
//!    probability, so a shaky object ranks low.

use crate::domain::raster::{Mask, Region};

use super::Segmentation;
use super::builtin::{BuiltinParams, Separation, Stain, sort_components};
use super::components::{connected_components, neighbours4, watershed};

/// Per-pixel probabilities from a segmentation model, row-major, one plane
/// each of `width * height` values in 0..=1.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbabilityMaps {
    pub width: usize,
    pub height: usize,
    pub chromosome: Vec<f32>,
    pub boundary: Vec<f32>,
    pub overlap: Vec<f32>,
}

/// How instances are drawn from the maps.
#[derive(Debug, Clone, PartialEq)]
pub struct MapParams {
    /// A pixel is chromosome above this probability.
    pub chromosome_level: f32,
    /// ... and a seed pixel when its boundary probability is below this.
    pub boundary_level: f32,
    /// Overlap above this probability.
    pub overlap_level: f32,
    /// Seeds smaller than this many pixels are not chromosomes of their own
    /// (the watershed gives their pixels to a neighbour).
    pub min_seed_px: usize,
    /// Which objects the classical separation may still cut.
    pub separation: Separation,
    /// Debris and nucleus rules (and the separation, when on).
    pub builtin: BuiltinParams,
}

impl Default for MapParams {
    fn default() -> Self {
        Self {
            chromosome_level: 0.5,
            boundary_level: 0.5,
            overlap_level: 0.5,
            min_seed_px: 15,
            separation: Separation::Seams,
            builtin: BuiltinParams::default(),
        }
    }
}

/// Why maps could not be read as instances.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapsError {
    #[error("probability maps of {width}x{height} need {expected} values per plane, got {got}")]
    WrongSize {
        width: usize,
        height: usize,
        expected: usize,
        got: usize,
    },
    #[error("probability maps hold values that are not numbers between 0 and 1")]
    NotProbabilities,
}

impl ProbabilityMaps {
    /// Checks plane sizes and values.
    ///
    /// # Errors
    /// When a plane has the wrong length or a value outside 0..=1 (NaN included).
    pub fn validate(&self) -> Result<(), MapsError> {
        let expected = self.width * self.height;
        for plane in [&self.chromosome, &self.boundary, &self.overlap] {
            if plane.len() != expected {
                return Err(MapsError::WrongSize {
                    width: self.width,
                    height: self.height,
                    expected,
                    got: plane.len(),
                });
            }
            if plane.iter().any(|v| !(0.0..=1.0).contains(v)) {
                return Err(MapsError::NotProbabilities);
            }
        }
        Ok(())
    }
}

/// Turns probability maps into a segmentation (see the module notes). With
/// the `stain` of the image, objects may still be cut as
/// `params.separation` says (by default only along a pale seam between
/// chromosomes lying side by side).
///
/// # Errors
/// When the maps are malformed ([`ProbabilityMaps::validate`]).
pub fn instances_from_maps(
    maps: &ProbabilityMaps,
    params: &MapParams,
    stain: Option<&Stain>,
) -> Result<Segmentation, MapsError> {
    maps.validate()?;
    let (w, h) = (maps.width, maps.height);
    let mut result = Segmentation::default();
    if w < 3 || h < 3 {
        result.warnings.push("image too small to segment".into());
        return Ok(result);
    }
    let foreground: Vec<bool> = maps
        .chromosome
        .iter()
        .map(|&p| p >= params.chromosome_level)
        .collect();
    let overlap: Vec<bool> = maps
        .overlap
        .iter()
        .zip(&foreground)
        .map(|(&p, &f)| f && p >= params.overlap_level)
        .collect();
    let seeds: Vec<bool> = (0..w * h)
        .map(|i| foreground[i] && !overlap[i] && maps.boundary[i] < params.boundary_level)
        .collect();
    let fg_mask = Mask::from_vec(w, h, foreground).unwrap_or_else(|| Mask::new(w, h));
    let seed_mask = Mask::from_vec(w, h, seeds).unwrap_or_else(|| Mask::new(w, h));

    let mut markers = vec![0u32; w * h];
    let mut next = 0u32;
    for seed in connected_components(&seed_mask) {
        if seed.area() < params.min_seed_px {
            continue;
        }
        next += 1;
        for (x, y) in seed.pixels() {
            markers[y * w + x] = next;
        }
    }
    // Flood low boundary probability first (the watershed takes the highest).
    let height: Vec<f64> = maps.boundary.iter().map(|&b| 1.0 - f64::from(b)).collect();
    let labels = watershed(&fg_mask, &height, &markers);

    let mut pixels: Vec<Vec<usize>> = vec![Vec::new(); next as usize + 1];
    // Chromosome pixels no seed reached (a blob that is all rim) become
    // objects of their own, so nothing the model saw is dropped.
    let mut unreached = Mask::new(w, h);
    for (i, &l) in labels.iter().enumerate() {
        if l != 0 {
            pixels[l as usize].push(i);
        } else if fg_mask.data()[i] {
            unreached.data_mut()[i] = true;
        }
    }
    // A chromosome crossing another is cut by the crossing into two arms
    // with seeds of their own: join the arms that leave a crossing on
    // opposite sides, then give the crossing to every chromosome it touches.
    let overlap_mask = Mask::from_vec(w, h, overlap).unwrap_or_else(|| Mask::new(w, h));
    let mut parent: Vec<usize> = (0..pixels.len()).collect();
    let mut crossings: Vec<(Vec<usize>, Vec<u32>)> = Vec::new();
    for piece in connected_components(&overlap_mask) {
        let piece_pixels: Vec<usize> = piece.pixels().iter().map(|&(x, y)| y * w + x).collect();
        let mut touching: Vec<u32> = Vec::new();
        for &i in &piece_pixels {
            for j in neighbours4(i, w, h) {
                let l = labels[j];
                if l != 0 && !overlap_mask.data()[j] && !touching.contains(&l) {
                    touching.push(l);
                }
            }
        }
        if touching.len() >= 3 {
            for (a, b) in opposite_arms(&piece, &touching, &pixels, w) {
                let (ra, rb) = (find(&mut parent, a as usize), find(&mut parent, b as usize));
                parent[ra] = rb;
            }
        }
        crossings.push((piece_pixels, touching));
    }
    let mut merged: Vec<Vec<usize>> = vec![Vec::new(); pixels.len()];
    for (l, p) in pixels.into_iter().enumerate() {
        let root = find(&mut parent, l);
        merged[root].extend(p);
    }
    for (piece_pixels, touching) in crossings {
        let mut roots: Vec<usize> = touching
            .iter()
            .map(|&l| find(&mut parent, l as usize))
            .collect();
        roots.sort_unstable();
        roots.dedup();
        for root in roots {
            merged[root].extend(&piece_pixels);
        }
    }
    let pixels = merged;
    let mut regions: Vec<Region> = pixels
        .into_iter()
        .filter(|p| !p.is_empty())
        .map(|mut p| {
            p.sort_unstable();
            p.dedup();
            let xy: Vec<(usize, usize)> = p.iter().map(|&i| (i % w, i / w)).collect();
            Region::from_pixels(&xy)
        })
        .collect();
    regions.extend(connected_components(&unreached));

    let mut result = sort_components(
        regions,
        w,
        h,
        &params.builtin,
        params.separation,
        // A stain of another size would put the seams in the wrong place.
        stain.filter(|s| (s.flat.width(), s.flat.height()) == (w, h)),
        result,
    );
    for object in &mut result.objects {
        let pixels = object.region.pixels();
        let mean = pixels
            .iter()
            .map(|&(x, y)| f64::from(maps.chromosome[y * w + x]))
            .sum::<f64>()
            / pixels.len().max(1) as f64;
        object.score = (object.score * mean).clamp(0.0, 1.0);
    }
    Ok(result)
}

/// Adds to a learned segmentation what a classical pass over the same
/// spread set aside (debris, nuclei, pieces cut by the border) where the
/// learned one kept nothing, so that an object the model treated as
/// background is still listed with its reason: nothing is silently dropped.
/// A classical reject counts as covered when most of its pixels lie in
/// learned objects.
pub fn add_uncovered_rejects(learned: &mut Segmentation, classical: Segmentation) {
    for reject in classical.rejected {
        let area = reject.region.area().max(1);
        let covered: usize = learned
            .objects
            .iter()
            .map(|o| o.region.intersection(&reject.region))
            .sum();
        if covered * 2 < area {
            learned.rejected.push(reject);
        }
    }
    learned.sort();
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// Pairs of arms (instance labels) that leave a crossing on opposite sides:
/// the direction of each arm is taken from the crossing's centre to the
/// arm's pixels near it; the most nearly opposite pair is joined, then the
/// next pair if it is also roughly opposite (an X has two, a crossing near a
/// chromosome's end one).
fn opposite_arms(
    crossing: &Region,
    arms: &[u32],
    pixels: &[Vec<usize>],
    w: usize,
) -> Vec<(u32, u32)> {
    let (cx, cy) = crossing.centroid();
    let radius = 2.0 * (crossing.area() as f64).sqrt() + 6.0;
    let directions: Vec<Option<(f64, f64)>> = arms
        .iter()
        .map(|&l| {
            let (mut sx, mut sy, mut n) = (0.0, 0.0, 0usize);
            for &i in &pixels[l as usize] {
                let (dx, dy) = ((i % w) as f64 - cx, (i / w) as f64 - cy);
                if dx.hypot(dy) <= radius {
                    sx += dx;
                    sy += dy;
                    n += 1;
                }
            }
            let len = sx.hypot(sy);
            (n > 0 && len > 1e-9).then(|| (sx / len, sy / len))
        })
        .collect();
    let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
    for a in 0..arms.len() {
        for b in a + 1..arms.len() {
            if let (Some(da), Some(db)) = (directions[a], directions[b]) {
                pairs.push((da.0 * db.0 + da.1 * db.1, a, b));
            }
        }
    }
    pairs.sort_by(|x, y| x.0.total_cmp(&y.0));
    let mut used = vec![false; arms.len()];
    let mut out = Vec::new();
    // cos 135 degrees for the first pair, cos 120 degrees for a second one.
    for (cos, a, b) in pairs {
        let limit = if out.is_empty() { -0.70 } else { -0.5 };
        if cos <= limit && !used[a] && !used[b] {
            used[a] = true;
            used[b] = true;
            out.push((arms[a], arms[b]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Maps drawn from instance masks the way the model is trained to draw them.
    fn maps_of(w: usize, h: usize, instances: &[Vec<(usize, usize)>]) -> ProbabilityMaps {
        let mut count = vec![0u8; w * h];
        let mut boundary = vec![0.0f32; w * h];
        for inst in instances {
            let set: std::collections::HashSet<(usize, usize)> = inst.iter().copied().collect();
            for &(x, y) in inst {
                count[y * w + x] += 1;
                let rim = [
                    (-1i64, 0i64),
                    (1, 0),
                    (0, -1),
                    (0, 1),
                    (1, 1),
                    (-1, -1),
                    (1, -1),
                    (-1, 1),
                ]
                .iter()
                .any(|&(dx, dy)| {
                    let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                    nx < 0 || ny < 0 || !set.contains(&(nx as usize, ny as usize))
                });
                if rim {
                    boundary[y * w + x] = 0.9;
                }
            }
        }
        ProbabilityMaps {
            width: w,
            height: h,
            chromosome: count
                .iter()
                .map(|&c| if c > 0 { 0.95 } else { 0.02 })
                .collect(),
            boundary,
            overlap: count
                .iter()
                .map(|&c| if c > 1 { 0.9 } else { 0.01 })
                .collect(),
        }
    }

    /// The best IoU of any object of `seg` with the `truth` pixels.
    fn best_iou(seg: &Segmentation, truth: &[(usize, usize)]) -> f64 {
        let t = Region::from_pixels(truth);
        seg.objects
            .iter()
            .map(|o| o.region.iou(&t))
            .fold(0.0, f64::max)
    }

    fn rect(x0: usize, y0: usize, w: usize, h: usize) -> Vec<(usize, usize)> {
        (y0..y0 + h)
            .flat_map(|y| (x0..x0 + w).map(move |x| (x, y)))
            .collect()
    }

    #[test]
    fn touching_chromosomes_separate_on_the_drawn_line_and_a_crossing_goes_to_both() {
        // Two bars side by side, touching along a long edge, and a cross.
        let a = rect(10, 10, 8, 40);
        let b = rect(18, 12, 8, 36);
        let c = rect(50, 30, 40, 8);
        let d = rect(66, 14, 8, 40);
        let maps = maps_of(100, 70, &[a.clone(), b.clone(), c.clone(), d.clone()]);
        let seg = instances_from_maps(&maps, &MapParams::default(), None).unwrap();
        assert_eq!(seg.objects.len(), 4, "{:?}", seg.warnings);
        for truth in [&a, &b, &c, &d] {
            let best = best_iou(&seg, truth);
            assert!(best > 0.9, "best IoU {best}");
        }
        for o in &seg.objects {
            assert!(o.score > 0.5 && o.score <= 1.0, "{}", o.score);
        }
    }

    #[test]
    fn empty_and_malformed_maps() {
        let empty = maps_of(40, 30, &[]);
        let seg = instances_from_maps(&empty, &MapParams::default(), None).unwrap();
        assert!(seg.objects.is_empty() && !seg.warnings.is_empty());
        let mut short = empty.clone();
        short.boundary.pop();
        assert!(matches!(
            instances_from_maps(&short, &MapParams::default(), None),
            Err(MapsError::WrongSize { .. })
        ));
        let mut nan = empty;
        nan.chromosome[3] = f32::NAN;
        assert_eq!(
            instances_from_maps(&nan, &MapParams::default(), None),
            Err(MapsError::NotProbabilities)
        );
        let tiny = maps_of(2, 2, &[]);
        assert!(instances_from_maps(&tiny, &MapParams::default(), None).is_ok());
    }

    #[test]
    fn a_blob_that_is_all_rim_is_kept_not_dropped() {
        let mut maps = maps_of(40, 30, &[rect(10, 10, 6, 3)]);
        for v in &mut maps.boundary {
            *v = 0.9;
        }
        let seg = instances_from_maps(&maps, &MapParams::default(), None).unwrap();
        let kept = seg.objects.len() + seg.rejected.len();
        assert_eq!(kept, 1, "{seg:?}");
    }

    #[test]
    fn classical_rejects_the_model_left_as_background_are_listed() {
        use crate::domain::segmentation::{RejectReason, RejectedObject};
        let maps = maps_of(100, 70, &[rect(10, 10, 8, 40)]);
        let mut learned = instances_from_maps(&maps, &MapParams::default(), None).unwrap();
        let reject = |x, y, w, h, reason| RejectedObject {
            region: Region::from_pixels(&rect(x, y, w, h)),
            reason,
        };
        let classical = Segmentation {
            rejected: vec![
                reject(50, 20, 30, 30, RejectReason::Nucleus),
                reject(12, 12, 3, 3, RejectReason::Debris),
            ],
            ..Segmentation::default()
        };
        add_uncovered_rejects(&mut learned, classical);
        let reasons: Vec<RejectReason> = learned.rejected.iter().map(|r| r.reason).collect();
        assert_eq!(
            reasons,
            vec![RejectReason::Nucleus],
            "the covered speck is not added"
        );
    }

    #[test]
    fn a_pair_the_model_left_whole_is_cut_along_its_pale_seam() {
        use crate::domain::modality::Modality;
        use crate::domain::raster::GrayImage;
        // The model drew two bars lying side by side as one instance; four
        // single bars give the cell its scale.
        let (a, b) = (rect(10, 10, 8, 40), rect(18, 12, 8, 36));
        let mut instances = vec![[a.clone(), b.clone()].concat()];
        instances.extend((0..4).map(|k| rect(40 + 12 * k, 14, 8, 36)));
        let maps = maps_of(100, 70, &instances);
        let mut img = GrayImage::new(100, 70, 10);
        for &(x, y) in instances.iter().flatten() {
            let seam = x == 17 || x == 18;
            img.set(x as i64, y as i64, if seam { 90 } else { 180 });
        }
        let stain = Stain::of(&img, Modality::Fluorescence, &BuiltinParams::default()).unwrap();
        let objects_near_the_pair = |seg: &Segmentation| {
            seg.objects
                .iter()
                .filter(|o| o.region.centroid().0 < 30.0)
                .count()
        };
        let seg = instances_from_maps(&maps, &MapParams::default(), Some(&stain)).unwrap();
        assert_eq!(objects_near_the_pair(&seg), 2, "{:?}", seg.warnings);
        for truth in [&a, &b] {
            let best = best_iou(&seg, truth);
            assert!(best > 0.8, "best IoU {best}");
        }
        let never = MapParams {
            separation: Separation::Never,
            ..MapParams::default()
        };
        let seg = instances_from_maps(&maps, &never, Some(&stain)).unwrap();
        assert_eq!(objects_near_the_pair(&seg), 1);
        // A stain of another image size is not used (and cannot panic).
        let small = GrayImage::new(40, 30, 10);
        let other = Stain::of(&small, Modality::Fluorescence, &BuiltinParams::default());
        let other = other.unwrap_or(Stain {
            flat: small,
            level: 50,
        });
        let seg = instances_from_maps(&maps, &MapParams::default(), Some(&other)).unwrap();
        assert_eq!(objects_near_the_pair(&seg), 1);
    }
}
