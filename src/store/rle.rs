//! Masks as run-length encoding, COCO-style uncompressed counts but in
//! ROW-MAJOR order inside the mask's bounding box: `{"bbox":[x,y,w,h],
//! "counts":[c0,c1,...]}`, runs alternate background, foreground, ...,
//! starting with background (so `c0` may be 0).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// Run lengths of sorted, distinct linear pixel indices: gap, run, gap,
/// run, ... starting with the gap before the first run (possibly 0), and
/// the index just past the last run. Shared by this store encoding and the
/// COCO export.
pub fn runs(sorted: &[u64]) -> (Vec<u32>, u64) {
    let mut counts = Vec::new();
    let mut pos = 0u64;
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        counts.push((start - pos) as u32);
        let mut end = start + 1;
        i += 1;
        while i < sorted.len() && sorted[i] == end {
            end += 1;
            i += 1;
        }
        counts.push((end - start) as u32);
        pos = end;
    }
    (counts, pos)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rle {
    pub bbox: [u32; 4],
    pub counts: Vec<u32>,
}

impl Rle {
    /// Encodes a pixel set.
    pub fn encode(pixels: &BTreeSet<(u32, u32)>) -> Self {
        if pixels.is_empty() {
            return Self {
                bbox: [0; 4],
                counts: Vec::new(),
            };
        }
        let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
        for &(x, y) in pixels {
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
        }
        let (w, h) = (x1 - x0 + 1, y1 - y0 + 1);
        // Row-major linear indices, sorted.
        let mut idx: Vec<u64> = pixels
            .iter()
            .map(|&(x, y)| u64::from(y - y0) * u64::from(w) + u64::from(x - x0))
            .collect();
        idx.sort_unstable();
        let (counts, _) = runs(&idx);
        Self {
            bbox: [x0, y0, w, h],
            counts,
        }
    }

    /// Decodes into a pixel set; `None` when the runs overflow the box.
    pub fn decode(&self) -> Option<BTreeSet<(u32, u32)>> {
        let [x0, y0, w, h] = self.bbox;
        let total = u64::from(w) * u64::from(h);
        let mut out = BTreeSet::new();
        let mut pos = 0u64;
        for (k, &c) in self.counts.iter().enumerate() {
            let end = pos + u64::from(c);
            if end > total {
                return None;
            }
            if k % 2 == 1 {
                for i in pos..end {
                    out.insert((
                        x0 + (i % u64::from(w)) as u32,
                        y0 + (i / u64::from(w)) as u32,
                    ));
                }
            }
            pos = end;
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rng::Rng;

    #[test]
    fn round_trip() {
        let mut rng = Rng::new(11);
        for _ in 0..200 {
            let n = rng.next_u64() % 60;
            let pixels: BTreeSet<(u32, u32)> = (0..n)
                .map(|_| {
                    (
                        (rng.next_u64() % 9 + 5) as u32,
                        (rng.next_u64() % 7 + 3) as u32,
                    )
                })
                .collect();
            let rle = Rle::encode(&pixels);
            assert_eq!(rle.decode(), Some(pixels));
        }
        let row = Rle::encode(&[(2, 1), (3, 1), (2, 2)].into_iter().collect());
        assert_eq!(row.bbox, [2, 1, 2, 2]);
        assert_eq!(row.counts, vec![0, 3]);
    }
}
