//! Per-chromosome geometry: outline, medial axis, length, width profile,
//! centromere, straightening ("rotate and crop") and the banding profile.
//!
//! Theory of operation: the object mask is thinned to a skeleton whose longest
//! path is the raw axis. The axis is smoothed, resampled at 1 px spacing and
//! extended along its end directions to the mask edge (thinning stops half a
//! width short of each tip). Perpendiculars to the axis give the width profile
//! and, sampled through the image, the straightened chromosome; its central
//! stripe gives the banding profile. The centromere is the interior point
//! where width and stain mass are both smallest (the primary constriction).
//! The axis runs from its upper end in the image (smaller y) to the lower one,
//! so "up" in the straightened crop means the end nearer the top of the image.

pub mod contour;
pub mod skeleton;

use crate::domain::bands::gaussian_smooth;
use crate::domain::raster::{GrayImage, Region};

/// Everything measured on one chromosome object.
#[derive(Debug, Clone, PartialEq)]
pub struct ChromosomeGeometry {
    /// Outline polygon in image coordinates (pixel corners), simplified.
    pub outline: Vec<(f64, f64)>,
    /// Medial axis in image coordinates (pixel centres), 1 px spacing, from
    /// the end that becomes row 0 of the straightened crop.
    pub axis: Vec<(f64, f64)>,
    /// Length along the axis in pixels.
    pub length_px: f64,
    /// Width across the axis at each axis point, pixels.
    pub width_profile: Vec<f64>,
    /// Median width in pixels.
    pub width_px: f64,
    /// Centromere position along the axis, pixels from the axis start.
    pub centromere_px: f64,
    /// Centromeric index: shorter arm / length, 0..=0.5.
    pub centromeric_index: f64,
    /// Stain density sampled along the axis (chromosome high), one row per
    /// axis point, `2 * half_width + 1` columns; outside the mask is 0.
    pub straightened: GrayImage,
    /// Mean density of the central stripe at each axis point (0..255 scale).
    pub banding_profile: Vec<f64>,
}

/// Measures one object on the stain-density image (chromosomes high).
///
/// Returns `None` for an empty region.
pub fn measure(density: &GrayImage, region: &Region) -> Option<ChromosomeGeometry> {
    if region.area() == 0 {
        return None;
    }
    let axis = medial_axis(region);
    let widths = width_profile(region, &axis);
    let length_px = axis.len().saturating_sub(1) as f64 + 1.0;
    let mut sorted = widths.clone();
    sorted.sort_by(f64::total_cmp);
    let width_px = sorted
        .get(sorted.len() / 2)
        .copied()
        .unwrap_or(1.0)
        .max(1.0);
    let half = (sorted.last().copied().unwrap_or(1.0) / 2.0 + 2.0).ceil() as usize;
    let straightened = straighten(density, region, &axis, half, 0.0, true);
    let banding_profile = banding_profile(&straightened, &widths);
    let centromere_px = find_centromere(&widths, &straightened, width_px);
    let ci = (centromere_px / length_px).clamp(0.0, 1.0);
    let outline = contour::simplify_closed(&contour::trace_outline(region), 0.5);
    Some(ChromosomeGeometry {
        outline,
        axis,
        length_px,
        width_profile: widths,
        width_px,
        centromere_px,
        centromeric_index: ci.min(1.0 - ci),
        straightened,
        banding_profile,
    })
}

/// The medial axis of a region in image coordinates (pixel centres), at 1 px
/// spacing, oriented from its upper end to its lower end.
pub fn medial_axis(region: &Region) -> Vec<(f64, f64)> {
    let (ox, oy) = (region.bbox.x as f64, region.bbox.y as f64);
    let skel = skeleton::thin(&region.mask);
    let path: Vec<(f64, f64)> = skeleton::longest_path(&skel)
        .into_iter()
        .map(|(x, y)| (x as f64 + ox, y as f64 + oy))
        .collect();
    let raw = if path.len() >= 3 {
        let xs = gaussian_smooth(&path.iter().map(|p| p.0).collect::<Vec<_>>(), 2.0);
        let ys = gaussian_smooth(&path.iter().map(|p| p.1).collect::<Vec<_>>(), 2.0);
        resample(&xs.into_iter().zip(ys).collect::<Vec<_>>(), 1.0)
    } else {
        principal_axis(region)
    };
    let mut axis = extend_to_edge(region, &raw);
    let (first, last) = (axis[0], axis[axis.len() - 1]);
    if (last.1, last.0) < (first.1, first.0) {
        axis.reverse();
    }
    axis
}

/// A straight axis through the centroid along the principal direction, for
/// objects too small or round to thin.
fn principal_axis(region: &Region) -> Vec<(f64, f64)> {
    let (cx, cy) = region.centroid();
    let px = region.pixels();
    let (mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0);
    for &(x, y) in &px {
        let (dx, dy) = (x as f64 - cx, y as f64 - cy);
        sxx += dx * dx;
        syy += dy * dy;
        sxy += dx * dy;
    }
    let theta = 0.5 * (2.0 * sxy).atan2(sxx - syy);
    let (ux, uy) = (theta.cos(), theta.sin());
    vec![
        (cx - 0.5 * ux, cy - 0.5 * uy),
        (cx + 0.5 * ux, cy + 0.5 * uy),
    ]
}

