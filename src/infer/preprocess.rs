//! Input preparation for the learned classifier, identical to the training
//! code (`models/train/`): normalisation `"gband_upright15_trim20_fit_128x64"`.
//!
//! A crop in G-band look (dark chromosome on a light background; fluorescence
//! crops are inverted first) is scaled by `s = min(128 / h, 64 / w, 4)` with
//! a triangle (bilinear, antialiased when shrinking) filter as Pillow's
//! `BILINEAR` resize does, pasted centred on a 64 x 128 white canvas, and
//! mapped to `1 - v / 255` (chromosome high, background 0). A crop that
//! leans more than [`UPRIGHT_ABOVE_DEG`] is first turned upright ([`upright`]),
//! and every crop is then cut to its non-blank part ([`trim`]).

use crate::domain::karyogram::crop::rotate_by;
use crate::domain::raster::{BBox, GrayImage};

pub const INPUT_HEIGHT: usize = 128;
pub const INPUT_WIDTH: usize = 64;
pub const NORMALISATION: &str = "gband_upright15_trim20_fit_128x64";

/// One resampling axis: for each output index, the first input index and the
/// normalised weights (Pillow's precomputed coefficients).
fn coefficients(in_size: usize, out_size: usize) -> Vec<(usize, Vec<f64>)> {
    let scale = in_size as f64 / out_size as f64;
    let filter_scale = scale.max(1.0);
    let support = filter_scale; // triangle filter support 1.0, widened when shrinking
    (0..out_size)
        .map(|x| {
            let center = (x as f64 + 0.5) * scale;
            let x_min = ((center - support + 0.5).floor().max(0.0)) as usize;
            let x_max = ((center + support + 0.5).floor() as usize).min(in_size);
            let mut weights: Vec<f64> = (x_min..x_max)
                .map(|i| {
                    let t = ((i as f64 - center + 0.5) / filter_scale).abs();
                    if t < 1.0 { 1.0 - t } else { 0.0 }
                })
                .collect();
            let sum: f64 = weights.iter().sum();
            if sum > 0.0 {
                for w in &mut weights {
                    *w /= sum;
                }
            }
            (x_min, weights)
        })
        .collect()
}

/// Resizes with Pillow's bilinear (triangle) filter.
pub fn resize_bilinear(img: &GrayImage, out_w: usize, out_h: usize) -> GrayImage {
    let (w, h) = (img.width(), img.height());
    if w == 0 || h == 0 || out_w == 0 || out_h == 0 {
        return GrayImage::new(out_w, out_h, 255);
    }
    let cx = coefficients(w, out_w);
    let cy = coefficients(h, out_h);
    // Horizontal pass (kept in f64), then vertical; Pillow rounds between passes.
    let mut tmp = vec![0f64; out_w * h];
    for y in 0..h {
        for (x, (start, weights)) in cx.iter().enumerate() {
            let v: f64 = weights
                .iter()
                .enumerate()
                .map(|(k, wt)| wt * f64::from(img.at(start + k, y)))
                .sum();
            tmp[y * out_w + x] = v.round().clamp(0.0, 255.0);
        }
    }
    let mut out = GrayImage::new(out_w, out_h, 0);
    for (y, (start, weights)) in cy.iter().enumerate() {
        for x in 0..out_w {
            let v: f64 = weights
                .iter()
                .enumerate()
                .map(|(k, wt)| wt * tmp[(start + k) * out_w + x])
                .sum();
            out.set(x as i64, y as i64, v.round().clamp(0.0, 255.0) as u8);
        }
    }
    out
}

/// Crops whose principal axis leans further than this from the vertical are
/// turned upright before they are scaled (`UPRIGHT_ABOVE_DEG` in
/// `models/train/crop_preprocess.py`). Crops straightened by the pipeline
/// stand upright already; a crop cut from a karyogram or a spread by hand may
/// lie at any angle.
pub const UPRIGHT_ABOVE_DEG: f64 = 15.0;

/// Foreground of a crop in G-band look: `255 - v` above
/// `max(20, 0.25 * max + 0.5 * mean)` of `255 - v`.
fn foreground_threshold(crop: &GrayImage) -> f64 {
    let (mut max, mut sum) = (0.0f64, 0.0f64);
    for &v in crop.data() {
        let a = 255.0 - f64::from(v);
        max = max.max(a);
        sum += a;
    }
    let mean = sum / crop.data().len().max(1) as f64;
    (0.25 * max + 0.5 * mean).max(20.0)
}

