//! COCO instance-segmentation pieces: masks as COCO run-length encoding
//! (column-major over the whole image, runs alternate background and
//! foreground starting with background) in the compressed string form that
//! `pycocotools.mask.encode` writes, and the JSON document types.
//!
//! The compressed form (pycocotools `rleToString`): each count, from the
//! third on minus the count two before it, is written as a signed number in
//! 5-bit groups, low group first; each group is a character `48 + group`,
//! with bit 0x20 set while more groups follow and bit 0x10 the sign of the
//! last group.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::domain::chromosome::{CLASS_COUNT, ChromosomeClass};

/// Category id of the class (1..=22 for autosomes, 23 X, 24 Y).
pub fn category_id(class: ChromosomeClass) -> u32 {
    class.index() as u32 + 1
}

/// Category id of objects a technologist rejected.
pub const REJECTED_CATEGORY: u32 = CLASS_COUNT as u32 + 1;

/// The category list: 1..=22, X, Y, rejected.
pub fn categories() -> Vec<Category> {
    let mut out: Vec<Category> = ChromosomeClass::all()
        .map(|c| Category {
            id: category_id(c),
            name: c.label().to_string(),
            supercategory: "chromosome".into(),
        })
        .collect();
    out.push(Category {
        id: REJECTED_CATEGORY,
        name: "rejected".into(),
        supercategory: "rejected".into(),
    });
    out
}

/// Column-major uncompressed counts of `pixels` in a `width` x `height`
/// image; pixels outside the image are ignored.
pub fn rle_counts(pixels: &BTreeSet<(u32, u32)>, width: u32, height: u32) -> Vec<u32> {
    let mut idx: Vec<u64> = pixels
        .iter()
        .filter(|&&(x, y)| x < width && y < height)
        .map(|&(x, y)| u64::from(x) * u64::from(height) + u64::from(y))
        .collect();
    idx.sort_unstable();
    let total = u64::from(width) * u64::from(height);
    let (mut counts, pos) = crate::store::rle::runs(&idx);
    if pos < total || counts.is_empty() {
        counts.push((total - pos) as u32);
    }
    counts
}

/// Pixels of column-major counts; `None` when they overrun the image.
pub fn rle_pixels(counts: &[u32], width: u32, height: u32) -> Option<BTreeSet<(u32, u32)>> {
    let total = u64::from(width) * u64::from(height);
    let mut out = BTreeSet::new();
    let mut pos = 0u64;
    for (k, &c) in counts.iter().enumerate() {
        let end = pos + u64::from(c);
        if end > total {
            return None;
        }
        if k % 2 == 1 && height > 0 {
            for i in pos..end {
                out.insert((
                    (i / u64::from(height)) as u32,
                    (i % u64::from(height)) as u32,
                ));
            }
        }
        pos = end;
    }
    Some(out)
}

/// The compressed string of uncompressed counts.
pub fn compress(counts: &[u32]) -> String {
    let mut out = String::new();
    for (i, &c) in counts.iter().enumerate() {
        let mut x = i64::from(c);
        if i > 2 {
            x -= i64::from(counts[i - 2]);
        }
        loop {
            let mut group = (x & 0x1f) as u8;
            x >>= 5;
            let more = if group & 0x10 != 0 { x != -1 } else { x != 0 };
            if more {
                group |= 0x20;
            }
            out.push(char::from(group + 48));
            if !more {
                break;
            }
        }
    }
    out
}

/// Uncompressed counts of a compressed string; `None` when it is malformed.
pub fn decompress(text: &str) -> Option<Vec<u32>> {
    let bytes = text.as_bytes();
    let mut counts: Vec<u32> = Vec::new();
    let mut p = 0;
    while p < bytes.len() {
        let mut x: i64 = 0;
        let mut k = 0;
        loop {
            let c = i64::from(bytes.get(p)?.checked_sub(48)?);
            if c > 0x3f || k > 12 {
                return None;
            }
            x |= (c & 0x1f) << (5 * k);
            let more = c & 0x20 != 0;
            p += 1;
            k += 1;
            if !more {
                if c & 0x10 != 0 {
                    x |= -1_i64 << (5 * k);
                }
                break;
            }
        }
        let i = counts.len();
        if i > 2 {
            x += i64::from(counts[i - 2]);
        }
        counts.push(u32::try_from(x).ok()?);
    }
    Some(counts)
}

