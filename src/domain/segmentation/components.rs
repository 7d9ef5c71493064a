//! Connected components, the Euclidean distance transform and marker-based
//! watershed: the tools for cutting a binary mask into objects.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::domain::raster::{Mask, Region};

/// The 4-neighbours of pixel index `i` in a `w` x `h` raster.
pub fn neighbours4(i: usize, w: usize, h: usize) -> impl Iterator<Item = usize> {
    let (x, y) = (i % w, i / w);
    [
        (x > 0).then(|| i - 1),
        (x + 1 < w).then(|| i + 1),
        (y > 0).then(|| i - w),
        (y + 1 < h).then(|| i + w),
    ]
    .into_iter()
    .flatten()
}

/// Connected components of a mask with 4-connectivity (two chromosomes that
/// touch only at a corner stay apart). Components come out in raster order of
/// their first pixel.
pub fn connected_components(mask: &Mask) -> Vec<Region> {
    let (w, h) = (mask.width(), mask.height());
    let mut seen = vec![false; w * h];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    let mut pixels = Vec::new();
    for start in 0..w * h {
        if !mask.data()[start] || seen[start] {
            continue;
        }
        pixels.clear();
        seen[start] = true;
        stack.push(start);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            pixels.push((x, y));
            for j in neighbours4(i, w, h) {
                if mask.data()[j] && !seen[j] {
                    seen[j] = true;
                    stack.push(j);
                }
            }
        }
        out.push(Region::from_pixels(&pixels));
    }
    out
}

/// Exact Euclidean distance from each foreground pixel to the nearest
/// background pixel (pixels outside the mask count as background), by the
/// Felzenszwalb-Huttenlocher lower-envelope algorithm. Background is 0.
pub fn distance_transform(mask: &Mask) -> Vec<f64> {
    let (w, h) = (mask.width(), mask.height());
    const INF: f64 = 1e20;
    let mut grid: Vec<f64> = mask
        .data()
        .iter()
        .map(|&m| if m { INF } else { 0.0 })
        .collect();
    // Pad conceptually: the outside is background, so distance along a line is
    // also bounded by the distance to the line's ends.
    let mut f = Vec::new();
    let mut d = Vec::new();
    for x in 0..w {
        f.clear();
        f.push(0.0);
        f.extend((0..h).map(|y| grid[y * w + x]));
        f.push(0.0);
        edt_1d(&f, &mut d);
        for y in 0..h {
            grid[y * w + x] = d[y + 1];
        }
    }
    for y in 0..h {
        f.clear();
        f.push(0.0);
        f.extend_from_slice(&grid[y * w..(y + 1) * w]);
        f.push(0.0);
        edt_1d(&f, &mut d);
        for x in 0..w {
            grid[y * w + x] = d[x + 1].sqrt();
        }
    }
    grid
}

/// Squared 1-D distance transform of sampled function `f`.
fn edt_1d(f: &[f64], d: &mut Vec<f64>) {
    let n = f.len();
    d.clear();
    d.resize(n, 0.0);
    let mut v = vec![0usize; n];
    let mut z = vec![0f64; n + 1];
    let mut k = 0usize;
    z[0] = f64::NEG_INFINITY;
    z[1] = f64::INFINITY;
    for q in 1..n {
        loop {
            let p = v[k];
            let s =
                ((f[q] + (q * q) as f64) - (f[p] + (p * p) as f64)) / (2.0 * (q as f64 - p as f64));
            // z[0] is -inf, so k never goes below 0.
            if s <= z[k] && k > 0 {
                k -= 1;
                continue;
            }
            k += 1;
            v[k] = q;
            z[k] = s;
            z[k + 1] = f64::INFINITY;
            break;
        }
    }
    k = 0;
    for (q, dq) in d.iter_mut().enumerate() {
        while z[k + 1] < q as f64 {
            k += 1;
        }
        let p = v[k];
        *dq = (q as f64 - p as f64).powi(2) + f[p];
    }
}

/// Marker-controlled watershed on a local mask. `markers` holds 0 for
/// unlabelled and a label `1..` for seed pixels; flooding proceeds from the
/// seeds in order of decreasing `height` (for a distance map: ridge first),
/// restricted to `mask`. Returns a label per pixel (0 outside the mask).
pub fn watershed(mask: &Mask, height: &[f64], markers: &[u32]) -> Vec<u32> {
    let (w, h) = (mask.width(), mask.height());
    let mut labels = markers.to_vec();
    let mut heap = BinaryHeap::new();
    let mut order = 0u64;
    let key = |v: f64| (v * 1024.0).round() as i64;
    for i in 0..w * h {
        if labels[i] != 0 && mask.data()[i] {
            heap.push((key(height[i]), Reverse(order), i));
            order += 1;
        }
    }
    while let Some((_, _, i)) = heap.pop() {
        for j in neighbours4(i, w, h) {
            if mask.data()[j] && labels[j] == 0 {
                labels[j] = labels[i];
                heap.push((key(height[j]), Reverse(order), j));
                order += 1;
            }
        }
    }
    for (l, &m) in labels.iter_mut().zip(mask.data()) {
        if !m {
            *l = 0;
        }
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute_force_edt(mask: &Mask) -> Vec<f64> {
        let (w, h) = (mask.width() as i64, mask.height() as i64);
        let mut out = vec![0.0; (w * h) as usize];
        for y in 0..h {
            for x in 0..w {
                if !mask.get(x, y) {
                    continue;
                }
                let mut best = f64::INFINITY;
                for yy in -1..=h {
                    for xx in -1..=w {
                        if !mask.get(xx, yy) {
                            best = best.min((((xx - x).pow(2) + (yy - y).pow(2)) as f64).sqrt());
                        }
                    }
                }
                out[(y * w + x) as usize] = best;
            }
        }
        out
    }

    #[test]
    fn edt_matches_brute_force_on_random_masks() {
        let mut rng = crate::domain::rng::Rng::new(3);
        for _ in 0..20 {
            let (w, h) = (1 + rng.below(12), 1 + rng.below(12));
            let data = (0..w * h).map(|_| rng.chance(0.7)).collect();
            let mask = Mask::from_vec(w, h, data).unwrap();
            let fast = distance_transform(&mask);
            let slow = brute_force_edt(&mask);
            for (a, b) in fast.iter().zip(&slow) {
                assert!((a - b).abs() < 1e-9, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn components_are_4_connected_and_complete() {
        let mut m = Mask::new(5, 5);
        m.set(0, 0, true);
        m.set(1, 1, true); // diagonal only: separate
        m.set(3, 3, true);
        m.set(3, 4, true);
        let comps = connected_components(&m);
        assert_eq!(comps.len(), 3);
        assert_eq!(comps.iter().map(Region::area).sum::<usize>(), 4);
    }

    #[test]
    fn watershed_splits_two_touching_discs() {
        let mut m = Mask::new(30, 12);
        for y in 0..12i64 {
            for x in 0..30i64 {
                let a = (x - 7).pow(2) + (y - 6).pow(2) <= 30;
                let b = (x - 20).pow(2) + (y - 6).pow(2) <= 30;
                m.set(x, y, a || b);
            }
        }
        let dt = distance_transform(&m);
        let mut markers = vec![0u32; 30 * 12];
        markers[6 * 30 + 7] = 1;
        markers[6 * 30 + 20] = 2;
        let labels = watershed(&m, &dt, &markers);
        assert_eq!(labels[6 * 30 + 4], 1);
        assert_eq!(labels[6 * 30 + 23], 2);
        assert!(labels.iter().zip(m.data()).all(|(&l, &f)| (l != 0) == f));
    }
}