/// How far (degrees) the crop's principal axis leans from the vertical,
/// positive when its lower end lies to the right; `None` for fewer than five
/// foreground pixels.
fn lean_deg(crop: &GrayImage, threshold: f64) -> Option<f64> {
    let (mut n, mut sx, mut sy, mut sxx, mut syy, mut sxy) = (0.0f64, 0.0, 0.0, 0.0, 0.0, 0.0);
    for y in 0..crop.height() {
        for x in 0..crop.width() {
            if 255.0 - f64::from(crop.at(x, y)) > threshold {
                let (fx, fy) = (x as f64, y as f64);
                n += 1.0;
                sx += fx;
                sy += fy;
                sxx += fx * fx;
                syy += fy * fy;
                sxy += fx * fy;
            }
        }
    }
    if n < 5.0 {
        return None;
    }
    let (mx, my) = (sx / n, sy / n);
    let (cxx, cyy, cxy) = (sxx / n - mx * mx, syy / n - my * my, sxy / n - mx * my);
    // Direction of the larger eigenvector of the covariance, pointing down.
    let theta = 0.5 * (2.0 * cxy).atan2(cxx - cyy);
    let (mut vx, mut vy) = (theta.cos(), theta.sin());
    if vy < 0.0 {
        (vx, vy) = (-vx, -vy);
    }
    Some(vx.atan2(vy).to_degrees())
}

/// The crop turned upright when its principal axis leans more than
/// [`UPRIGHT_ABOVE_DEG`] (by the smallest angle, below 90 degrees, so the
/// top stays the top) and cut to its foreground with a 2 px margin; `None`
/// when it stands upright already (or has no foreground to measure).
pub fn upright(crop: &GrayImage) -> Option<GrayImage> {
    let threshold = foreground_threshold(crop);
    let lean = lean_deg(crop, threshold)?;
    if lean.abs() <= UPRIGHT_ABOVE_DEG {
        return None;
    }
    let turned = rotate_by(crop, lean);
    let bbox = darker_than(&turned, threshold)?;
    Some(turned.crop(bbox))
}

/// The bounding box of the pixels with `255 - v` above `threshold`, plus a
/// 2 px margin (clipped to the crop); `None` when there are none.
fn darker_than(crop: &GrayImage, threshold: f64) -> Option<BBox> {
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for y in 0..crop.height() {
        for x in 0..crop.width() {
            if 255.0 - f64::from(crop.at(x, y)) > threshold {
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            }
        }
    }
    if x0 > x1 {
        return None;
    }
    let bbox = BBox {
        x: x0,
        y: y0,
        w: x1 - x0 + 1,
        h: y1 - y0 + 1,
    };
    Some(bbox.padded(2, crop.width(), crop.height()))
}

/// Pixels with `255 - v` above this are not blank: [`trim`] keeps them
/// (`TRIM_ABOVE` in `models/train/crop_preprocess.py`). A fixed, low level,
/// so a blank border goes and a pale chromosome end stays.
pub const TRIM_ABOVE: f64 = 20.0;

/// The crop cut to the bounding box of its pixels with `255 - v` above
/// [`TRIM_ABOVE`], plus a 2 px margin; `None` when that is the whole crop or
/// nothing in it is above the level. Some karyotypes are exported as padded
/// canvases (a chromosome 30 px long on 200 x 100); fitted as given, the
/// chromosome would fill a fraction of the model's input.
pub fn trim(crop: &GrayImage) -> Option<GrayImage> {
    let bbox = darker_than(crop, TRIM_ABOVE)?;
    if bbox.w == crop.width() && bbox.h == crop.height() {
        return None;
    }
    Some(crop.crop(bbox))
}

