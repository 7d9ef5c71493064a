//! Object outlines: crack-following boundary tracing, polygon simplification
//! and polygon rasterisation.
//!
//! Convention: pixel `(x, y)` covers the square `[x, x+1) x [y, y+1)`, so a
//! traced outline runs along pixel edges with vertices at integer corners, and
//! rasterising it (pixel centres inside) gives back exactly the traced pixels.

use crate::domain::raster::{BBox, Mask, Region};

/// The outer boundary of the 4-connected part of `region` that holds its
/// first pixel in raster order, as a clockwise (in image coordinates)
/// polygon with vertices at pixel corners, in image coordinates.
pub fn trace_outline(region: &Region) -> Vec<(f64, f64)> {
    let mask = &region.mask;
    let (w, h) = (mask.width(), mask.height());
    let Some(first) = mask.data().iter().position(|&v| v) else {
        return Vec::new();
    };
    let fg = |x: i64, y: i64| mask.get(x, y);
    let start = ((first % w) as i64, (first / w) as i64);
    let start_dir = (1i64, 0i64);
    let (mut v, mut d) = (start, start_dir);
    let mut out = vec![start];
    let limit = 4 * (w + 2) * (h + 2) + 8;
    for _ in 0..limit {
        v = (v.0 + d.0, v.1 + d.1);
        let r = (-d.1, d.0);
        let pixel = |a: i64, b: i64| (v.0 + (a - 1) / 2, v.1 + (b - 1) / 2);
        let ar = pixel(d.0 + r.0, d.1 + r.1);
        let al = pixel(d.0 - r.0, d.1 - r.1);
        let new_d = if !fg(ar.0, ar.1) {
            r
        } else if fg(al.0, al.1) {
            (-r.0, -r.1)
        } else {
            d
        };
        if v == start && new_d == start_dir {
            break;
        }
        if new_d != d {
            out.push(v);
        }
        d = new_d;
    }
    let (ox, oy) = (region.bbox.x as f64, region.bbox.y as f64);
    out.into_iter()
        .map(|(x, y)| (x as f64 + ox, y as f64 + oy))
        .collect()
}

/// Douglas-Peucker simplification of a closed polygon: no removed vertex lies
/// farther than `epsilon` from the simplified outline.
pub fn simplify_closed(poly: &[(f64, f64)], epsilon: f64) -> Vec<(f64, f64)> {
    if poly.len() <= 4 {
        return poly.to_vec();
    }
    // Split at the vertex farthest from vertex 0 and simplify both chains.
    let far = (1..poly.len())
        .max_by(|&a, &b| dist2(poly[0], poly[a]).total_cmp(&dist2(poly[0], poly[b])))
        .unwrap_or(poly.len() / 2);
    let mut first: Vec<(f64, f64)> = poly[..=far].to_vec();
    let mut second: Vec<(f64, f64)> = poly[far..].to_vec();
    second.push(poly[0]);
    first = simplify_open(&first, epsilon);
    second = simplify_open(&second, epsilon);
    first.pop();
    second.pop();
    first.extend(second);
    first
}

fn simplify_open(points: &[(f64, f64)], epsilon: f64) -> Vec<(f64, f64)> {
    if points.len() < 3 {
        return points.to_vec();
    }
    let mut keep = vec![false; points.len()];
    keep[0] = true;
    keep[points.len() - 1] = true;
    let mut stack = vec![(0, points.len() - 1)];
    while let Some((a, b)) = stack.pop() {
        let mut best = (0.0, 0);
        for i in a + 1..b {
            let d = segment_distance(points[i], points[a], points[b]);
            if d > best.0 {
                best = (d, i);
            }
        }
        if best.0 > epsilon {
            keep[best.1] = true;
            stack.push((a, best.1));
            stack.push((best.1, b));
        }
    }
    points
        .iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(p, _)| *p)
        .collect()
}

fn dist2(a: (f64, f64), b: (f64, f64)) -> f64 {
    (a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)
}

fn segment_distance(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    if len2 == 0.0 {
        return dist2(p, a).sqrt();
    }
    let t = (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0);
    dist2(p, (a.0 + t * dx, a.1 + t * dy)).sqrt()
}

