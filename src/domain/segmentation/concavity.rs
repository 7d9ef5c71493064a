//! Separation of touching chromosomes at pairs of boundary concavities.
//!
//! Where two chromosomes touch, the outline shows two deep notches facing
//! each other across a short contact (two rounded bodies meeting). A
//! centromere also narrows the outline, but only shallowly, and a bend makes
//! a notch on one side only. So a cut is made along the segment joining two
//! concavities when both are deep (a fair fraction of the chromosome width),
//! the segment is short compared with their depths, and it runs inside the
//! object.

use crate::domain::geometry::contour::trace_outline;
use crate::domain::raster::{Mask, Region};

use super::components::connected_components;

/// Parameters of the concavity cut.
#[derive(Debug, Clone, PartialEq)]
pub struct ConcavityParams {
    /// Typical chromosome width in pixels.
    pub width_px: f64,
    /// The deeper notch must be at least this fraction of the width deep...
    pub min_depth: f64,
    /// ...and the one facing it at least this fraction.
    pub min_facing_depth: f64,
    /// The cut must be no longer than this fraction of the two depths summed.
    pub max_length_to_depth: f64,
    /// Pieces smaller than this many pixels are not cut off.
    pub min_piece_area: f64,
    /// A single notch at least this fraction of the width deep and sharp
    /// (a V where two tips meet at an angle) is cut to the nearest point of
    /// the opposite outline, when no pair of notches qualifies.
    pub single_notch_depth: f64,
    /// ...when that cut is no longer than this fraction of the width.
    pub single_notch_length: f64,
}

/// A point of the outline, in image coordinates.
type Point = (f64, f64);

/// A candidate cut: its score (lower is better) and its two ends.
type Cut = (f64, Point, Point);

/// A dense outline (one point per pixel edge) of the region.
fn dense_outline(region: &Region) -> Vec<(f64, f64)> {
    let corners = trace_outline(region);
    let mut out = Vec::new();
    for i in 0..corners.len() {
        let (a, b) = (corners[i], corners[(i + 1) % corners.len()]);
        let steps = ((b.0 - a.0).abs() + (b.1 - a.1).abs()).round().max(1.0) as usize;
        for s in 0..steps {
            let t = s as f64 / steps as f64;
            out.push((a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t));
        }
    }
    out
}

fn convex_hull(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut pts = points.to_vec();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    pts.dedup();
    if pts.len() < 3 {
        return pts;
    }
    let cross = |o: (f64, f64), a: (f64, f64), b: (f64, f64)| {
        (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
    };
    let mut lower: Vec<(f64, f64)> = Vec::new();
    for &p in &pts {
        while lower.len() >= 2 && cross(lower[lower.len() - 2], lower[lower.len() - 1], p) <= 0.0 {
            lower.pop();
        }
        lower.push(p);
    }
    let mut upper: Vec<(f64, f64)> = Vec::new();
    for &p in pts.iter().rev() {
        while upper.len() >= 2 && cross(upper[upper.len() - 2], upper[upper.len() - 1], p) <= 0.0 {
            upper.pop();
        }
        upper.push(p);
    }
    lower.pop();
    upper.pop();
    lower.extend(upper);
    lower
}

/// Share of the points along the segment `pa`-`pb` (ends excluded) that lie
/// inside the region.
fn share_inside(region: &Region, pa: (f64, f64), pb: (f64, f64)) -> f64 {
    let length = (pa.0 - pb.0).hypot(pa.1 - pb.1);
    let samples = (length.ceil() as usize).max(2);
    let inside = (1..samples)
        .filter(|&s| {
            let t = s as f64 / samples as f64;
            let p = (pa.0 + (pb.0 - pa.0) * t, pa.1 + (pb.1 - pa.1) * t);
            region.contains(p.0.floor() as i64, p.1.floor() as i64)
        })
        .count();
    inside as f64 / (samples - 1) as f64
}

fn segment_distance(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 {
        0.0
    } else {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0)
    };
    (p.0 - a.0 - t * dx).hypot(p.1 - a.1 - t * dy)
}

