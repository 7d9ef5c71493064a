//! Raster types: 8-bit gray images, binary masks and object regions.
//!
//! Invariant: every buffer is row-major with exactly `width * height` entries;
//! constructors check it, so indexing inside the domain never goes out of range
//! for in-bounds coordinates.

use serde::{Deserialize, Serialize};

/// An 8-bit single-channel image, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrayImage {
    width: usize,
    height: usize,
    data: Vec<u8>,
}

impl GrayImage {
    /// A `width` x `height` image filled with `value`.
    pub fn new(width: usize, height: usize, value: u8) -> Self {
        Self {
            width,
            height,
            data: vec![value; width * height],
        }
    }

    /// Wraps a buffer; `None` when its length is not `width * height`.
    pub fn from_vec(width: usize, height: usize, data: Vec<u8>) -> Option<Self> {
        (data.len() == width * height).then_some(Self {
            width,
            height,
            data,
        })
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    pub fn data(&self) -> &[u8] {
        &self.data
    }

    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }

    pub fn into_vec(self) -> Vec<u8> {
        self.data
    }

    /// Pixel value; `None` outside the image.
    pub fn get(&self, x: i64, y: i64) -> Option<u8> {
        if x < 0 || y < 0 || x >= self.width as i64 || y >= self.height as i64 {
            return None;
        }
        Some(self.data[y as usize * self.width + x as usize])
    }

    /// Pixel value at in-bounds coordinates.
    ///
    /// # Panics
    /// When `(x, y)` is outside the image.
    pub fn at(&self, x: usize, y: usize) -> u8 {
        self.data[y * self.width + x]
    }

    /// Sets a pixel; ignored outside the image.
    pub fn set(&mut self, x: i64, y: i64, value: u8) {
        if x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height {
            self.data[y as usize * self.width + x as usize] = value;
        }
    }

    /// Bilinear sample at a sub-pixel position (pixel centres at integer
    /// coordinates); `outside` beyond the image.
    pub fn sample_bilinear(&self, x: f64, y: f64, outside: f64) -> f64 {
        if !(x > -1.0 && y > -1.0 && x < self.width as f64 && y < self.height as f64) {
            return outside;
        }
        let x0 = x.floor();
        let y0 = y.floor();
        let fx = x - x0;
        let fy = y - y0;
        let px =
            |xx: f64, yy: f64| -> f64 { self.get(xx as i64, yy as i64).map_or(outside, f64::from) };
        let a = px(x0, y0);
        let b = px(x0 + 1.0, y0);
        let c = px(x0, y0 + 1.0);
        let d = px(x0 + 1.0, y0 + 1.0);
        (a * (1.0 - fx) + b * fx) * (1.0 - fy) + (c * (1.0 - fx) + d * fx) * fy
    }

    /// `255 - v` for every pixel.
    pub fn inverted(&self) -> Self {
        Self {
            width: self.width,
            height: self.height,
            data: self.data.iter().map(|v| 255 - v).collect(),
        }
    }

    /// The part of the image inside `bbox` (clipped to the image).
    pub fn crop(&self, bbox: BBox) -> Self {
        let bbox = bbox.clip(self.width, self.height);
        let mut out = Self::new(bbox.w, bbox.h, 0);
        for y in 0..bbox.h {
            let src = (bbox.y + y) * self.width + bbox.x;
            out.data[y * bbox.w..(y + 1) * bbox.w].copy_from_slice(&self.data[src..src + bbox.w]);
        }
        out
    }

    /// The image turned by 180 degrees.
    pub fn rotated_180(&self) -> Self {
        let mut data = self.data.clone();
        data.reverse();
        Self {
            width: self.width,
            height: self.height,
            data,
        }
    }
}

/// Axis-aligned box in pixel coordinates: `x, y` top-left, `w, h` size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct BBox {
    pub x: usize,
    pub y: usize,
    pub w: usize,
    pub h: usize,
}

impl BBox {
    /// Area in pixels.
    pub fn area(&self) -> usize {
        self.w * self.h
    }

    /// The box grown by `margin` on every side and clipped to `width` x `height`.
    pub fn padded(&self, margin: usize, width: usize, height: usize) -> Self {
        let x = self.x.saturating_sub(margin);
        let y = self.y.saturating_sub(margin);
        let x1 = (self.x + self.w + margin).min(width);
        let y1 = (self.y + self.h + margin).min(height);
        Self {
            x,
            y,
            w: x1.saturating_sub(x),
            h: y1.saturating_sub(y),
        }
    }

    /// The box clipped to `width` x `height`.
    pub fn clip(&self, width: usize, height: usize) -> Self {
        self.padded(0, width, height)
    }

    /// True when the box touches the border of a `width` x `height` image.
    pub fn touches_border(&self, width: usize, height: usize) -> bool {
        self.x == 0 || self.y == 0 || self.x + self.w >= width || self.y + self.h >= height
    }
}

/// A binary mask over a whole image (`true` = foreground).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mask {
    width: usize,
    height: usize,
    data: Vec<bool>,
}

impl Mask {
    pub fn new(width: usize, height: usize) -> Self {
        Self {
            width,
            height,
            data: vec![false; width * height],
        }
    }