/// Pixels whose centres lie inside `poly` (even-odd rule), clipped to a
/// `width` x `height` image. Non-finite coordinates are ignored.
pub fn rasterize_polygon(poly: &[(f64, f64)], width: usize, height: usize) -> Region {
    let pts: Vec<(f64, f64)> = poly
        .iter()
        .copied()
        .filter(|p| p.0.is_finite() && p.1.is_finite())
        .collect();
    if pts.len() < 3 || width == 0 || height == 0 {
        return Region::from_pixels(&[]);
    }
    let y_min = pts
        .iter()
        .map(|p| p.1)
        .fold(f64::INFINITY, f64::min)
        .floor()
        .max(0.0) as usize;
    let y_max = (pts
        .iter()
        .map(|p| p.1)
        .fold(f64::NEG_INFINITY, f64::max)
        .ceil()
        .max(0.0) as usize)
        .min(height);
    let mut pixels = Vec::new();
    let mut xs = Vec::new();
    for y in y_min..y_max {
        let cy = y as f64 + 0.5;
        xs.clear();
        for i in 0..pts.len() {
            let (a, b) = (pts[i], pts[(i + 1) % pts.len()]);
            if (a.1 <= cy) != (b.1 <= cy) {
                xs.push(a.0 + (cy - a.1) / (b.1 - a.1) * (b.0 - a.0));
            }
        }
        xs.sort_by(f64::total_cmp);
        for pair in xs.chunks_exact(2) {
            let x0 = (pair[0] - 0.5).ceil().max(0.0) as usize;
            let x1 = (pair[1] - 0.5).ceil().max(0.0).min(width as f64) as usize;
            for x in x0..x1 {
                pixels.push((x, y));
            }
        }
    }
    Region::from_pixels(&pixels)
}

/// A region covering the pixels of `mask` inside `bbox` (local mask coordinates
/// are offset by `bbox.x, bbox.y`).
pub fn region_from_local(mask: &Mask, origin: BBox) -> Region {
    let mut pixels = Vec::new();
    for y in 0..mask.height() {
        for x in 0..mask.width() {
            if mask.get(x as i64, y as i64) {
                pixels.push((origin.x + x, origin.y + y));
            }
        }
    }
    Region::from_pixels(&pixels)
}

/// Area of a polygon by the shoelace formula (absolute value).
pub fn polygon_area(poly: &[(f64, f64)]) -> f64 {
    let n = poly.len();
    (0..n)
        .map(|i| {
            let (a, b) = (poly[i], poly[(i + 1) % n]);
            a.0 * b.1 - b.0 * a.1
        })
        .sum::<f64>()
        .abs()
        / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rng::Rng;

    #[test]
    fn traced_outline_rasterises_back_to_the_same_pixels() {
        let mut rng = Rng::new(11);
        for _ in 0..50 {
            // A random blob grown from a seed: 4-connected by construction.
            let mut pixels = vec![(10usize, 10usize)];
            for _ in 0..rng.below(60) {
                let (x, y) = pixels[rng.below(pixels.len())];
                let (nx, ny) = match rng.below(4) {
                    0 => (x + 1, y),
                    1 => (x - 1, y),
                    2 => (x, y + 1),
                    _ => (x, y - 1),
                };
                if !pixels.contains(&(nx, ny)) {
                    pixels.push((nx, ny));
                }
            }
            let region = Region::from_pixels(&pixels);
            // Fill holes first: the outline is the outer boundary only.
            let filled_mask =
                crate::domain::segmentation::filters::fill_holes(&region.mask, usize::MAX);
            let filled = region_from_local(&filled_mask, region.bbox);
            let outline = trace_outline(&filled);
            let back = rasterize_polygon(&outline, 40, 40);
            assert_eq!(back.pixels(), filled.pixels());
            assert!((polygon_area(&outline) - filled.area() as f64).abs() < 1e-9);
            let simple = simplify_closed(&outline, 0.5);
            assert!(simple.len() <= outline.len());
            let approx = rasterize_polygon(&simple, 40, 40);
            assert!(approx.iou(&filled) > 0.6);
        }
    }
}
