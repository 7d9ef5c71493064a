//! Image formation: absorbance -> transmitted light -> blur -> noise -> u8.
//!
//! `I = background(x, y) * exp(-A)` (Beer-Lambert on a bright-field image), then
//! a separable Gaussian blur for the optics and additive Gaussian noise for the
//! camera. The background is a level near 230 with a smooth linear gradient
//! plus vignette whose depth is set by `illumination`.

use crate::domain::raster::GrayImage;
use crate::domain::rng::Rng;

/// Parameters of the simulated microscope and camera.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Optics {
    pub background: f64,
    /// 0..1: at 1 the darkest corner is 40 % darker than the brightest.
    pub illumination: f64,
    pub blur_sigma: f64,
    pub noise_sigma: f64,
    /// Relative per-pixel grain of the stain (multiplicative on absorbance).
    pub grain: f64,
}

/// Renders an absorbance buffer (`width * height`) to an 8-bit image.
pub(crate) fn expose(
    width: usize,
    height: usize,
    absorbance: &[f32],
    optics: &Optics,
    rng: &mut Rng,
) -> GrayImage {
    let gradient_angle = rng.range(0.0, std::f64::consts::TAU);
    let (gx, gy) = (gradient_angle.cos(), gradient_angle.sin());
    let vignette_center = (
        width as f64 * rng.range(0.3, 0.7),
        height as f64 * rng.range(0.3, 0.7),
    );
    let diag = (width as f64).hypot(height as f64).max(1.0);
    let mut light = vec![0.0f32; width * height];
    for y in 0..height {
        for x in 0..width {
            let (xf, yf) = (x as f64, y as f64);
            let ramp =
                0.5 + ((xf - 0.5 * width as f64) * gx + (yf - 0.5 * height as f64) * gy) / diag;
            let r = (xf - vignette_center.0).hypot(yf - vignette_center.1) / diag;
            let g = (0.6 * ramp + 0.4 * (2.0 * r).min(1.0).powi(2)).clamp(0.0, 1.0);
            let bg = optics.background * (1.0 - 0.4 * optics.illumination * g);
            let i = y * width + x;
            let mut a = f64::from(absorbance[i]);
            if a > 0.0 && optics.grain > 0.0 {
                a *= (1.0 + optics.grain * rng.normal()).max(0.0);
            }
            light[i] = (bg * (-a).exp()) as f32;
        }
    }
    let light = gaussian_blur(&light, width, height, optics.blur_sigma);
    let data = light
        .iter()
        .map(|&v| {
            let noisy = if optics.noise_sigma > 0.0 {
                f64::from(v) + optics.noise_sigma * rng.normal()
            } else {
                f64::from(v)
            };
            noisy.round().clamp(0.0, 255.0) as u8
        })
        .collect();
    GrayImage::from_vec(width, height, data).unwrap_or_else(|| GrayImage::new(width, height, 0))
}

/// Separable Gaussian blur with clamped edges; `sigma` in pixels (< 0.2: none).
pub(crate) fn gaussian_blur(values: &[f32], width: usize, height: usize, sigma: f64) -> Vec<f32> {
    if sigma < 0.2 || width == 0 || height == 0 {
        return values.to_vec();
    }
    let radius = (3.0 * sigma).ceil() as i64;
    let mut kernel: Vec<f32> = (-radius..=radius)
        .map(|k| (-((k * k) as f64) / (2.0 * sigma * sigma)).exp() as f32)
        .collect();
    let sum: f32 = kernel.iter().sum();
    kernel.iter_mut().for_each(|k| *k /= sum);
    let (w, h) = (width as i64, height as i64);
    let mut tmp = vec![0.0f32; values.len()];
    for y in 0..h {
        let row = &values[(y * w) as usize..((y + 1) * w) as usize];
        for x in 0..w {
            let mut acc = 0.0;
            for (k, kv) in (-radius..=radius).zip(&kernel) {
                acc += kv * row[(x + k).clamp(0, w - 1) as usize];
            }
            tmp[(y * w + x) as usize] = acc;
        }
    }
    let mut out = vec![0.0f32; values.len()];
    for y in 0..h {
        for x in 0..w {
            let mut acc = 0.0;
            for (k, kv) in (-radius..=radius).zip(&kernel) {
                acc += kv * tmp[((y + k).clamp(0, h - 1) * w + x) as usize];
            }
            out[(y * w + x) as usize] = acc;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blur_keeps_the_mean_of_a_constant() {
        let v = vec![10.0f32; 12];
        let b = gaussian_blur(&v, 4, 3, 1.5);
        assert!(b.iter().all(|x| (x - 10.0).abs() < 1e-4));
    }
}