/// A mask as COCO writes it: `{"size": [h, w], "counts": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CocoRle {
    pub size: [u32; 2],
    pub counts: String,
}

impl CocoRle {
    pub fn encode(pixels: &BTreeSet<(u32, u32)>, width: u32, height: u32) -> Self {
        Self {
            size: [height, width],
            counts: compress(&rle_counts(pixels, width, height)),
        }
    }

    /// The pixels; `None` when the counts are malformed.
    pub fn decode(&self) -> Option<BTreeSet<(u32, u32)>> {
        let [h, w] = self.size;
        rle_pixels(&decompress(&self.counts)?, w, h)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    pub id: u32,
    pub name: String,
    pub supercategory: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CocoImage {
    pub id: u64,
    pub file_name: String,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CocoAnnotation {
    pub id: u64,
    pub image_id: u64,
    pub category_id: u32,
    pub segmentation: CocoRle,
    pub area: u64,
    /// `[x, y, w, h]` in pixels.
    pub bbox: [f64; 4],
    pub iscrowd: u8,
    /// KaryoStation extras: whether a technologist changed the object, and
    /// the last edit that did.
    pub corrected: bool,
    pub edit: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CocoInfo {
    pub description: String,
    pub version: String,
}

/// A whole COCO file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CocoDataset {
    pub info: CocoInfo,
    pub images: Vec<CocoImage>,
    pub annotations: Vec<CocoAnnotation>,
    pub categories: Vec<Category>,
}

/// `[x, y, w, h]` of a pixel set (zeros when empty).
pub fn bbox(pixels: &BTreeSet<(u32, u32)>) -> [f64; 4] {
    let mut it = pixels.iter();
    let Some(&(fx, fy)) = it.next() else {
        return [0.0; 4];
    };
    let (mut x0, mut y0, mut x1, mut y1) = (fx, fy, fx, fy);
    for &(x, y) in it {
        x0 = x0.min(x);
        y0 = y0.min(y);
        x1 = x1.max(x);
        y1 = y1.max(y);
    }
    [
        f64::from(x0),
        f64::from(y0),
        f64::from(x1 - x0 + 1),
        f64::from(y1 - y0 + 1),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rng::Rng;

    #[test]
    fn known_pycocotools_strings() {
        // pycocotools.mask.encode of a 3x3 Fortran array with only (row 1,
        // col 1) set: counts [4, 1, 4] -> "414".
        let px: BTreeSet<(u32, u32)> = [(1, 1)].into_iter().collect();
        assert_eq!(rle_counts(&px, 3, 3), vec![4, 1, 4]);
        assert_eq!(compress(&[4, 1, 4]), "414");
        // Larger counts and negative differences use several groups.
        for counts in [vec![100, 3, 2, 40, 7000], vec![0, 9], vec![25]] {
            assert_eq!(decompress(&compress(&counts)), Some(counts));
        }
        assert_eq!(decompress("\u{1}"), None);
    }

    #[test]
    fn masks_round_trip() {
        let mut rng = Rng::new(5);
        for _ in 0..100 {
            let (w, h) = (
                (rng.next_u64() % 30 + 1) as u32,
                (rng.next_u64() % 30 + 1) as u32,
            );
            let n = rng.next_u64() % 200;
            let px: BTreeSet<(u32, u32)> = (0..n)
                .map(|_| {
                    (
                        (rng.next_u64() % u64::from(w)) as u32,
                        (rng.next_u64() % u64::from(h)) as u32,
                    )
                })
                .collect();
            let rle = CocoRle::encode(&px, w, h);
            assert_eq!(rle.decode(), Some(px));
            let total: u64 = decompress(&rle.counts)
                .unwrap_or_default()
                .iter()
                .map(|&c| u64::from(c))
                .sum();
            assert_eq!(total, u64::from(w) * u64::from(h));
        }
    }

    #[test]
    fn categories_are_1_to_22_x_y_rejected() {
        let c = categories();
        assert_eq!(c.len(), 25);
        assert_eq!((c[0].id, c[0].name.as_str()), (1, "1"));
        assert_eq!((c[22].id, c[22].name.as_str()), (23, "X"));
        assert_eq!((c[24].id, c[24].name.as_str()), (25, "rejected"));
    }
}