    /// Wraps a buffer; `None` when its length is not `width * height`.
    pub fn from_vec(width: usize, height: usize, data: Vec<bool>) -> Option<Self> {
        (data.len() == width * height).then_some(Self {
            width,
            height,
            data,
        })
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    pub fn data(&self) -> &[bool] {
        &self.data
    }

    pub fn data_mut(&mut self) -> &mut [bool] {
        &mut self.data
    }

    /// `false` outside the mask.
    pub fn get(&self, x: i64, y: i64) -> bool {
        x >= 0
            && y >= 0
            && (x as usize) < self.width
            && (y as usize) < self.height
            && self.data[y as usize * self.width + x as usize]
    }

    /// Sets a pixel; ignored outside.
    pub fn set(&mut self, x: i64, y: i64, value: bool) {
        if x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height {
            self.data[y as usize * self.width + x as usize] = value;
        }
    }

    /// Number of foreground pixels.
    pub fn count(&self) -> usize {
        self.data.iter().filter(|&&v| v).count()
    }
}

/// One object's pixels: a bounding box in image coordinates and a mask local
/// to that box. Invariant: `mask` is `bbox.w` x `bbox.h` and the bbox is tight
/// (every edge row and column holds a foreground pixel) unless empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub bbox: BBox,
    pub mask: Mask,
}

impl Region {
    /// Builds a tight region from a list of image pixel coordinates.
    pub fn from_pixels(pixels: &[(usize, usize)]) -> Self {
        if pixels.is_empty() {
            return Self {
                bbox: BBox::default(),
                mask: Mask::new(0, 0),
            };
        }
        let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
        for &(x, y) in pixels {
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
        }
        let bbox = BBox {
            x: x0,
            y: y0,
            w: x1 - x0 + 1,
            h: y1 - y0 + 1,
        };
        let mut mask = Mask::new(bbox.w, bbox.h);
        for &(x, y) in pixels {
            mask.set((x - x0) as i64, (y - y0) as i64, true);
        }
        Self { bbox, mask }
    }

    /// Number of pixels.
    pub fn area(&self) -> usize {
        self.mask.count()
    }

    /// True when image pixel `(x, y)` belongs to the region.
    pub fn contains(&self, x: i64, y: i64) -> bool {
        self.mask
            .get(x - self.bbox.x as i64, y - self.bbox.y as i64)
    }

    /// Image coordinates of every pixel, row by row.
    pub fn pixels(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for y in 0..self.bbox.h {
            for x in 0..self.bbox.w {
                if self.mask.data[y * self.bbox.w + x] {
                    out.push((self.bbox.x + x, self.bbox.y + y));
                }
            }
        }
        out
    }

    /// Centroid in image coordinates.
    pub fn centroid(&self) -> (f64, f64) {
        let px = self.pixels();
        let n = px.len().max(1) as f64;
        let sx: f64 = px.iter().map(|p| p.0 as f64).sum();
        let sy: f64 = px.iter().map(|p| p.1 as f64).sum();
        (sx / n, sy / n)
    }

    /// Number of pixels shared with `other`.
    pub fn intersection(&self, other: &Region) -> usize {
        let x0 = self.bbox.x.max(other.bbox.x);
        let y0 = self.bbox.y.max(other.bbox.y);
        let x1 = (self.bbox.x + self.bbox.w).min(other.bbox.x + other.bbox.w);
        let y1 = (self.bbox.y + self.bbox.h).min(other.bbox.y + other.bbox.h);
        let mut n = 0;
        for y in y0..y1 {
            for x in x0..x1 {
                if self.contains(x as i64, y as i64) && other.contains(x as i64, y as i64) {
                    n += 1;
                }
            }
        }
        n
    }

    /// Intersection over union with `other` (0 when both are empty).
    pub fn iou(&self, other: &Region) -> f64 {
        let inter = self.intersection(other);
        let union = self.area() + other.area() - inter;
        if union == 0 {
            0.0
        } else {
            inter as f64 / union as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_round_trip_and_iou() {
        let a = Region::from_pixels(&[(2, 3), (3, 3), (3, 4)]);
        assert_eq!(
            a.bbox,
            BBox {
                x: 2,
                y: 3,
                w: 2,
                h: 2
            }
        );
        assert_eq!(a.area(), 3);
        assert_eq!(a.pixels(), vec![(2, 3), (3, 3), (3, 4)]);
        let b = Region::from_pixels(&[(3, 3), (3, 4), (4, 4)]);
        assert_eq!(a.intersection(&b), 2);
        assert!((a.iou(&b) - 0.5).abs() < 1e-9);
    }

    #[test]
    fn bilinear_interpolates_and_handles_outside() {
        let img = GrayImage::from_vec(2, 1, vec![0, 100]).unwrap();
        assert!((img.sample_bilinear(0.5, 0.0, 0.0) - 50.0).abs() < 1e-9);
        assert_eq!(img.sample_bilinear(-5.0, 0.0, 7.0), 7.0);
        assert!(GrayImage::from_vec(2, 2, vec![0; 3]).is_none());
    }
}