/// The model input for one crop: `INPUT_HEIGHT * INPUT_WIDTH` values, row-major.
pub fn classifier_input(crop: &GrayImage) -> Vec<f32> {
    let turned = upright(crop);
    let crop = turned.as_ref().unwrap_or(crop);
    let trimmed = trim(crop);
    let crop = trimmed.as_ref().unwrap_or(crop);
    let (w, h) = (crop.width(), crop.height());
    let mut canvas = vec![0f32; INPUT_HEIGHT * INPUT_WIDTH];
    if w == 0 || h == 0 {
        return canvas;
    }
    let s = (INPUT_HEIGHT as f64 / h as f64)
        .min(INPUT_WIDTH as f64 / w as f64)
        .min(4.0);
    let nw = ((w as f64 * s).round() as usize).clamp(1, INPUT_WIDTH);
    let nh = ((h as f64 * s).round() as usize).clamp(1, INPUT_HEIGHT);
    let resized = resize_bilinear(crop, nw, nh);
    let (ox, oy) = ((INPUT_WIDTH - nw) / 2, (INPUT_HEIGHT - nh) / 2);
    for y in 0..nh {
        for x in 0..nw {
            canvas[(oy + y) * INPUT_WIDTH + ox + x] = 1.0 - f32::from(resized.at(x, y)) / 255.0;
        }
    }
    canvas
}

/// Normalisation of the learned segmenter's input (`models/train/README.md`).
pub const SEGMENTER_NORMALISATION: &str = "density_p0.5_p99.5_pad16";
/// The segmenter's input sides are padded to a multiple of this.
pub const SEGMENTER_STRIDE: usize = 16;

/// The smallest level `L` whose cumulative count reaches `q` of all pixels.
fn histogram_percentile(hist: &[u64; 256], total: u64, q: f64) -> u8 {
    let need = q * total as f64;
    let mut cumulative = 0u64;
    for (level, &count) in hist.iter().enumerate() {
        cumulative += count;
        if cumulative as f64 >= need {
            return level as u8;
        }
    }
    255
}

