//! Pixel filters used by segmentation: background flattening, smoothing,
//! Otsu threshold and binary morphology. All operate on whole images in linear
//! time so a 2048x2048 spread stays well inside the time budget.

use crate::domain::raster::{GrayImage, Mask};

use super::components::neighbours4;

/// Estimates the slowly varying background of a density image (chromosomes
/// high) and subtracts it.
///
/// The image is cut into square blocks of `block` pixels; each block's 10th
/// percentile is its background level (a block is rarely more than 90%
/// chromosome). The block grid is median filtered (3x3) against blocks that
/// sit on a nucleus, then bilinearly interpolated to every pixel.
pub fn flatten_background(density: &GrayImage, block: usize) -> GrayImage {
    let (w, h) = (density.width(), density.height());
    if w == 0 || h == 0 {
        return density.clone();
    }
    let block = block.max(8);
    let gw = w.div_ceil(block);
    let gh = h.div_ceil(block);
    let mut grid = vec![0f64; gw * gh];
    let mut hist = [0u32; 256];
    for gy in 0..gh {
        for gx in 0..gw {
            hist.fill(0);
            let (x0, y0) = (gx * block, gy * block);
            let (x1, y1) = ((x0 + block).min(w), (y0 + block).min(h));
            for y in y0..y1 {
                for &v in &density.data()[y * w + x0..y * w + x1] {
                    hist[v as usize] += 1;
                }
            }
            grid[gy * gw + gx] = f64::from(percentile_of_hist(&hist, 0.10));
        }
    }
    let grid = median3x3(&grid, gw, gh);
    let mut out = GrayImage::new(w, h, 0);
    let data = out.data_mut();
    for y in 0..h {
        let fy = ((y as f64 + 0.5) / block as f64 - 0.5).clamp(0.0, (gh - 1) as f64);
        let gy0 = fy.floor() as usize;
        let gy1 = (gy0 + 1).min(gh - 1);
        let ty = fy - gy0 as f64;
        for x in 0..w {
            let fx = ((x as f64 + 0.5) / block as f64 - 0.5).clamp(0.0, (gw - 1) as f64);
            let gx0 = fx.floor() as usize;
            let gx1 = (gx0 + 1).min(gw - 1);
            let tx = fx - gx0 as f64;
            let top = grid[gy0 * gw + gx0] * (1.0 - tx) + grid[gy0 * gw + gx1] * tx;
            let bottom = grid[gy1 * gw + gx0] * (1.0 - tx) + grid[gy1 * gw + gx1] * tx;
            let bg = top * (1.0 - ty) + bottom * ty;
            let v = f64::from(density.data()[y * w + x]) - bg;
            data[y * w + x] = v.clamp(0.0, 255.0) as u8;
        }
    }
    out
}

fn median3x3(grid: &[f64], gw: usize, gh: usize) -> Vec<f64> {
    let mut out = grid.to_vec();
    let mut buf = Vec::with_capacity(9);
    for y in 0..gh {
        for x in 0..gw {
            buf.clear();
            for dy in -1i64..=1 {
                for dx in -1i64..=1 {
                    let (xx, yy) = (x as i64 + dx, y as i64 + dy);
                    if xx >= 0 && yy >= 0 && (xx as usize) < gw && (yy as usize) < gh {
                        buf.push(grid[yy as usize * gw + xx as usize]);
                    }
                }
            }
            buf.sort_by(f64::total_cmp);
            out[y * gw + x] = buf[buf.len() / 2];
        }
    }
    out
}

/// The value below which `fraction` of the histogram's pixels lie.
pub fn percentile_of_hist(hist: &[u32; 256], fraction: f64) -> u8 {
    let total: u64 = hist.iter().map(|&c| u64::from(c)).sum();
    if total == 0 {
        return 0;
    }
    let target = (fraction.clamp(0.0, 1.0) * total as f64).ceil() as u64;
    let mut acc = 0u64;
    for (v, &c) in hist.iter().enumerate() {
        acc += u64::from(c);
        if acc >= target.max(1) {
            return v as u8;
        }
    }
    255
}

/// Histogram of an image.
pub fn histogram(img: &GrayImage) -> [u32; 256] {
    let mut hist = [0u32; 256];
    for &v in img.data() {
        hist[v as usize] += 1;
    }
    hist
}

/// Otsu's threshold: the level that maximises the between-class variance.
/// Pixels `> threshold` are foreground.
pub fn otsu_threshold(hist: &[u32; 256]) -> u8 {
    let total: f64 = hist.iter().map(|&c| f64::from(c)).sum();
    if total == 0.0 {
        return 0;
    }
    let sum_all: f64 = hist
        .iter()
        .enumerate()
        .map(|(v, &c)| v as f64 * f64::from(c))
        .sum();
    let (mut w0, mut sum0, mut best, mut best_t) = (0.0, 0.0, -1.0, 0u8);
    for (t, &c) in hist.iter().enumerate() {
        w0 += f64::from(c);
        sum0 += t as f64 * f64::from(c);
        let w1 = total - w0;
        if w0 == 0.0 || w1 == 0.0 {
            continue;
        }
        let m0 = sum0 / w0;
        let m1 = (sum_all - sum0) / w1;
        let between = w0 * w1 * (m0 - m1) * (m0 - m1);
        if between > best {
            best = between;
            best_t = t as u8;
        }
    }
    best_t
}

