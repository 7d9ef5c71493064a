//! What a reviewer sees of one cell, derived from its stored state and the
//! spread: each object's straightened crop (p arm up), length and outline,
//! the class counts, the numerical karyotype and the karyogram layout.
//!
//! It is derived, never stored, so it cannot go stale after an edit: the
//! GUI recomputes it (in the background) whenever the cell changes, reusing
//! the objects whose pixels and orientation did not change.

use std::collections::BTreeMap;

use crate::domain::analysis::gband_look;
use crate::domain::chromosome::{CLASS_COUNT, ChromosomeClass, Polarity};
use crate::domain::ids::ObjectId;
use crate::domain::iscn::NumericalKaryotype;
use crate::domain::modality::Modality;
use crate::domain::raster::{GrayImage, Region};

use super::edit::{CellObject, CellState};
use super::layout::{KaryogramLayout, LayoutItem, LayoutParams, layout};

/// One object as shown.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectView {
    /// The crop in the spread's own look, p arm up (straightened along the
    /// medial axis, or the plain bounding box when the object is too small
    /// to straighten).
    pub crop: GrayImage,
    /// The crop is straightened (false: bounding box only).
    pub straightened: bool,
    pub length_px: f64,
    /// Centre of mass in image coordinates.
    pub centroid: (f64, f64),
    /// Outline in image coordinates (pixel corners).
    pub outline: Vec<(f64, f64)>,
    fingerprint: (usize, u64, Polarity, i32),
}

/// The whole cell as shown.
#[derive(Debug, Clone, PartialEq)]
pub struct CellView {
    /// Every object, rejected ones included.
    pub objects: BTreeMap<ObjectId, ObjectView>,
    /// Active objects per class (index = `ChromosomeClass::index`).
    pub counts: [usize; CLASS_COUNT],
    pub unassigned: usize,
    pub karyotype: NumericalKaryotype,
    /// Layout of the active objects; one crop pixel = `scale` karyogram units.
    pub layout: KaryogramLayout,
    pub scale: f64,
}

