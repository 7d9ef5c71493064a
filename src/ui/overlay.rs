//! The class-coloured mask overlay of the open cell: one RGBA texture the
//! size of the spread, and the object under each pixel (for hover and
//! click). Built once per cell; after a correction only the rectangle
//! covering the objects that changed is painted again and uploaded
//! (`TextureHandle::set_partial`), so a cut on a 2048 x 2048 spread does not
//! repaint and upload 16 MB in the frame that shows it.

use std::collections::BTreeMap;

use egui::{Color32, ColorImage, TextureHandle, TextureOptions};

use crate::domain::ids::{MetaphaseId, ObjectId};
use crate::domain::karyogram::edit::CellObject;

use super::theme;

/// What was painted for one object: enough to tell whether it changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Painted {
    color: Color32,
    /// `[x0, y0, x1, y1)` in image pixels, clipped to the image.
    bbox: [usize; 4],
    /// Hash of the object's pixels.
    fingerprint: u64,
}

/// The overlay texture and label map of one cell.
pub struct Overlay {
    /// The cell and whether rejected objects are shown.
    key: (MetaphaseId, bool),
    /// The cell generation it shows.
    generation: u64,
    texture: TextureHandle,
    size: [usize; 2],
    /// Object id + 1 per image pixel (0 = none).
    labels: Vec<u32>,
    painted: BTreeMap<ObjectId, Painted>,
}

impl Overlay {
    pub fn texture(&self) -> &TextureHandle {
        &self.texture
    }

    /// The object under image pixel `(x, y)`.
    pub fn label_at(&self, x: usize, y: usize) -> Option<ObjectId> {
        if x >= self.size[0] {
            return None;
        }
        let v = *self.labels.get(y * self.size[0] + x)?;
        (v > 0).then(|| ObjectId(v - 1))
    }
}

/// The objects shown, with their colour, box and pixel fingerprint.
fn painted<'a>(
    objects: impl Iterator<Item = &'a CellObject>,
    show_rejected: bool,
    [w, h]: [usize; 2],
) -> BTreeMap<ObjectId, Painted> {
    objects
        .filter_map(|o| {
            let color = match &o.rejected {
                Some(_) if !show_rejected => return None,
                Some(_) => theme::REJECTED,
                None => theme::class_color(o.class),
            };
            let mut bbox = [usize::MAX, usize::MAX, 0, 0];
            // FNV-1a over the (sorted) pixel coordinates.
            let mut fingerprint: u64 = 0xcbf2_9ce4_8422_2325;
            for &(x, y) in &o.pixels {
                fingerprint = (fingerprint ^ (u64::from(x) << 32 | u64::from(y)))
                    .wrapping_mul(0x0000_0100_0000_01b3);
                let (x, y) = (x as usize, y as usize);
                if x < w && y < h {
                    bbox = [
                        bbox[0].min(x),
                        bbox[1].min(y),
                        bbox[2].max(x + 1),
                        bbox[3].max(y + 1),
                    ];
                }
            }
            if bbox[0] >= bbox[2] {
                bbox = [0, 0, 0, 0];
            }
            Some((
                o.id,
                Painted {
                    color,
                    bbox,
                    fingerprint,
                },
            ))
        })
        .collect()
}

fn union(a: [usize; 4], b: [usize; 4]) -> [usize; 4] {
    if a[0] >= a[2] || a[1] >= a[3] {
        return b;
    }
    if b[0] >= b[2] || b[1] >= b[3] {
        return a;
    }
    [
        a[0].min(b[0]),
        a[1].min(b[1]),
        a[2].max(b[2]),
        a[3].max(b[3]),
    ]
}

fn intersects(a: [usize; 4], b: [usize; 4]) -> bool {
    a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]
}

/// The rectangle covering every object that appeared, went, moved, or
/// changed colour or pixels between two paintings (old and new place);
/// `None` when nothing changed.
fn dirty_rect(
    old: &BTreeMap<ObjectId, Painted>,
    new: &BTreeMap<ObjectId, Painted>,
) -> Option<[usize; 4]> {
    let changed = |a: &BTreeMap<ObjectId, Painted>, b: &BTreeMap<ObjectId, Painted>| {
        a.iter()
            .filter(|(id, p)| b.get(id) != Some(p))
            .map(|(_, p)| p.bbox)
            .collect::<Vec<_>>()
    };
    let dirty = changed(old, new)
        .into_iter()
        .chain(changed(new, old))
        .fold([0, 0, 0, 0], union);
    (dirty[0] < dirty[2] && dirty[1] < dirty[3]).then_some(dirty)
}