/// Cuts `region` at the best pair of concavities, recursively (at most
/// `depth` levels). Returns the region itself when no cut qualifies.
pub fn cut_at_concavities(region: &Region, params: &ConcavityParams, depth: usize) -> Vec<Region> {
    if depth == 0 || (region.area() as f64) < 2.0 * params.min_piece_area {
        return vec![region.clone()];
    }
    let Some((outline, depths)) = outline_depths(region) else {
        return vec![region.clone()];
    };
    let n = outline.len();
    let min_depth = params.min_depth * params.width_px;
    let min_facing = params.min_facing_depth.min(params.min_depth) * params.width_px;
    let notches = notches(&depths, min_facing);
    let mut best: Option<Cut> = None;
    for (ai, &a) in notches.iter().enumerate() {
        for &b in &notches[ai + 1..] {
            let along = (b - a).min(n - (b - a));
            if (along as f64) < 1.5 * params.width_px {
                continue;
            }
            let (pa, pb) = (outline[a], outline[b]);
            let length = (pa.0 - pb.0).hypot(pa.1 - pb.1);
            let depth_sum = depths[a] + depths[b];
            if depths[a].max(depths[b]) < min_depth {
                continue;
            }
            if length > params.max_length_to_depth * depth_sum || length > 1.5 * params.width_px {
                continue;
            }
            // The cut must run through the object, not across background.
            let inside_share = share_inside(region, pa, pb);
            if inside_share < 0.7 {
                continue;
            }
            let score = length / depth_sum;
            if best.is_none_or(|(s, _, _)| score < s) {
                best = Some((score, pa, pb));
            }
        }
    }
    if best.is_none() {
        best = single_notch_cut(region, &outline, &depths, &notches, params);
    }
    let Some((_, pa, pb)) = best else {
        return vec![region.clone()];
    };
    let Some(parts) = split_along(region, pa, pb, params.min_piece_area) else {
        return vec![region.clone()];
    };
    parts
        .iter()
        .flat_map(|part| cut_at_concavities(part, params, depth - 1))
        .collect()
}

/// The dense outline of `region` and each point's depth below the convex
/// hull, or `None` for an outline too short to have notches.
fn outline_depths(region: &Region) -> Option<(Vec<Point>, Vec<f64>)> {
    let outline = dense_outline(region);
    if outline.len() < 12 {
        return None;
    }
    let hull = convex_hull(&outline);
    let depths: Vec<f64> = outline
        .iter()
        .map(|&p| {
            (0..hull.len())
                .map(|i| segment_distance(p, hull[i], hull[(i + 1) % hull.len()]))
                .fold(f64::INFINITY, f64::min)
        })
        .collect();
    Some((outline, depths))
}

/// The notches of an outline: points at least `min_depth` deep and no
/// shallower than their neighbours three points either way.
fn notches(depths: &[f64], min_depth: f64) -> Vec<usize> {
    let n = depths.len();
    let window = 3usize;
    (0..n)
        .filter(|&i| {
            depths[i] >= min_depth
                && (1..=window).all(|k| {
                    depths[i] >= depths[(i + k) % n] && depths[i] >= depths[(i + n - k) % n]
                })
        })
        .collect()
}

/// Straight cuts `region` might be separated along, for callers that judge
/// the parts by other evidence (the check against the ideogram): between
/// two notches at least `min_depth` pixels deep, and from such a notch to
/// the nearest point of the outline across the object; each at most
/// `max_length` long, its ends at least `min_along` apart along the
/// outline, and running inside the object.
pub fn notch_cuts(
    region: &Region,
    min_depth: f64,
    max_length: f64,
    min_along: f64,
) -> Vec<(Point, Point)> {
    let Some((outline, depths)) = outline_depths(region) else {
        return Vec::new();
    };
    let n = outline.len();
    let notches = notches(&depths, min_depth);
    let apart = |a: usize, b: usize| (a.abs_diff(b).min(n - a.abs_diff(b)) as f64) >= min_along;
    let length = |pa: Point, pb: Point| (pa.0 - pb.0).hypot(pa.1 - pb.1);
    let mut cuts = Vec::new();
    for (ai, &a) in notches.iter().enumerate() {
        let pa = outline[a];
        for &b in &notches[ai + 1..] {
            let pb = outline[b];
            if apart(a, b) && length(pa, pb) <= max_length && share_inside(region, pa, pb) >= 0.7 {
                cuts.push((pa, pb));
            }
        }
        let across = (0..n)
            .filter(|&b| apart(a, b))
            .min_by(|&b, &c| length(pa, outline[b]).total_cmp(&length(pa, outline[c])));
        if let Some(b) = across {
            let pb = outline[b];
            if length(pa, pb) <= max_length && share_inside(region, pa, pb) >= 0.9 {
                cuts.push((pa, pb));
            }
        }
    }
    cuts
}

