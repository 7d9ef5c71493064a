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
use super::homolog::{self, HomologMember, PairDifference, rank_pairs};
use super::layout::{KaryogramLayout, LayoutItem, LayoutParams, layout};
use crate::domain::bands::BandLevel;

/// How the karyogram is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ViewOptions {
    /// Karyogram units per crop pixel (the same for every chromosome).
    pub scale: f64,
    /// Straightened crops (false: the chromosome rotated upright only).
    pub straighten: bool,
    /// Room for an ideogram beside each class (karyogram units; 0: none).
    pub ideogram_width: f64,
    /// Keep an (empty) unassigned row as a drop target.
    pub unassigned_row: bool,
    /// Band level for naming homolog differences.
    pub band_level: BandLevel,
}

impl ViewOptions {
    /// Straightened, no ideograms, at `scale`.
    pub fn plain(scale: f64) -> Self {
        Self {
            scale,
            straighten: true,
            ideogram_width: 0.0,
            unassigned_row: false,
            band_level: BandLevel::B400,
        }
    }
}

/// One object as shown.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectView {
    /// The crop in the spread's own look, p arm up (straightened along the
    /// medial axis, or the plain bounding box when the object is too small
    /// to straighten).
    pub crop: GrayImage,
    /// The chromosome as cut from the spread, turned so its long axis is
    /// vertical and its p arm up (no straightening), then by its rotation.
    pub rotated: GrayImage,
    /// The crop is straightened (false: bounding box only).
    pub straightened: bool,
    /// Banding profile pter to qter (see [`homolog::banding_profile`]).
    pub profile: Vec<f64>,
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
    /// Layout of the active objects; one crop pixel = `options.scale`
    /// karyogram units.
    pub layout: KaryogramLayout,
    pub options: ViewOptions,
    /// Homolog pairs compared, most different first.
    pub pairs: Vec<PairDifference>,
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
    let profile = straight.as_ref().map_or_else(Vec::new, |c| {
        let upright = match o.polarity {
            Polarity::PUp => c.clone(),
            Polarity::PDown => c.rotated_180(),
        };
        homolog::banding_profile(&upright)
    });
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
    let rotated = super::crop::rotate(&bbox_crop(look, &pixels), upright_turn(&pixels));
    let finish = |crop: GrayImage| {
        let crop = match o.polarity {
            Polarity::PUp => crop,
            Polarity::PDown => crop.rotated_180(),
        };
        let crop = super::crop::rotate(&crop, o.rotation_deg);
        match modality {
            Modality::Brightfield => crop,
            Modality::Fluorescence => crop.inverted(),
        }
    };
    ObjectView {
        crop: finish(crop),
        rotated: finish(rotated),
        straightened,
        profile,
        length_px,
        centroid,
        outline: o.outline(),
        fingerprint: fingerprint(o),
    }
}