fn fingerprint(o: &CellObject) -> (usize, u64, Polarity, i32) {
    // FNV-1a over the pixel list: cheap and order-stable (BTreeSet).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &(x, y) in &o.pixels {
        for b in x.to_le_bytes().into_iter().chain(y.to_le_bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    (o.pixels.len(), h, o.polarity, o.rotation_deg)
}

/// `look` is the spread in G-band look (see [`gband_look`]).
fn view_object(
    gray: &GrayImage,
    look: &GrayImage,
    modality: Modality,
    o: &CellObject,
) -> ObjectView {
    let pixels: Vec<(usize, usize)> = o
        .pixels
        .iter()
        .map(|&(x, y)| (x as usize, y as usize))
        .filter(|&(x, y)| x < gray.width() && y < gray.height())
        .collect();
    let centroid = if pixels.is_empty() {
        (0.0, 0.0)
    } else {
        Region::from_pixels(&pixels).centroid()
    };
    // The same crop the exports use (one truth for what is shown and
    // exported); objects too small to straighten show their bounding box.
    let straight = (pixels.len() >= 12)
        .then(|| super::crop::straightened_crop(look, o))
        .flatten()
        .filter(|c| c.height() >= 8);
    let (crop, straightened, length_px) = match straight {
        Some(c) => {
            let len = c.height() as f64;
            (c, true, len)
        }
        None => {
            let c = bbox_crop(look, &pixels);
            let len = c.height().max(c.width()) as f64;
            (c, false, len)
        }
    };
    let crop = match o.polarity {
        Polarity::PUp => crop,
        Polarity::PDown => crop.rotated_180(),
    };
    let crop = super::crop::rotate(&crop, o.rotation_deg);
    let crop = match modality {
        Modality::Brightfield => crop,
        Modality::Fluorescence => crop.inverted(),
    };
    ObjectView {
        crop,
        straightened,
        length_px,
        centroid,
        outline: o.outline(),
        fingerprint: fingerprint(o),
    }
}

/// The object's pixels on a white background, cropped to their bounding box.
fn bbox_crop(look: &GrayImage, pixels: &[(usize, usize)]) -> GrayImage {
    let (Some(x0), Some(y0)) = (
        pixels.iter().map(|p| p.0).min(),
        pixels.iter().map(|p| p.1).min(),
    ) else {
        return GrayImage::new(1, 1, 255);
    };
    let x1 = pixels.iter().map(|p| p.0).max().unwrap_or(x0);
    let y1 = pixels.iter().map(|p| p.1).max().unwrap_or(y0);
    let mut out = GrayImage::new(x1 - x0 + 1, y1 - y0 + 1, 255);
    for &(x, y) in pixels {
        out.set((x - x0) as i64, (y - y0) as i64, look.at(x, y));
    }
    out
}

impl CellView {
    /// Derives the view of `cell` on the spread `gray`, reusing the objects
    /// of `previous` whose pixels and polarity are unchanged. `scale` maps
    /// crop pixels to karyogram units.
    pub fn derive(
        gray: &GrayImage,
        modality: Modality,
        cell: &CellState,
        previous: Option<&CellView>,
        scale: f64,
    ) -> Self {
        let look = gband_look(gray, modality);
        let objects: BTreeMap<ObjectId, ObjectView> = cell
            .objects
            .values()
            .map(|o| {
                let reused = previous
                    .and_then(|p| p.objects.get(&o.id))
                    .filter(|v| v.fingerprint == fingerprint(o));
                let view = match reused {
                    Some(v) => v.clone(),
                    None => view_object(gray, &look, modality, o),
                };
                (o.id, view)
            })
            .collect();
        Self::arrange(cell, objects, scale)
    }

    fn arrange(cell: &CellState, objects: BTreeMap<ObjectId, ObjectView>, scale: f64) -> Self {
        let mut counts = [0usize; CLASS_COUNT];
        let mut unassigned = 0;
        let mut active: Vec<&CellObject> = cell.active().collect();
        for o in &active {
            match o.class {
                Some(c) => counts[c.index()] += 1,
                None => unassigned += 1,
            }
        }
        let length = |o: &CellObject| objects.get(&o.id).map_or(0.0, |v| v.length_px);
        active.sort_by(|a, b| {
            a.slot
                .cmp(&b.slot)
                .then(length(b).total_cmp(&length(a)))
                .then(a.id.cmp(&b.id))
        });
        let items: Vec<LayoutItem> = active
            .iter()
            .map(|o| {
                let (w, h) = objects
                    .get(&o.id)
                    .map_or((1, 1), |v| (v.crop.width(), v.crop.height()));
                LayoutItem {
                    id: o.id,
                    class: o.class,
                    width: w as f64 * scale,
                    height: h as f64 * scale,
                }
            })
            .collect();
        let layout = layout(&items, &LayoutParams::default());
        Self {
            objects,
            karyotype: NumericalKaryotype::from_counts(&counts, unassigned),
            counts,
            unassigned,
            layout,
            scale,
        }
    }

    /// Active objects in `class`.
    pub fn count(&self, class: ChromosomeClass) -> usize {
        self.counts[class.index()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::karyogram::edit::{Edit, Producer};
    use crate::domain::ports::ModelInfo;
    use std::collections::BTreeSet;

    fn object(id: u32, class: Option<ChromosomeClass>, x0: u32, len: u32) -> CellObject {
        let pixels: BTreeSet<(u32, u32)> = (10..10 + len)
            .flat_map(|y| (x0..x0 + 6).map(move |x| (x, y)))
            .collect();
        CellObject {
            id: ObjectId(id),
            class,
            proposed: class,
            slot: 0,
            polarity: Polarity::PUp,
            rotation_deg: 0,
            pixels,
            rejected: None,
            accepted: false,
            flags: Vec::new(),
            probabilities: vec![1.0 / 24.0; 24],
            producer: Producer {
                segmenter: ModelInfo::new("t", "1"),
                classifier: ModelInfo::new("t", "1"),
            },
        }
    }

    fn spread(cell: &CellState) -> GrayImage {
        let mut g = GrayImage::new(200, 100, 230);
        for o in cell.objects.values() {
            for &(x, y) in &o.pixels {
                g.set(i64::from(x), i64::from(y), 60);
            }
        }
        g
    }

    #[test]
    fn counts_karyotype_and_layout_follow_edits_and_reuse_unchanged_objects() {
        let c1 = ChromosomeClass::autosome(1);
        let mut cell = CellState::default();
        for (i, x) in [(0, 10), (1, 30), (2, 50)] {
            cell.objects.insert(ObjectId(i), object(i, c1, x, 40));
        }
        cell.objects.insert(ObjectId(3), object(3, None, 70, 3));
        let gray = spread(&cell);
        let view = CellView::derive(&gray, Modality::Brightfield, &cell, None, 1.0);
        assert_eq!(view.counts[0], 3);
        assert_eq!(view.unassigned, 1);
        assert_eq!(view.karyotype.count, 4);
        assert!(view.objects[&ObjectId(0)].straightened);
        // A 6x3 crumb is too short to straighten but still shown.
        assert!(!view.objects[&ObjectId(3)].straightened);
        assert_eq!(view.layout.unassigned.len(), 1);
        assert_eq!(view.layout.groups[0].members.len(), 3);

        let o2 = cell.objects[&ObjectId(2)].clone();
        Edit::Reject {
            object: o2.id,
            reason: "debris".into(),
        }
        .apply(&mut cell)
        .unwrap();
        Edit::Flip {
            object: ObjectId(0),
        }
        .apply(&mut cell)
        .unwrap();
        let next = CellView::derive(&gray, Modality::Brightfield, &cell, Some(&view), 1.0);
        assert_eq!(next.counts[0], 2);
        assert_eq!(next.layout.groups[0].members.len(), 2);
        // Object 1 reused as is; object 0 turned over.
        assert_eq!(next.objects[&ObjectId(1)], view.objects[&ObjectId(1)]);
        assert_eq!(
            next.objects[&ObjectId(0)].crop,
            view.objects[&ObjectId(0)].crop.rotated_180()
        );
    }

    #[test]
    fn an_empty_cell_and_out_of_image_pixels_still_derive() {
        let gray = GrayImage::new(10, 10, 200);
        let view = CellView::derive(
            &gray,
            Modality::Fluorescence,
            &CellState::default(),
            None,
            1.0,
        );
        assert_eq!(view.karyotype.count, 0);
        let mut cell = CellState::default();
        let mut o = object(0, ChromosomeClass::autosome(2), 500, 40);
        o.pixels.insert((9, 9));
        cell.objects.insert(o.id, o);
        let view = CellView::derive(&gray, Modality::Brightfield, &cell, None, 1.0);
        assert_eq!(view.counts[1], 1);
    }
}
