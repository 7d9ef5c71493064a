//! The standard karyogram layout: rows 1-5 / 6-12, X / 13-18 / 19-22, Y,
//! chromosomes p arm up, all at one scale. Units are karyogram pixels.

use crate::domain::chromosome::ChromosomeClass;
use crate::domain::ids::ObjectId;

/// A rectangle in karyogram space.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Rect {
    pub fn overlaps(&self, other: &Rect) -> bool {
        self.x < other.x + other.w
            && other.x < self.x + self.w
            && self.y < other.y + other.h
            && other.y < self.y + self.h
    }
}

/// A chromosome to place: its id, class (None = unassigned) and the size of
/// its upright crop in karyogram units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayoutItem {
    pub id: ObjectId,
    pub class: Option<ChromosomeClass>,
    pub width: f64,
    pub height: f64,
}

/// One class group: its label position and the rects of its members.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupLayout {
    pub class: ChromosomeClass,
    /// The group's area, including the label below the chromosomes.
    pub rect: Rect,
    /// Where the class label is centred.
    pub label_at: (f64, f64),
    pub members: Vec<(ObjectId, Rect)>,
    /// Where the class's ideogram goes (when `LayoutParams::ideogram_width`
    /// is set): right of the members, as tall as the tallest of them.
    pub ideogram: Option<Rect>,
}

/// The whole karyogram.
#[derive(Debug, Clone, PartialEq)]
pub struct KaryogramLayout {
    pub width: f64,
    pub height: f64,
    /// Every class, in karyogram order (present even when empty).
    pub groups: Vec<GroupLayout>,
    /// Objects with no class, in a row at the bottom.
    pub unassigned: Vec<(ObjectId, Rect)>,
    /// The unassigned row's area (a drop target); present when it has
    /// members or `LayoutParams::unassigned_row` asks for it.
    pub unassigned_area: Option<Rect>,
    /// Top of the area reserved for a title.
    pub title_height: f64,
}

/// The standard rows of a karyogram.
pub fn standard_rows() -> Vec<Vec<ChromosomeClass>> {
    let a = |r: std::ops::RangeInclusive<u8>| {
        r.filter_map(ChromosomeClass::autosome).collect::<Vec<_>>()
    };
    let mut row2 = a(6..=12);
    row2.push(ChromosomeClass::X);
    let mut row4 = a(19..=22);
    row4.push(ChromosomeClass::Y);
    vec![a(1..=5), row2, a(13..=18), row4]
}

/// Spacing of the layout.
#[derive(Debug, Clone, PartialEq)]
pub struct LayoutParams {
    pub margin: f64,
    pub gap_in_group: f64,
    pub gap_between_groups: f64,
    pub label_height: f64,
    pub row_gap: f64,
    pub title_height: f64,
    /// Minimum group width (keeps empty groups visible).
    pub min_group_width: f64,
    /// Width reserved right of each group for its ideogram (0: none).
    pub ideogram_width: f64,
    /// Keep the unassigned row even when it is empty (a drop target).
    pub unassigned_row: bool,
}

impl Default for LayoutParams {
    fn default() -> Self {
        Self {
            margin: 16.0,
            gap_in_group: 4.0,
            gap_between_groups: 18.0,
            label_height: 18.0,
            row_gap: 14.0,
            title_height: 28.0,
            min_group_width: 30.0,
            ideogram_width: 0.0,
            unassigned_row: false,
        }
    }
}

