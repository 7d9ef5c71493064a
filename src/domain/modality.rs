//! Imaging modality: brightfield (G-banding, dark chromosomes on a light
//! background) or fluorescence (Q-banding, DAPI: bright chromosomes on a dark
//! background), its automatic detection, and the "stain density" image that
//! lets later stages treat both the same way.
//!
//! # Detection
//! In a metaphase spread, a karyogram or a chromosome crop the background
//! covers most of the picture, so the typical pixel is a background pixel.
//! [`detect_modality`] places two robust "typical" values, the median of all
//! pixels and the median of the border pixels, inside the image's range
//! between the 1st and 99th percentiles. Near the top of that range means a
//! light background (brightfield); near the bottom, a dark one (fluorescence).
//! Percentiles rather than min/max ignore hot pixels and dust; a bright
//! interphase nucleus in a fluorescence image only raises the 99th percentile,
//! which pushes the median further towards the bottom; and an illumination
//! gradient moves the background median by much less than the distance
//! between background and chromosomes. A flat image (no contrast) is called
//! brightfield, the more common modality in routine cytogenetics.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::raster::GrayImage;

/// How the chromosomes were imaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Modality {
    /// Transmitted light, e.g. G-banding: dark chromosomes on a light background.
    Brightfield,
    /// Fluorescence, e.g. Q-banding or DAPI: bright chromosomes on a dark background.
    Fluorescence,
}

impl fmt::Display for Modality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Brightfield => "brightfield",
            Self::Fluorescence => "fluorescence",
        })
    }
}

/// The user's choice of modality: a fixed one or automatic detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ModalityChoice {
    /// Detect from the image with [`detect_modality`].
    #[default]
    Auto,
    Brightfield,
    Fluorescence,
}

/// A modality choice string that is not one of the accepted words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown modality {given:?}: expected one of \"auto\", \"brightfield\", \"fluorescence\"")]
pub struct ModalityParseError {
    pub given: String,
}

impl FromStr for ModalityChoice {
    type Err = ModalityParseError;

    /// Parses `auto`, `brightfield` or `fluorescence` (ASCII case-insensitive,
    /// surrounding spaces ignored).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "brightfield" => Ok(Self::Brightfield),
            "fluorescence" => Ok(Self::Fluorescence),
            _ => Err(ModalityParseError {
                given: s.to_string(),
            }),
        }
    }
}

impl fmt::Display for ModalityChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Brightfield => "brightfield",
            Self::Fluorescence => "fluorescence",
        })
    }
}

/// Value at quantile `q` (0..=1) of a 256-bin histogram holding `n > 0` values.
fn quantile(hist: &[u64; 256], n: u64, q: f64) -> f64 {
    let target = ((n - 1) as f64 * q).floor() as u64;
    let mut cum = 0u64;
    for (v, &c) in hist.iter().enumerate() {
        cum += c;
        if cum > target {
            return v as f64;
        }
    }
    255.0
}

/// Guesses the modality of an image (see the module docs). Never panics; an
/// empty or flat image gives [`Modality::Brightfield`].
pub fn detect_modality(img: &GrayImage) -> Modality {
    let (w, h) = (img.width(), img.height());
    let data = img.data();
    if data.is_empty() {
        return Modality::Brightfield;
    }
    let mut all = [0u64; 256];
    for &v in data {
        all[usize::from(v)] += 1;
    }
    let n = data.len() as u64;
    let p1 = quantile(&all, n, 0.01);
    let p99 = quantile(&all, n, 0.99);
    if p99 - p1 < 1.0 {
        return Modality::Brightfield;
    }
    let median = quantile(&all, n, 0.5);

    // Border: a frame 1/20 of the smaller side thick (at least one pixel).
    let t = (w.min(h) / 20).max(1);
    let mut border = [0u64; 256];
    let mut nb = 0u64;
    for (y, row) in data.chunks_exact(w).enumerate() {
        let edge_row = y < t || y + t >= h;
        for (x, &v) in row.iter().enumerate() {
            if edge_row || x < t || x + t >= w {
                border[usize::from(v)] += 1;
                nb += 1;
            }
        }
    }
    let border_median = if nb > 0 {
        quantile(&border, nb, 0.5)
    } else {
        median
    };

    let pos = |v: f64| (v - p1) / (p99 - p1);
    let score = 0.5 * (pos(median) + pos(border_median));
    if score >= 0.5 {
        Modality::Brightfield
    } else {
        Modality::Fluorescence
    }
}