/// `region` cut along the segment `pa`-`pb`: a thin band along it is taken
/// out, the pieces of at least `min_piece_area` pixels that fall apart are
/// kept, and crumbs and the band go to the nearest of them. `None` unless
/// at least two such pieces fall apart.
pub fn split_along(
    region: &Region,
    pa: Point,
    pb: Point,
    min_piece_area: f64,
) -> Option<Vec<Region>> {
    let (w, h) = (region.bbox.w, region.bbox.h);
    let (ox, oy) = (region.bbox.x as f64, region.bbox.y as f64);
    let mut rest = region.mask.clone();
    for y in 0..h {
        for x in 0..w {
            let c = (ox + x as f64 + 0.5, oy + y as f64 + 0.5);
            if rest.get(x as i64, y as i64) && segment_distance(c, pa, pb) <= 0.75 {
                rest.set(x as i64, y as i64, false);
            }
        }
    }
    let mut parts: Vec<Region> = connected_components(&rest)
        .into_iter()
        .filter(|r| r.area() > 0)
        .collect();
    parts.sort_by_key(|r| std::cmp::Reverse(r.area()));
    if parts.len() < 2 || (parts[1].area() as f64) < min_piece_area {
        return None;
    }
    // Crumbs and the cut band go to the nearest big part.
    let big: Vec<Region> = parts
        .iter()
        .filter(|r| (r.area() as f64) >= min_piece_area)
        .cloned()
        .collect();
    let mut labels = vec![usize::MAX; w * h];
    for (k, part) in big.iter().enumerate() {
        // Parts come from a local mask: their pixels are local coordinates.
        for (x, y) in part.pixels() {
            labels[y * w + x] = k;
        }
    }
    let unlabelled: Vec<(usize, usize)> = (0..h)
        .flat_map(|y| (0..w).map(move |x| (x, y)))
        .filter(|&(x, y)| region.mask.get(x as i64, y as i64) && labels[y * w + x] == usize::MAX)
        .collect();
    for (x, y) in unlabelled {
        let nearest = big
            .iter()
            .enumerate()
            .map(|(k, part)| {
                let d = part
                    .pixels()
                    .iter()
                    .map(|&(px, py)| (px as f64 - x as f64).hypot(py as f64 - y as f64))
                    .fold(f64::INFINITY, f64::min);
                (k, d)
            })
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map_or(0, |(k, _)| k);
        labels[y * w + x] = nearest;
    }
    Some(
        (0..big.len())
            .map(|k| {
                let pixels: Vec<(usize, usize)> = (0..w * h)
                    .filter(|&i| labels[i] == k)
                    .map(|i| (region.bbox.x + i % w, region.bbox.y + i / w))
                    .collect();
                Region::from_pixels(&pixels)
            })
            .collect(),
    )
}

/// The cut from the deepest sharp notch to the nearest point of the outline
/// across the object, if it is short and runs inside the object.
fn single_notch_cut(
    region: &Region,
    outline: &[(f64, f64)],
    depths: &[f64],
    notches: &[usize],
    params: &ConcavityParams,
) -> Option<Cut> {
    let n = outline.len();
    let w = params.width_px;
    let reach = (w.round() as usize).max(2);
    let sharp = |i: usize| {
        // The depth falls off steeply on both sides of a notch between two tips.
        let before = depths[(i + n - reach) % n];
        let after = depths[(i + reach) % n];
        depths[i] - before.max(after)
    };
    let mut best: Option<Cut> = None;
    for &a in notches {
        if depths[a] < params.single_notch_depth * w
            || sharp(a) < 0.5 * params.single_notch_depth * w
        {
            continue;
        }
        let pa = outline[a];
        for (b, &pb) in outline.iter().enumerate() {
            let along = a.abs_diff(b).min(n - a.abs_diff(b));
            if (along as f64) < 1.5 * w {
                continue;
            }
            let length = (pa.0 - pb.0).hypot(pa.1 - pb.1);
            if length > params.single_notch_length * w {
                continue;
            }
            let inside_share = share_inside(region, pa, pb);
            if inside_share < 0.9 {
                continue;
            }
            let score = length / depths[a];
            if best.is_none_or(|(s, _, _)| score < s) {
                best = Some((score, pa, pb));
            }
        }
    }
    best
}