/// Paints the shown objects inside `rect` (in id order, later ones on top,
/// as the labels say): the RGBA image of the rectangle, and the labels in it.
fn paint(
    objects: &BTreeMap<ObjectId, CellObject>,
    shown: &BTreeMap<ObjectId, Painted>,
    rect: [usize; 4],
    labels: &mut [u32],
    width: usize,
) -> ColorImage {
    let [x0, y0, x1, y1] = rect;
    let (rw, rh) = (x1 - x0, y1 - y0);
    let mut image = ColorImage::filled([rw, rh], Color32::TRANSPARENT);
    for y in y0..y1 {
        labels[y * width + x0..y * width + x1].fill(0);
    }
    for (id, p) in shown {
        if !intersects(p.bbox, rect) {
            continue;
        }
        let Some(o) = objects.get(id) else { continue };
        // Pixels are ordered by x: only the columns of the rectangle.
        let x_from = u32::try_from(x0).unwrap_or(u32::MAX);
        for &(x, y) in o.pixels.range((x_from, 0)..) {
            let (x, y) = (x as usize, y as usize);
            if x >= x1 {
                break;
            }
            if y < y0 || y >= y1 {
                continue;
            }
            image.pixels[(y - y0) * rw + (x - x0)] = p.color;
            labels[y * width + x] = id.0 + 1;
        }
    }
    image
}

/// Brings `overlay` up to date with the cell `metaphase` at `generation`:
/// nothing when it already shows it, the changed rectangle when only some
/// objects changed, else a full build.
pub fn sync(
    overlay: &mut Option<Overlay>,
    ctx: &egui::Context,
    (metaphase, generation, show_rejected): (MetaphaseId, u64, bool),
    objects: &BTreeMap<ObjectId, CellObject>,
    size: [usize; 2],
) {
    let key = (metaphase, show_rejected);
    if overlay
        .as_ref()
        .is_some_and(|o| o.key == key && o.generation == generation && o.size == size)
    {
        return;
    }
    let shown = painted(objects.values(), show_rejected, size);
    if let Some(o) = overlay.as_mut().filter(|o| o.key == key && o.size == size) {
        if let Some(dirty) = dirty_rect(&o.painted, &shown) {
            let image = paint(objects, &shown, dirty, &mut o.labels, size[0]);
            o.texture
                .set_partial([dirty[0], dirty[1]], image, TextureOptions::NEAREST);
        }
        o.generation = generation;
        o.painted = shown;
        return;
    }
    let mut labels = vec![0u32; size[0] * size[1]];
    let image = paint(
        objects,
        &shown,
        [0, 0, size[0], size[1]],
        &mut labels,
        size[0],
    );
    let texture = ctx.load_texture(
        format!("overlay-{metaphase}"),
        image,
        TextureOptions::NEAREST,
    );
    *overlay = Some(Overlay {
        key,
        generation,
        texture,
        size,
        labels,
        painted: shown,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::karyogram::edit::Edit;
    use crate::domain::rng::Rng;

    /// After every random edit, the previous full painting with only the
    /// dirty rectangle painted again equals a full painting of the new
    /// state: image and labels.
    #[test]
    fn repainting_the_dirty_rectangle_equals_a_full_repaint() {
        let size = [520, 40];
        let full = |objects: &BTreeMap<ObjectId, CellObject>| {
            let shown = painted(objects.values(), true, size);
            let mut labels = vec![0; size[0] * size[1]];
            let image = paint(
                objects,
                &shown,
                [0, 0, size[0], size[1]],
                &mut labels,
                size[0],
            );
            (shown, image, labels)
        };
        let mut rng = Rng::new(5);
        let mut state = crate::store::sample_metaphase(24, 3).cell;
        let (mut shown, mut image, mut labels) = full(&state.objects);
        let mut partial_updates = 0;
        for _ in 0..300 {
            let edit = Edit::random(&mut rng, &state);
            if edit.apply(&mut state).is_err() {
                continue;
            }
            let new_shown = painted(state.objects.values(), true, size);
            if let Some(rect) = dirty_rect(&shown, &new_shown) {
                let part = paint(&state.objects, &new_shown, rect, &mut labels, size[0]);
                let w = rect[2] - rect[0];
                for y in rect[1]..rect[3] {
                    for x in rect[0]..rect[2] {
                        image.pixels[y * size[0] + x] =
                            part.pixels[(y - rect[1]) * w + x - rect[0]];
                    }
                }
                partial_updates += 1;
            }
            shown = new_shown;
            let (_, want_image, want_labels) = full(&state.objects);
            assert!(
                image.pixels == want_image.pixels,
                "image differs after {edit:?}"
            );
            assert!(labels == want_labels, "labels differ after {edit:?}");
        }
        assert!(partial_updates > 50, "{partial_updates}");
    }

    #[test]
    fn boxes_union_and_intersect() {
        assert_eq!(union([0, 0, 0, 0], [1, 2, 3, 4]), [1, 2, 3, 4]);
        assert_eq!(union([5, 5, 9, 9], [1, 2, 3, 4]), [1, 2, 9, 9]);
        assert!(intersects([0, 0, 4, 4], [3, 3, 5, 5]));
        assert!(!intersects([0, 0, 4, 4], [4, 0, 5, 4]));
    }
}