/// Lays out `items` (in the order given within each class) on the standard rows.
/// Rows are centred horizontally; chromosomes of a row share a baseline at
/// the bottom of the row's tallest chromosome (as in a printed karyogram).
pub fn layout(items: &[LayoutItem], params: &LayoutParams) -> KaryogramLayout {
    let rows = standard_rows();
    let members_of = |class: ChromosomeClass| items.iter().filter(move |i| i.class == Some(class));
    let ideogram_room = if params.ideogram_width > 0.0 {
        params.ideogram_width + params.gap_in_group
    } else {
        0.0
    };
    let group_width = |class: ChromosomeClass| {
        let ws: Vec<f64> = members_of(class).map(|i| i.width.max(1.0)).collect();
        let inner =
            ws.iter().sum::<f64>() + params.gap_in_group * ws.len().saturating_sub(1) as f64;
        (inner + ideogram_room).max(params.min_group_width)
    };
    let row_width = |row: &[ChromosomeClass]| {
        row.iter().map(|&c| group_width(c)).sum::<f64>()
            + params.gap_between_groups * row.len().saturating_sub(1) as f64
    };
    let unassigned: Vec<&LayoutItem> = items.iter().filter(|i| i.class.is_none()).collect();
    let unassigned_width = unassigned
        .iter()
        .map(|i| i.width.max(1.0) + params.gap_in_group)
        .sum::<f64>();
    let content_width = rows
        .iter()
        .map(|r| row_width(r))
        .fold(unassigned_width, f64::max);
    let width = content_width + 2.0 * params.margin;

    let mut y = params.margin + params.title_height;
    let mut groups = Vec::new();
    for row in &rows {
        let row_h = row
            .iter()
            .flat_map(|&c| members_of(c).map(|i| i.height.max(1.0)))
            .fold(params.label_height, f64::max);
        let mut x = params.margin + (content_width - row_width(row)) / 2.0;
        for &class in row {
            let gw = group_width(class);
            let ws: Vec<&LayoutItem> = members_of(class).collect();
            let inner = ws.iter().map(|i| i.width.max(1.0)).sum::<f64>()
                + params.gap_in_group * ws.len().saturating_sub(1) as f64;
            let mut mx = x + (gw - ideogram_room - inner) / 2.0;
            let tallest = ws.iter().map(|i| i.height.max(1.0)).fold(0.0, f64::max);
            let mut members = Vec::new();
            for item in ws {
                let h = item.height.max(1.0);
                members.push((
                    item.id,
                    Rect {
                        x: mx,
                        y: y + row_h - h,
                        w: item.width.max(1.0),
                        h,
                    },
                ));
                mx += item.width.max(1.0) + params.gap_in_group;
            }
            let ideogram = (params.ideogram_width > 0.0).then(|| {
                let h = if tallest > 0.0 {
                    tallest
                } else {
                    (row_h * 0.6).max(1.0)
                };
                Rect {
                    x: x + gw - params.ideogram_width,
                    y: y + row_h - h,
                    w: params.ideogram_width,
                    h,
                }
            });
            groups.push(GroupLayout {
                class,
                rect: Rect {
                    x,
                    y,
                    w: gw,
                    h: row_h + params.label_height,
                },
                label_at: (x + gw / 2.0, y + row_h + params.label_height / 2.0),
                members,
                ideogram,
            });
            x += gw + params.gap_between_groups;
        }
        y += row_h + params.label_height + params.row_gap;
    }
    let mut placed = Vec::new();
    let mut unassigned_area = None;
    if !unassigned.is_empty() || params.unassigned_row {
        let row_h = unassigned
            .iter()
            .map(|i| i.height.max(1.0))
            .fold(params.label_height * 2.0, f64::max);
        unassigned_area = Some(Rect {
            x: params.margin,
            y,
            w: content_width,
            h: params.label_height + row_h,
        });
        let mut x = params.margin;
        for item in unassigned {
            let h = item.height.max(1.0);
            placed.push((
                item.id,
                Rect {
                    x,
                    y: y + params.label_height + row_h - h,
                    w: item.width.max(1.0),
                    h,
                },
            ));
            x += item.width.max(1.0) + params.gap_in_group;
        }
        y += params.label_height + row_h + params.row_gap;
    }
    KaryogramLayout {
        width,
        height: y + params.margin,
        groups,
        unassigned: placed,
        unassigned_area,
        title_height: params.title_height,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rng::Rng;

    #[test]
    fn rects_never_overlap_and_every_item_is_placed_once() {
        let mut rng = Rng::new(9);
        for _ in 0..30 {
            let n = rng.below(90);
            let items: Vec<LayoutItem> = (0..n)
                .map(|k| LayoutItem {
                    id: ObjectId(k as u32),
                    class: if rng.chance(0.1) {
                        None
                    } else {
                        ChromosomeClass::from_index(rng.below(24))
                    },
                    width: rng.range(0.0, 30.0),
                    height: rng.range(0.0, 120.0),
                })
                .collect();
            let l = layout(&items, &LayoutParams::default());
            let mut rects: Vec<(ObjectId, Rect)> =
                l.groups.iter().flat_map(|g| g.members.clone()).collect();
            rects.extend(l.unassigned.clone());
            assert_eq!(rects.len(), n);
            for (i, a) in rects.iter().enumerate() {
                assert!(a.1.x >= 0.0 && a.1.x + a.1.w <= l.width + 1e-9);
                assert!(a.1.y >= 0.0 && a.1.y + a.1.h <= l.height + 1e-9);
                for b in &rects[i + 1..] {
                    assert!(!a.1.overlaps(&b.1), "{a:?} overlaps {b:?}");
                }
            }
            assert_eq!(l.groups.len(), 24);
        }
    }

    #[test]
    fn ideograms_and_the_unassigned_row_get_their_own_room() {
        let items: Vec<LayoutItem> = (0..5)
            .map(|k| LayoutItem {
                id: ObjectId(k),
                class: ChromosomeClass::autosome(1),
                width: 10.0,
                height: 50.0 + f64::from(k),
            })
            .collect();
        let params = LayoutParams {
            ideogram_width: 8.0,
            unassigned_row: true,
            ..LayoutParams::default()
        };
        let l = layout(&items, &params);
        let one = &l.groups[0];
        let ideo = one.ideogram.expect("ideogram room");
        assert_eq!(one.members.len(), 5);
        for (_, r) in &one.members {
            assert!(!r.overlaps(&ideo));
        }
        assert!(
            (ideo.h - 54.0).abs() < 1e-9,
            "as tall as the tallest member"
        );
        // Empty groups still get an ideogram; the empty unassigned row is there.
        assert!(l.groups.iter().all(|g| g.ideogram.is_some()));
        let area = l.unassigned_area.expect("unassigned row");
        assert!(area.y + area.h <= l.height);
        assert!(
            layout(&items, &LayoutParams::default())
                .unassigned_area
                .is_none()
        );
    }

    #[test]
    fn rows_follow_the_standard() {
        let rows = standard_rows();
        assert_eq!(
            rows.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![5, 8, 6, 5]
        );
        assert_eq!(rows[1][7], ChromosomeClass::X);
        assert_eq!(rows[3][4], ChromosomeClass::Y);
    }
}