/// A local mask as a region at the given origin (test helper and for callers
/// working in local coordinates).
pub fn local_region(mask: &Mask, x: usize, y: usize) -> Region {
    let pixels: Vec<(usize, usize)> = (0..mask.height())
        .flat_map(|yy| (0..mask.width()).map(move |xx| (xx, yy)))
        .filter(|&(xx, yy)| mask.get(xx as i64, yy as i64))
        .map(|(xx, yy)| (xx + x, yy + y))
        .collect();
    Region::from_pixels(&pixels)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capsule(mask: &mut Mask, a: (f64, f64), b: (f64, f64), r: f64, neck_at: Option<f64>) {
        for y in 0..mask.height() as i64 {
            for x in 0..mask.width() as i64 {
                let p = (x as f64, y as f64);
                let (dx, dy) = (b.0 - a.0, b.1 - a.1);
                let t =
                    (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
                let rr = match neck_at {
                    Some(c) => r * (1.0 - 0.35 * (-(t - c).powi(2) / 0.003).exp()),
                    None => r,
                };
                if (p.0 - a.0 - t * dx).hypot(p.1 - a.1 - t * dy) <= rr {
                    mask.set(x, y, true);
                }
            }
        }
    }

    fn params() -> ConcavityParams {
        ConcavityParams {
            width_px: 8.0,
            min_depth: 0.3,
            min_facing_depth: 0.3,
            max_length_to_depth: 1.0,
            min_piece_area: 30.0,
            single_notch_depth: f64::INFINITY,
            single_notch_length: 0.0,
        }
    }

    #[test]
    fn two_capsules_touching_at_an_angle_are_cut() {
        let mut m = Mask::new(80, 80);
        capsule(&mut m, (10.0, 40.0), (36.0, 40.0), 4.0, None);
        capsule(&mut m, (42.0, 35.0), (58.0, 11.0), 4.0, None);
        let pieces = cut_at_concavities(&local_region(&m, 0, 0), &params(), 3);
        assert_eq!(pieces.len(), 2);
    }

    #[test]
    fn a_short_rod_against_the_side_of_a_long_one_is_separated_between_notches() {
        // A T: the short rod's end lies on the long one's side, so the
        // long one's axis runs past the contact and no cut across it helps.
        let (mut long, mut short) = (Mask::new(80, 60), Mask::new(80, 60));
        capsule(&mut long, (8.0, 40.0), (72.0, 40.0), 4.0, None);
        capsule(&mut short, (40.0, 36.0), (40.0, 10.0), 4.0, None);
        let mut both = long.clone();
        for y in 0..60 {
            for x in 0..80 {
                if short.get(x, y) {
                    both.set(x, y, true);
                }
            }
        }
        let (long, short) = (local_region(&long, 0, 0), local_region(&short, 0, 0));
        let region = local_region(&both, 0, 0);
        let cuts = notch_cuts(&region, 0.2 * 8.0, 1.5 * 8.0, 1.5 * 8.0);
        assert!(!cuts.is_empty());
        let separated = cuts.iter().any(|&(pa, pb)| {
            split_along(&region, pa, pb, 30.0).is_some_and(|parts| {
                parts.len() == 2
                    && parts.iter().any(|p| p.iou(&long) >= 0.85)
                    && parts.iter().any(|p| p.iou(&short) >= 0.7)
            })
        });
        assert!(separated, "{cuts:?}");
    }

    #[test]
    fn a_straight_rod_offers_no_notch_cut_and_a_cut_off_crumb_is_no_part() {
        let mut m = Mask::new(80, 30);
        capsule(&mut m, (8.0, 15.0), (70.0, 15.0), 4.0, None);
        let region = local_region(&m, 0, 0);
        assert!(notch_cuts(&region, 0.2 * 8.0, 12.0, 12.0).is_empty());
        // Across the rod near its end: one piece is below the minimum area.
        assert!(split_along(&region, (6.0, 8.0), (6.0, 22.0), 100.0).is_none());
        let halves = split_along(&region, (39.0, 8.0), (39.0, 22.0), 100.0).unwrap();
        assert_eq!(halves.len(), 2);
        assert_eq!(
            halves.iter().map(Region::area).sum::<usize>(),
            region.area()
        );
    }

    #[test]
    fn a_chromosome_with_a_centromere_is_not_cut() {
        let mut m = Mask::new(80, 30);
        capsule(&mut m, (8.0, 15.0), (70.0, 15.0), 4.0, Some(0.35));
        let pieces = cut_at_concavities(&local_region(&m, 0, 0), &params(), 3);
        assert_eq!(pieces.len(), 1);
    }
}