/// Resamples a polyline at uniform arc-length `step` (keeps both ends).
pub fn resample(points: &[(f64, f64)], step: f64) -> Vec<(f64, f64)> {
    if points.len() < 2 {
        return points.to_vec();
    }
    let mut out = vec![points[0]];
    let mut carry = 0.0;
    for seg in points.windows(2) {
        let (a, b) = (seg[0], seg[1]);
        let len = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
        if len == 0.0 {
            continue;
        }
        let mut t = step - carry;
        while t <= len {
            out.push((a.0 + (b.0 - a.0) * t / len, a.1 + (b.1 - a.1) * t / len));
            t += step;
        }
        carry = len - (t - step);
    }
    let last = points[points.len() - 1];
    let tail = out[out.len() - 1];
    if ((last.0 - tail.0).powi(2) + (last.1 - tail.1).powi(2)).sqrt() > 0.25 * step {
        out.push(last);
    }
    out
}

fn inside(region: &Region, p: (f64, f64)) -> bool {
    region.contains(p.0.round() as i64, p.1.round() as i64)
}

/// Extends both ends of the axis along their directions until they leave the mask.
fn extend_to_edge(region: &Region, axis: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let limit = (region.bbox.w + region.bbox.h) as f64;
    let grow = |pts: &[(f64, f64)]| -> Vec<(f64, f64)> {
        // pts: from the interior towards the end (last = end).
        let n = pts.len();
        let end = pts[n - 1];
        let back = pts[n.saturating_sub(5)];
        let (mut dx, mut dy) = (end.0 - back.0, end.1 - back.1);
        let len = (dx * dx + dy * dy).sqrt();
        if len < 1e-9 {
            return Vec::new();
        }
        dx /= len;
        dy /= len;
        let mut out = Vec::new();
        let mut t = 1.0;
        while t < limit {
            let p = (end.0 + dx * t, end.1 + dy * t);
            if !inside(region, p) {
                break;
            }
            out.push(p);
            t += 1.0;
        }
        out
    };
    let mut reversed: Vec<(f64, f64)> = axis.iter().rev().copied().collect();
    let head = grow(&reversed);
    let tail = grow(axis);
    let mut out: Vec<(f64, f64)> = head.into_iter().rev().collect();
    reversed.reverse();
    out.extend(reversed);
    out.extend(tail);
    out
}

/// Unit normal to the axis at each point (tangent from a +-2 point window).
fn normals(axis: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let n = axis.len();
    (0..n)
        .map(|i| {
            let a = axis[i.saturating_sub(2)];
            let b = axis[(i + 2).min(n - 1)];
            let (tx, ty) = (b.0 - a.0, b.1 - a.1);
            let len = (tx * tx + ty * ty).sqrt();
            if len < 1e-9 {
                (1.0, 0.0)
            } else {
                (-ty / len, tx / len)
            }
        })
        .collect()
}

/// Width of the mask across the axis at each axis point.
pub fn width_profile(region: &Region, axis: &[(f64, f64)]) -> Vec<f64> {
    let limit = (region.bbox.w + region.bbox.h) as f64;
    normals(axis)
        .iter()
        .zip(axis)
        .map(|(&(nx, ny), &(x, y))| {
            let run = |sign: f64| {
                let mut t = 0.0;
                while t < limit
                    && inside(
                        region,
                        (x + sign * nx * (t + 0.5), y + sign * ny * (t + 0.5)),
                    )
                {
                    t += 0.5;
                }
                t
            };
            if inside(region, (x, y)) {
                run(1.0) + run(-1.0) + 0.5
            } else {
                0.5
            }
        })
        .collect()
}

/// Samples `image` along the axis: row `i` is the perpendicular through axis
/// point `i`, column `half` the axis itself. With `masked`, samples outside
/// the region read `fill`.
pub fn straighten(
    image: &GrayImage,
    region: &Region,
    axis: &[(f64, f64)],
    half: usize,
    fill: f64,
    masked: bool,
) -> GrayImage {
    let cols = 2 * half + 1;
    let mut out = GrayImage::new(cols, axis.len(), fill.clamp(0.0, 255.0) as u8);
    for (row, (&(nx, ny), &(x, y))) in normals(axis).iter().zip(axis).enumerate() {
        for col in 0..cols {
            let t = col as f64 - half as f64;
            // Normal points to the left of travel; column 0 is the left side.
            let p = (x - nx * t, y - ny * t);
            if masked && !inside(region, p) {
                continue;
            }
            let v = image.sample_bilinear(p.0, p.1, fill);
            out.set(col as i64, row as i64, v.round().clamp(0.0, 255.0) as u8);
        }
    }
    out
}