/// Separable Gaussian blur with a 5-tap binomial kernel (sigma ~ 1 px).
pub fn blur5(img: &GrayImage) -> GrayImage {
    let (w, h) = (img.width(), img.height());
    if w == 0 || h == 0 {
        return img.clone();
    }
    const K: [u32; 5] = [1, 4, 6, 4, 1];
    let src = img.data();
    let mut tmp = vec![0u32; w * h];
    for y in 0..h {
        let row = &src[y * w..(y + 1) * w];
        for x in 0..w {
            let mut acc = 0;
            for (k, &kv) in K.iter().enumerate() {
                let xx = (x as i64 + k as i64 - 2).clamp(0, w as i64 - 1) as usize;
                acc += kv * u32::from(row[xx]);
            }
            tmp[y * w + x] = acc;
        }
    }
    let mut out = GrayImage::new(w, h, 0);
    let dst = out.data_mut();
    for y in 0..h {
        for x in 0..w {
            let mut acc = 0;
            for (k, &kv) in K.iter().enumerate() {
                let yy = (y as i64 + k as i64 - 2).clamp(0, h as i64 - 1) as usize;
                acc += kv * tmp[yy * w + x];
            }
            dst[y * w + x] = ((acc + 128) / 256) as u8;
        }
    }
    out
}

/// Pixels above `threshold`.
pub fn threshold(img: &GrayImage, threshold: u8) -> Mask {
    let data = img.data().iter().map(|&v| v > threshold).collect();
    Mask::from_vec(img.width(), img.height(), data).unwrap_or_else(|| Mask::new(0, 0))
}

/// Binary erosion with a 3x3 cross (4-neighbourhood); outside counts as background.
pub fn erode_cross(mask: &Mask) -> Mask {
    let (w, h) = (mask.width(), mask.height());
    let mut out = Mask::new(w, h);
    for y in 0..h as i64 {
        for x in 0..w as i64 {
            let keep = mask.get(x, y)
                && mask.get(x - 1, y)
                && mask.get(x + 1, y)
                && mask.get(x, y - 1)
                && mask.get(x, y + 1);
            out.set(x, y, keep);
        }
    }
    out
}

/// Binary dilation with a 3x3 cross.
pub fn dilate_cross(mask: &Mask) -> Mask {
    let (w, h) = (mask.width(), mask.height());
    let mut out = Mask::new(w, h);
    for y in 0..h as i64 {
        for x in 0..w as i64 {
            let set = mask.get(x, y)
                || mask.get(x - 1, y)
                || mask.get(x + 1, y)
                || mask.get(x, y - 1)
                || mask.get(x, y + 1);
            out.set(x, y, set);
        }
    }
    out
}

/// Fills background holes that do not reach the image border and are at most
/// `max_hole` pixels large (pale bands and chromatid gaps inside a chromosome).
pub fn fill_holes(mask: &Mask, max_hole: usize) -> Mask {
    let (w, h) = (mask.width(), mask.height());
    let mut out = mask.clone();
    let mut seen = vec![false; w * h];
    let mut stack = Vec::new();
    let mut component = Vec::new();
    for start in 0..w * h {
        if mask.data()[start] || seen[start] {
            continue;
        }
        component.clear();
        stack.push(start);
        seen[start] = true;
        let mut reaches_border = false;
        while let Some(i) = stack.pop() {
            component.push(i);
            let (x, y) = (i % w, i / w);
            if x == 0 || y == 0 || x + 1 == w || y + 1 == h {
                reaches_border = true;
            }
            for j in neighbours4(i, w, h) {
                if !mask.data()[j] && !seen[j] {
                    seen[j] = true;
                    stack.push(j);
                }
            }
        }
        if !reaches_border && component.len() <= max_hole {
            for &i in &component {
                out.data_mut()[i] = true;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otsu_separates_two_modes() {
        let mut hist = [0u32; 256];
        hist[20] = 1000;
        hist[200] = 100;
        let t = otsu_threshold(&hist);
        assert!((20..200).contains(&t));
    }

    #[test]
    fn background_gradient_is_removed() {
        let mut img = GrayImage::new(200, 100, 0);
        for y in 0..100 {
            for x in 0..200 {
                img.set(x, y, (x / 4) as u8);
            }
        }
        img.set(100, 50, 250);
        let flat = flatten_background(&img, 32);
        assert!(flat.at(5, 5) < 10 && flat.at(190, 90) < 10);
        assert!(flat.at(100, 50) > 200);
    }

    #[test]
    fn holes_filled_but_border_background_kept() {
        let mut m = Mask::new(7, 7);
        for y in 1..6 {
            for x in 1..6 {
                m.set(x, y, !(x == 3 && y == 3));
            }
        }
        let f = fill_holes(&m, 4);
        assert!(f.get(3, 3));
        assert!(!f.get(0, 0));
        assert_eq!(fill_holes(&m, 0), m);
        assert_eq!(erode_cross(&dilate_cross(&f)).count(), f.count());
    }
}