/// The modality to use: the fixed choice, or the detected one for `Auto`.
pub fn resolve(choice: ModalityChoice, img: &GrayImage) -> Modality {
    match choice {
        ModalityChoice::Auto => detect_modality(img),
        ModalityChoice::Brightfield => Modality::Brightfield,
        ModalityChoice::Fluorescence => Modality::Fluorescence,
    }
}

/// "Stain density": chromosomes high, background low, whatever the modality
/// (`255 - v` for brightfield, `v` unchanged for fluorescence).
pub fn density(img: &GrayImage, modality: Modality) -> GrayImage {
    match modality {
        Modality::Brightfield => img.inverted(),
        Modality::Fluorescence => img.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `w` x `h` background with a horizontal illumination gradient from
    /// `bg0` to `bg1`, and filled discs of value `fg` at the given centres.
    fn synthetic(
        w: usize,
        h: usize,
        bg0: f64,
        bg1: f64,
        discs: &[(f64, f64, f64, u8)],
    ) -> GrayImage {
        let mut img = GrayImage::new(w, h, 0);
        for y in 0..h {
            for x in 0..w {
                let mut v = (bg0 + (bg1 - bg0) * x as f64 / (w - 1) as f64).round() as u8;
                for &(cx, cy, r, fg) in discs {
                    if (x as f64 - cx).powi(2) + (y as f64 - cy).powi(2) <= r * r {
                        v = fg;
                    }
                }
                img.set(x as i64, y as i64, v);
            }
        }
        img
    }

    fn blobs(fg: u8) -> Vec<(f64, f64, f64, u8)> {
        (0..12)
            .map(|i| {
                let cx = 20.0 + (i % 4) as f64 * 40.0;
                let cy = 20.0 + (i / 4) as f64 * 40.0;
                (cx, cy, 6.0, fg)
            })
            .collect()
    }

    #[test]
    fn light_image_with_dark_blobs_is_brightfield() {
        let img = synthetic(160, 120, 230.0, 230.0, &blobs(60));
        assert_eq!(detect_modality(&img), Modality::Brightfield);
        // Strong uneven illumination.
        let img = synthetic(160, 120, 140.0, 250.0, &blobs(60));
        assert_eq!(detect_modality(&img), Modality::Brightfield);
    }

    #[test]
    fn dark_image_with_bright_blobs_and_nucleus_is_fluorescence() {
        let mut discs = blobs(200);
        discs.push((120.0, 80.0, 30.0, 255)); // large bright interphase nucleus
        let img = synthetic(160, 120, 15.0, 15.0, &discs);
        assert_eq!(detect_modality(&img), Modality::Fluorescence);
        let img = synthetic(160, 120, 5.0, 90.0, &discs);
        assert_eq!(detect_modality(&img), Modality::Fluorescence);
    }

    #[test]
    fn degenerate_images_do_not_panic() {
        assert_eq!(
            detect_modality(&GrayImage::new(0, 0, 0)),
            Modality::Brightfield
        );
        assert_eq!(
            detect_modality(&GrayImage::new(1, 1, 9)),
            Modality::Brightfield
        );
        assert_eq!(
            detect_modality(&GrayImage::new(7, 3, 128)),
            Modality::Brightfield
        );
    }

    #[test]
    fn choice_parses_and_resolves() {
        assert_eq!("auto".parse(), Ok(ModalityChoice::Auto));
        assert_eq!(" Brightfield ".parse(), Ok(ModalityChoice::Brightfield));
        assert_eq!("fluorescence".parse(), Ok(ModalityChoice::Fluorescence));
        let err = "dapi".parse::<ModalityChoice>().unwrap_err().to_string();
        assert!(
            err.contains("auto") && err.contains("brightfield") && err.contains("fluorescence")
        );
        let img = GrayImage::new(4, 4, 0);
        assert_eq!(
            resolve(ModalityChoice::Fluorescence, &img),
            Modality::Fluorescence
        );
        assert_eq!(
            resolve(ModalityChoice::Brightfield, &img),
            Modality::Brightfield
        );
    }

    #[test]
    fn density_makes_chromosomes_high() {
        let img = GrayImage::from_vec(2, 1, vec![10, 240]).unwrap();
        assert_eq!(density(&img, Modality::Brightfield).data(), &[245, 15]);
        assert_eq!(density(&img, Modality::Fluorescence).data(), &[10, 240]);
        let json = serde_json::to_string(&Modality::Fluorescence).unwrap();
        assert_eq!(json, "\"fluorescence\"");
    }
}