/// Mean density of the central 60% of the width at each row.
fn banding_profile(straight: &GrayImage, widths: &[f64]) -> Vec<f64> {
    let half = (straight.width() / 2) as i64;
    (0..straight.height())
        .map(|row| {
            let reach = (0.3 * widths.get(row).copied().unwrap_or(1.0))
                .max(1.0)
                .round() as i64;
            let mut sum = 0.0;
            let mut n = 0.0;
            for dx in -reach..=reach {
                if let Some(v) = straight.get(half + dx, row as i64)
                    && v > 0
                {
                    sum += f64::from(v);
                    n += 1.0;
                }
            }
            if n > 0.0 { sum / n } else { 0.0 }
        })
        .collect()
}

/// The primary constriction: the interior axis position where the smoothed
/// width and the stain mass across the axis are jointly smallest.
fn find_centromere(widths: &[f64], straight: &GrayImage, width_px: f64) -> f64 {
    let n = widths.len();
    if n < 5 {
        return n as f64 / 2.0;
    }
    let w = gaussian_smooth(widths, 1.5);
    let mass: Vec<f64> = (0..straight.height())
        .map(|r| {
            (0..straight.width())
                .map(|c| f64::from(straight.at(c, r)))
                .sum()
        })
        .collect();
    let mass = gaussian_smooth(&mass, 1.5);
    let median = |v: &[f64]| {
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        s[s.len() / 2].max(1e-9)
    };
    let (mw, mm) = (median(&w), median(&mass));
    let margin = (0.1 * n as f64)
        .max(0.5 * width_px)
        .min(0.15 * n as f64)
        .round() as usize;
    let lo = margin.min(n / 2);
    let hi = n.saturating_sub(margin).max(lo + 1);
    (lo..hi)
        .min_by(|&a, &b| {
            let sa = w[a] / mw + 0.5 * mass[a] / mm;
            let sb = w[b] / mw + 0.5 * mass[b] / mm;
            sa.total_cmp(&sb)
        })
        .map_or(n as f64 / 2.0, |i| i as f64 + 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bent rod with a constriction at 30% of its length.
    fn rod(len: f64, bend: f64) -> (GrayImage, Region) {
        let (w, h) = (120usize, 120usize);
        let mut img = GrayImage::new(w, h, 0);
        let mut pixels = Vec::new();
        for y in 0..h {
            for x in 0..w {
                let (px, py) = (x as f64, y as f64);
                let mut best = (f64::INFINITY, 0.0);
                let steps = (len * 4.0) as usize;
                for k in 0..=steps {
                    let s = k as f64 / steps as f64;
                    let cx = 60.0 + bend * (s - 0.5).powi(2) * len;
                    let cy = 60.0 - len / 2.0 + s * len;
                    let d = ((px - cx).powi(2) + (py - cy).powi(2)).sqrt();
                    if d < best.0 {
                        best = (d, s);
                    }
                }
                let half = 4.0 * (1.0 - 0.4 * (-(best.1 - 0.3).powi(2) / 0.002).exp());
                if best.0 <= half {
                    pixels.push((x, y));
                    img.set(x as i64, y as i64, 200);
                }
            }
        }
        (img, Region::from_pixels(&pixels))
    }

    #[test]
    fn straight_rod_length_width_and_centromere() {
        let (img, region) = rod(60.0, 0.0);
        let g = measure(&img, &region).unwrap();
        assert!((g.length_px - 68.0).abs() < 5.0, "length {}", g.length_px);
        assert!((g.width_px - 8.0).abs() < 1.6, "width {}", g.width_px);
        let rel = g.centromere_px / g.length_px;
        assert!(
            (rel - (0.3 * 60.0 + 4.0) / 68.0).abs() < 0.08,
            "centromere at {rel}"
        );
        assert!(g.axis[0].1 < g.axis[g.axis.len() - 1].1);
        assert_eq!(g.straightened.height(), g.axis.len());
        assert_eq!(g.banding_profile.len(), g.axis.len());
    }

    #[test]
    fn bent_rod_length_follows_the_curve() {
        let (img, region) = rod(60.0, 1.2);
        let g = measure(&img, &region).unwrap();
        // Arc length of the centre line is about 72 px, plus two 4 px caps.
        assert!(
            g.length_px > 74.0 && g.length_px < 86.0,
            "length {}",
            g.length_px
        );
    }

    #[test]
    fn tiny_objects_do_not_panic() {
        let img = GrayImage::new(5, 5, 100);
        for pixels in [
            vec![(2, 2)],
            vec![(1, 1), (2, 1)],
            vec![(1, 1), (1, 2), (2, 1), (2, 2)],
        ] {
            let g = measure(&img, &Region::from_pixels(&pixels)).unwrap();
            assert!(g.length_px >= 1.0);
        }
        assert!(measure(&img, &Region::from_pixels(&[])).is_none());
    }
}
