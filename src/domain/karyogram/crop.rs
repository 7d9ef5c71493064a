//! Crops of stored objects: the straightened chromosome of a [`CellObject`]
//! cut from the spread with the same geometry the analysis used (medial axis
//! of the mask, perpendicular sampling), so exports show and train on the
//! corrected state (after mask strokes, splits and merges) and not on what
//! the segmenter first found.

use crate::domain::chromosome::Polarity;
use crate::domain::geometry::{medial_axis, straighten, width_profile};
use crate::domain::raster::{GrayImage, Region};

use super::edit::CellObject;

/// The object's region, or `None` for an empty mask.
pub fn object_region(object: &CellObject) -> Option<Region> {
    let pixels: Vec<(usize, usize)> = object
        .pixels
        .iter()
        .map(|&(x, y)| (x as usize, y as usize))
        .collect();
    let region = Region::from_pixels(&pixels);
    (region.area() > 0).then_some(region)
}

/// The straightened crop of `object` from `gband` (the spread in G-band
/// look: dark chromosome, background 255 outside the mask). Row 0 is the
/// end nearer the top of the image, as for the classifier's input; the
/// object's `polarity` says where its p arm is relative to that.
pub fn straightened_crop(gband: &GrayImage, object: &CellObject) -> Option<GrayImage> {
    let region = object_region(object)?;
    let axis = medial_axis(&region);
    let widest = width_profile(&region, &axis)
        .into_iter()
        .fold(1.0_f64, f64::max);
    let half = (widest / 2.0 + 2.0).ceil() as usize;
    Some(straighten(gband, &region, &axis, half, 255.0, true))
}

/// The crop as a karyogram shows it: p arm up, then turned by the object's
/// extra rotation (background 255 where the turn uncovers the corners).
pub fn karyogram_crop(gband: &GrayImage, object: &CellObject) -> Option<GrayImage> {
    let crop = straightened_crop(gband, object)?;
    let upright = match object.polarity {
        Polarity::PUp => crop,
        Polarity::PDown => crop.rotated_180(),
    };
    Some(rotate(&upright, object.rotation_deg))
}

/// `img` turned clockwise by `degrees` about its centre into a canvas that
/// holds the whole turned image; uncovered pixels read 255.
pub fn rotate(img: &GrayImage, degrees: i32) -> GrayImage {
    let degrees = degrees.rem_euclid(360);
    if degrees == 0 || img.width() == 0 || img.height() == 0 {
        return img.clone();
    }
    if degrees == 180 {
        return img.rotated_180();
    }
    rotate_by(img, f64::from(degrees))
}

/// `img` turned clockwise by `degrees` (any angle) about its centre into a
/// canvas that holds the whole turned image, sampled bilinearly; uncovered
/// pixels read 255.
pub fn rotate_by(img: &GrayImage, degrees: f64) -> GrayImage {
    if img.width() == 0 || img.height() == 0 {
        return img.clone();
    }
    let theta = degrees.to_radians();
    let (sin, cos) = theta.sin_cos();
    let (w, h) = (img.width() as f64, img.height() as f64);
    // Less a hair before rounding up: cos 90° is 6e-17, not 0.
    let out_w = (w * cos.abs() + h * sin.abs() - 1e-6).ceil().max(1.0) as usize;
    let out_h = (w * sin.abs() + h * cos.abs() - 1e-6).ceil().max(1.0) as usize;
    let mut out = GrayImage::new(out_w, out_h, 255);
    let (cx, cy) = (w / 2.0, h / 2.0);
    let (ox, oy) = (out_w as f64 / 2.0, out_h as f64 / 2.0);
    for y in 0..out_h {
        for x in 0..out_w {
            // Inverse map: turn the output pixel centre back.
            let (dx, dy) = (x as f64 + 0.5 - ox, y as f64 + 0.5 - oy);
            let sx = cos * dx + sin * dy + cx - 0.5;
            let sy = -sin * dx + cos * dy + cy - 0.5;
            if sx < -0.5 || sy < -0.5 || sx > w - 0.5 || sy > h - 0.5 {
                continue;
            }
            let v = img.sample_bilinear(sx, sy, 255.0);
            out.set(x as i64, y as i64, v.round().clamp(0.0, 255.0) as u8);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::karyogram::edit::Producer;
    use crate::domain::ports::ModelInfo;

    fn rod() -> (GrayImage, CellObject) {
        let mut img = GrayImage::new(40, 60, 255);
        let mut pixels = std::collections::BTreeSet::new();
        for y in 10..50u32 {
            for x in 17..23u32 {
                pixels.insert((x, y));
                // Dark top half, lighter bottom half.
                img.set(i64::from(x), i64::from(y), if y < 30 { 40 } else { 150 });
            }
        }
        let object = CellObject::new(
            crate::domain::ids::ObjectId(0),
            pixels,
            Producer {
                segmenter: ModelInfo::new("t", "1"),
                classifier: ModelInfo::new("t", "1"),
            },
        );
        (img, object)
    }

    #[test]
    fn crops_follow_polarity_and_rotation() {
        let (img, mut object) = rod();
        let crop = straightened_crop(&img, &object).unwrap();
        assert!(
            crop.height() >= 38 && crop.height() <= 42,
            "{}",
            crop.height()
        );
        let mid = crop.width() / 2;
        assert!(crop.at(mid, 3) < 100 && crop.at(mid, crop.height() - 4) > 100);
        object.polarity = Polarity::PDown;
        let flipped = karyogram_crop(&img, &object).unwrap();
        assert!(flipped.at(mid, 3) > 100);
        object.rotation_deg = 90;
        let turned = karyogram_crop(&img, &object).unwrap();
        assert_eq!(
            (turned.width(), turned.height()),
            (flipped.height(), flipped.width())
        );
        object.pixels.clear();
        assert!(karyogram_crop(&img, &object).is_none());
    }
}