/// The segmenter's input for a stain-density image (chromosomes high):
/// `x = clamp((d - lo) / max(hi - lo, 1), 0, 1)` with `lo` and `hi` the
/// 0.5th and 99.5th percentiles of the image's levels, padded with 0 to the
/// right and bottom up to a multiple of 16. Returns the values row-major and
/// the padded width and height.
pub fn segmenter_input(density: &GrayImage) -> (Vec<f32>, usize, usize) {
    let (w, h) = (density.width(), density.height());
    let mut hist = [0u64; 256];
    for &v in density.data() {
        hist[usize::from(v)] += 1;
    }
    let total = (w * h) as u64;
    let lo = f32::from(histogram_percentile(&hist, total, 0.005));
    let hi = f32::from(histogram_percentile(&hist, total, 0.995));
    let span = (hi - lo).max(1.0);
    let pw = w.div_ceil(SEGMENTER_STRIDE).max(1) * SEGMENTER_STRIDE;
    let ph = h.div_ceil(SEGMENTER_STRIDE).max(1) * SEGMENTER_STRIDE;
    let mut out = vec![0.0f32; pw * ph];
    for y in 0..h {
        for x in 0..w {
            out[y * pw + x] = ((f32::from(density.at(x, y)) - lo) / span).clamp(0.0, 1.0);
        }
    }
    (out, pw, ph)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_and_centres_on_a_white_canvas() {
        let crop = GrayImage::new(10, 64, 0); // black: chromosome everywhere
        let input = classifier_input(&crop);
        assert_eq!(input.len(), 128 * 64);
        // Scaled by 2: 20 x 128, centred horizontally (columns 22..42).
        assert_eq!(input[64 * 10 + 21], 0.0);
        assert!((input[64 * 10 + 22] - 1.0).abs() < 1e-6);
        assert!((input[64 * 10 + 41] - 1.0).abs() < 1e-6);
        assert_eq!(input[64 * 10 + 42], 0.0);
        assert!(
            classifier_input(&GrayImage::new(0, 0, 0))
                .iter()
                .all(|&v| v == 0.0)
        );
    }

    /// A dark rod 12 px wide and 80 px long on white, its axis leaning
    /// `lean` degrees from the vertical (lower end to the right), with a
    /// darker knob at its upper end.
    fn leaning_rod(lean: f64) -> GrayImage {
        let mut img = GrayImage::new(120, 120, 250);
        let (dx, dy) = (lean.to_radians().sin(), lean.to_radians().cos());
        for y in 0..120 {
            for x in 0..120 {
                let (px, py) = (x as f64 - 60.0, y as f64 - 60.0);
                let along = px * dx + py * dy;
                let across = px * dy - py * dx;
                if along.abs() <= 40.0 && across.abs() <= 6.0 {
                    let v = if along < -30.0 { 20 } else { 90 };
                    img.set(x as i64, y as i64, v);
                }
            }
        }
        img
    }

    #[test]
    fn leaning_crops_are_turned_upright_with_the_top_kept_on_top() {
        for lean in [-50.0, -30.0, 25.0, 40.0, 70.0] {
            let crop = leaning_rod(lean);
            let measured = lean_deg(&crop, foreground_threshold(&crop)).unwrap();
            assert!((measured - lean).abs() < 2.0, "{lean}: measured {measured}");
            let turned = upright(&crop).expect("a leaning crop is turned");
            let after = lean_deg(&turned, foreground_threshold(&turned)).unwrap();
            assert!(after.abs() < 2.0, "{lean}: still leans {after}");
            // Cut to the rod: about 80 x 12 plus the margin.
            assert!((82..=90).contains(&turned.height()), "{lean}: {turned:?}");
            assert!(turned.width() <= 20, "{lean}: width {}", turned.width());
            // The dark knob (the top) is still in the upper part.
            let row_mean = |y: usize| {
                (0..turned.width())
                    .map(|x| f64::from(turned.at(x, y)))
                    .sum::<f64>()
                    / turned.width() as f64
            };
            let h = turned.height();
            let top: f64 = (0..h / 4).map(row_mean).sum();
            let bottom: f64 = (h - h / 4..h).map(row_mean).sum();
            assert!(top < bottom, "{lean}: the knob moved to the bottom");
        }
    }

    #[test]
    fn upright_and_slightly_leaning_crops_are_left_as_given() {
        for lean in [0.0, 8.0, -12.0] {
            assert!(upright(&leaning_rod(lean)).is_none(), "{lean}");
        }
        assert!(upright(&GrayImage::new(30, 30, 255)).is_none());
        assert!(upright(&GrayImage::new(0, 0, 0)).is_none());
        // A leaning crop changes the model input; an upright one does not.
        let rod = leaning_rod(0.0);
        assert_eq!(classifier_input(&rod), classifier_input(&rod.clone()));
        assert_ne!(
            classifier_input(&leaning_rod(40.0)),
            classifier_input(&rod.crop(BBox {
                x: 0,
                y: 0,
                w: 120,
                h: 120
            }))
        );
    }

    #[test]
    fn a_padded_canvas_gives_the_input_of_the_tight_crop() {
        // A rod 40 x 8 with a pale (but not blank) upper end, tight with the
        // 2 px margin, and the same rod on a 100 x 200 blank canvas.
        let mut tight = GrayImage::new(12, 44, 255);
        for y in 2..42 {
            for x in 2..10 {
                tight.set(x, y, if y < 6 { 225 } else { 60 });
            }
        }
        let mut padded = GrayImage::new(100, 200, 250);
        for y in 0..44 {
            for x in 0..12 {
                padded.set(x as i64 + 37, y as i64 + 81, tight.at(x, y));
            }
        }
        let cut = trim(&padded).expect("the blank border is cut");
        assert_eq!((cut.width(), cut.height()), (12, 44), "the pale end stays");
        assert_eq!(cut.data(), tight.data());
        assert_eq!(classifier_input(&padded), classifier_input(&tight));
        // The padded rod would otherwise be fitted at 0.64 of its size.
        assert!(trim(&tight).is_none());
        assert!(trim(&GrayImage::new(30, 30, 240)).is_none(), "all blank");
        assert!(trim(&GrayImage::new(0, 0, 0)).is_none());
    }

    #[test]
    fn resize_preserves_flat_images_and_mean() {
        let img = GrayImage::new(17, 33, 90);
        let r = resize_bilinear(&img, 9, 70);
        assert!(r.data().iter().all(|&v| v == 90));
    }

    #[test]
    fn segmenter_input_stretches_percentiles_and_pads_to_sixteen() {
        let mut img = GrayImage::new(20, 10, 10);
        for x in 0..20 {
            img.set(x, 5, 110);
        }
        let (x, pw, ph) = segmenter_input(&img);
        assert_eq!((pw, ph), (32, 16));
        assert_eq!(x.len(), 32 * 16);
        // lo = 10 (the background), hi = 110 (the top 0.5% is the bright row).
        assert!((x[5 * 32 + 3] - 1.0).abs() < 1e-6);
        assert_eq!(x[0], 0.0);
        assert_eq!(x[5 * 32 + 25], 0.0, "padding is 0");
        let flat = GrayImage::new(5, 5, 77);
        let (x, _, _) = segmenter_input(&flat);
        assert!(x.iter().all(|&v| v == 0.0));
    }
}