/// The clockwise turn (degrees, -90..=90) that makes the long axis of
/// `pixels` vertical (second moments; 0 for a blob or fewer than 2 pixels).
fn upright_turn(pixels: &[(usize, usize)]) -> i32 {
    let n = pixels.len() as f64;
    if pixels.len() < 2 {
        return 0;
    }
    let (mx, my) = pixels.iter().fold((0.0, 0.0), |(sx, sy), &(x, y)| {
        (sx + x as f64 / n, sy + y as f64 / n)
    });
    let (mut xx, mut yy, mut xy) = (0.0, 0.0, 0.0);
    for &(x, y) in pixels {
        let (dx, dy) = (x as f64 - mx, y as f64 - my);
        xx += dx * dx;
        yy += dy * dy;
        xy += dx * dy;
    }
    // Angle of the long axis from the x axis, clockwise on screen (y down).
    let theta = 0.5 * (2.0 * xy).atan2(xx - yy);
    let turn = 90.0 - theta.to_degrees();
    let turn = if turn > 90.0 { turn - 180.0 } else { turn };
    turn.round() as i32
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
    /// of `previous` whose pixels and polarity are unchanged.
    pub fn derive(
        gray: &GrayImage,
        modality: Modality,
        cell: &CellState,
        previous: Option<&CellView>,
        options: &ViewOptions,
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
        Self::arrange(cell, objects, options)
    }

    /// The same crops laid out with other options (e.g. the straightened /
    /// rotated toggle), without measuring anything again.
    pub fn rearranged(self, cell: &CellState, options: &ViewOptions) -> Self {
        Self::arrange(cell, self.objects, options)
    }

    /// The crop shown for `id` under the view's options.
    pub fn shown(&self, id: ObjectId) -> Option<&GrayImage> {
        self.objects.get(&id).map(|v| {
            if self.options.straighten {
                &v.crop
            } else {
                &v.rotated
            }
        })
    }

    fn arrange(
        cell: &CellState,
        objects: BTreeMap<ObjectId, ObjectView>,
        options: &ViewOptions,
    ) -> Self {
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
                let (w, h) = objects.get(&o.id).map_or((1, 1), |v| {
                    let c = if options.straighten {
                        &v.crop
                    } else {
                        &v.rotated
                    };
                    (c.width(), c.height())
                });
                LayoutItem {
                    id: o.id,
                    class: o.class,
                    width: w as f64 * options.scale,
                    height: h as f64 * options.scale,
                }
            })
            .collect();
        let layout = layout(
            &items,
            &LayoutParams {
                ideogram_width: options.ideogram_width,
                unassigned_row: options.unassigned_row,
                ..LayoutParams::default()
            },
        );
        let members: Vec<HomologMember<'_>> = active
            .iter()
            .filter_map(|o| {
                Some(HomologMember {
                    id: o.id,
                    class: o.class?,
                    slot: o.slot,
                    profile: &objects.get(&o.id)?.profile,
                })
            })
            .collect();
        let pairs = rank_pairs(&members, options.band_level);
        Self {
            pairs,
            objects,
            karyotype: NumericalKaryotype::from_counts(&counts, unassigned),
            counts,
            unassigned,
            layout,
            options: *options,
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
            class,
            proposed: class,
            probabilities: vec![1.0 / 24.0; 24],
            ..CellObject::new(
                ObjectId(id),
                pixels,
                Producer {
                    segmenter: ModelInfo::new("t", "1"),
                    classifier: ModelInfo::new("t", "1"),
                },
            )
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
        let view = CellView::derive(
            &gray,
            Modality::Brightfield,
            &cell,
            None,
            &ViewOptions::plain(1.0),
        );
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
        let next = CellView::derive(
            &gray,
            Modality::Brightfield,
            &cell,
            Some(&view),
            &ViewOptions::plain(1.0),
        );
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
            &ViewOptions::plain(1.0),
        );
        assert_eq!(view.karyotype.count, 0);
        let mut cell = CellState::default();
        let mut o = object(0, ChromosomeClass::autosome(2), 500, 40);
        o.pixels.insert((9, 9));
        cell.objects.insert(o.id, o);
        let view = CellView::derive(
            &gray,
            Modality::Brightfield,
            &cell,
            None,
            &ViewOptions::plain(1.0),
        );
        assert_eq!(view.counts[1], 1);
    }

    #[test]
    fn the_rotated_view_stands_a_lying_chromosome_upright() {
        // A horizontal rod: 40 long, 6 wide.
        let mut o = object(0, ChromosomeClass::autosome(3), 0, 1);
        o.pixels = (20..60u32)
            .flat_map(|x| (40..46u32).map(move |y| (x, y)))
            .collect();
        let mut cell = CellState::default();
        cell.objects.insert(o.id, o);
        let gray = spread(&cell);
        let options = ViewOptions {
            straighten: false,
            ideogram_width: 6.0,
            unassigned_row: true,
            ..ViewOptions::plain(1.0)
        };
        let view = CellView::derive(&gray, Modality::Brightfield, &cell, None, &options);
        let r = &view.objects[&ObjectId(0)].rotated;
        assert!(r.height() > 2 * r.width(), "{}x{}", r.width(), r.height());
        let shown = view.shown(ObjectId(0)).unwrap();
        assert_eq!(shown, r);
        let member = view.layout.groups[2].members[0].1;
        assert!((member.h - r.height() as f64).abs() < 1e-9);
        assert!(view.layout.groups[2].ideogram.is_some());
        assert!(view.layout.unassigned_area.is_some());
        // Toggling back to straightened reuses the crops.
        let straight = view.clone().rearranged(&cell, &ViewOptions::plain(1.0));
        assert_eq!(straight.objects, view.objects);
        assert_eq!(
            straight.shown(ObjectId(0)),
            Some(&view.objects[&ObjectId(0)].crop)
        );
        assert_eq!(upright_turn(&[(0, 0), (0, 5), (0, 9)]), 0);
        assert_eq!(upright_turn(&[]), 0);
    }

    #[test]
    fn odd_cells_still_render_and_take_edits() {
        // 0, 1 and 90 objects; five members of one class; a 2-pixel crumb.
        let c7 = ChromosomeClass::autosome(7);
        let mut cells = Vec::new();
        cells.push(CellState::default());
        let mut one = CellState::default();
        one.objects.insert(ObjectId(0), object(0, c7, 10, 30));
        cells.push(one);
        let mut many = CellState::default();
        for i in 0..90u32 {
            let class = ChromosomeClass::from_index(i as usize % 24);
            let mut o = object(i, class, 0, 1);
            o.slot = i / 24;
            o.pixels = (0..(5 + i % 20))
                .flat_map(|y| (0..3u32).map(move |x| ((i % 30) * 6 + x, (i / 30) * 30 + y)))
                .collect();
            many.objects.insert(o.id, o);
        }
        cells.push(many);
        let mut five = CellState::default();
        for i in 0..5u32 {
            let mut o = object(i, c7, 10 + i * 12, 30 + i);
            o.slot = i;
            five.objects.insert(o.id, o);
        }
        let mut crumb = object(5, c7, 100, 1);
        crumb.pixels = [(100, 10), (101, 10)].into_iter().collect();
        five.objects.insert(crumb.id, crumb);
        cells.push(five);
        let options = ViewOptions {
            ideogram_width: 8.0,
            unassigned_row: true,
            ..ViewOptions::plain(1.0)
        };
        for cell in &mut cells {
            let gray = spread(cell);
            let view = CellView::derive(&gray, Modality::Brightfield, cell, None, &options);
            let placed: usize = view
                .layout
                .groups
                .iter()
                .map(|g| g.members.len())
                .sum::<usize>()
                + view.layout.unassigned.len();
            assert_eq!(placed, cell.active().count());
            assert!(view.layout.width.is_finite() && view.layout.height > 0.0);
            for p in &view.pairs {
                assert!(p.score.is_finite());
            }
            // Every object can be dropped to unassigned and back.
            if let Some(id) = cell.objects.keys().next().copied() {
                let from = cell.objects[&id].class;
                let edit = Edit::Batch {
                    edits: vec![
                        Edit::Reclassify {
                            object: id,
                            from,
                            to: None,
                        },
                        Edit::Move {
                            object: id,
                            from: cell.objects[&id].slot,
                            to: 9,
                        },
                    ],
                };
                edit.apply(cell).unwrap();
                let next =
                    CellView::derive(&gray, Modality::Brightfield, cell, Some(&view), &options);
                assert_eq!(next.unassigned, view.unassigned + 1);
                edit.invert().apply(cell).unwrap();
                assert_eq!(cell.objects[&id].class, from);
            }
        }
        let five_view = CellView::derive(
            &spread(&cells[3]),
            Modality::Brightfield,
            &cells[3],
            None,
            &options,
        );
        assert_eq!(five_view.count(c7.unwrap()), 6);
        assert!(
            !five_view.objects[&ObjectId(5)].straightened,
            "the crumb is shown unstraightened"
        );
        assert_eq!(five_view.pairs.len(), 1, "one pair: the two lowest slots");
    }
}
