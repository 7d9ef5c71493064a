//! Geometry of the segmentation tools: which pixels a cut line, a brush
//! stroke or a lasso selects. The GUI turns pointer input into these calls
//! and the results into [`Edit`](super::edit::Edit)s; nothing here knows
//! about the screen.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Why a tool gesture produced no edit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolError {
    #[error("the cut line does not cross the object into two pieces")]
    NotCut,
    #[error("a piece would be smaller than {0} pixels")]
    PieceTooSmall(usize),
    #[error("the drawn outline encloses no free pixels")]
    EmptyLasso,
}

/// Pixels within `half_width` of the segment `a`-`b` (image coordinates,
/// pixel centres at `x + 0.5`), clipped to the image.
pub fn segment_band(
    a: (f64, f64),
    b: (f64, f64),
    half_width: f64,
    width: u32,
    height: u32,
) -> BTreeSet<(u32, u32)> {
    let r = half_width.max(0.5);
    let x0 = (a.0.min(b.0) - r - 1.0).floor().max(0.0);
    let y0 = (a.1.min(b.1) - r - 1.0).floor().max(0.0);
    let x1 = (a.0.max(b.0) + r + 1.0).ceil().min(f64::from(width));
    let y1 = (a.1.max(b.1) + r + 1.0).ceil().min(f64::from(height));
    let mut out = BTreeSet::new();
    if x0 >= x1 || y0 >= y1 {
        return out;
    }
    for y in y0 as u32..y1 as u32 {
        for x in x0 as u32..x1 as u32 {
            let p = (f64::from(x) + 0.5, f64::from(y) + 0.5);
            if distance_to_segment(p, a, b) <= r {
                out.insert((x, y));
            }
        }
    }
    out
}

fn distance_to_segment(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (cx, cy) = (a.0 + t * dx, a.1 + t * dy);
    ((p.0 - cx).powi(2) + (p.1 - cy).powi(2)).sqrt()
}

/// The pixels a brush stroke along `points` covers (a disc of `radius`
/// swept along the polyline), clipped to the image.
pub fn brush_stroke(
    points: &[(f64, f64)],
    radius: f64,
    width: u32,
    height: u32,
) -> BTreeSet<(u32, u32)> {
    let mut out = BTreeSet::new();
    match points {
        [] => {}
        [p] => out = segment_band(*p, *p, radius, width, height),
        _ => {
            for w in points.windows(2) {
                out.extend(segment_band(w[0], w[1], radius, width, height));
            }
        }
    }
    out
}

/// Pixels whose centre lies inside the closed polygon `outline` (even-odd
/// rule), clipped to the image.
pub fn lasso_pixels(outline: &[(f64, f64)], width: u32, height: u32) -> BTreeSet<(u32, u32)> {
    let mut out = BTreeSet::new();
    if outline.len() < 3 {
        return out;
    }
    let min_y = outline.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let max_y = outline
        .iter()
        .map(|p| p.1)
        .fold(f64::NEG_INFINITY, f64::max);
    let y0 = min_y.floor().max(0.0) as u32;
    let y1 = max_y.ceil().clamp(0.0, f64::from(height)) as u32;
    for y in y0..y1 {
        let cy = f64::from(y) + 0.5;
        // Crossings of the scanline with the polygon's edges.
        let mut xs: Vec<f64> = Vec::new();
        for i in 0..outline.len() {
            let a = outline[i];
            let b = outline[(i + 1) % outline.len()];
            if (a.1 <= cy) != (b.1 <= cy) {
                xs.push(a.0 + (cy - a.1) / (b.1 - a.1) * (b.0 - a.0));
            }
        }
        xs.sort_by(f64::total_cmp);
        for pair in xs.chunks_exact(2) {
            let start = (pair[0] - 0.5).ceil().max(0.0);
            let end = (pair[1] - 0.5).floor().min(f64::from(width) - 1.0);
            if start > end {
                continue;
            }
            for x in start as u32..=end as u32 {
                out.insert((x, y));
            }
        }
    }
    out
}

/// A cut line of length `2 * half_length` through the centroid of `mask`,
/// perpendicular to its long axis (second moments): the line that halves a
/// chromosome across its middle. `None` for an empty mask. Used by the
/// window tests and the frame benchmark to make a realistic cut.
pub fn cross_cut(
    mask: &BTreeSet<(u32, u32)>,
    half_length: f64,
) -> Option<((f64, f64), (f64, f64))> {
    if mask.is_empty() {
        return None;
    }
    let n = mask.len() as f64;
    let centre = |(x, y): (u32, u32)| (f64::from(x) + 0.5, f64::from(y) + 0.5);
    let (sx, sy) = mask.iter().fold((0.0, 0.0), |(sx, sy), &p| {
        let (x, y) = centre(p);
        (sx + x, sy + y)
    });
    let (mx, my) = (sx / n, sy / n);
    let (mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0);
    for &p in mask {
        let (x, y) = centre(p);
        let (dx, dy) = (x - mx, y - my);
        sxx += dx * dx;
        syy += dy * dy;
        sxy += dx * dy;
    }
    let angle = 0.5 * (2.0 * sxy).atan2(sxx - syy);
    let (px, py) = (-angle.sin(), angle.cos());
    Some((
        (mx - px * half_length, my - py * half_length),
        (mx + px * half_length, my + py * half_length),
    ))
}

/// Cuts `object` along the segment `a`-`b`: the pixels on the line go to
/// the piece they touch, and the pieces other than the largest are
/// returned (they become the new object). Each piece keeps at least
/// `min_piece` pixels.
///
/// # Errors
/// [`ToolError::NotCut`] when the line leaves the object in one piece,
/// [`ToolError::PieceTooSmall`] when a piece would be tiny.
pub fn split_by_line(
    object: &BTreeSet<(u32, u32)>,
    a: (f64, f64),
    b: (f64, f64),
    min_piece: usize,
) -> Result<BTreeSet<(u32, u32)>, ToolError> {
    let Some(&(max_x, _)) = object.iter().max_by_key(|p| p.0) else {
        return Err(ToolError::NotCut);
    };
    let max_y = object.iter().map(|p| p.1).max().unwrap_or(0);
    let band: BTreeSet<(u32, u32)> = segment_band(a, b, 0.75, max_x + 1, max_y + 1)
        .intersection(object)
        .copied()
        .collect();
    let rest: BTreeSet<(u32, u32)> = object.difference(&band).copied().collect();
    let mut label: BTreeMap<(u32, u32), usize> = BTreeMap::new();
    let mut sizes: Vec<usize> = Vec::new();
    for &start in &rest {
        if label.contains_key(&start) {
            continue;
        }
        let id = sizes.len();
        let mut size = 0;
        let mut queue = VecDeque::from([start]);
        label.insert(start, id);
        while let Some(p) = queue.pop_front() {
            size += 1;
            for q in neighbours4(p) {
                if rest.contains(&q) && !label.contains_key(&q) {
                    label.insert(q, id);
                    queue.push_back(q);
                }
            }
        }
        sizes.push(size);
    }
    // Slivers shorter than the line is wide are not pieces: they join
    // whatever they touch, like the line pixels.
    let significant: Vec<usize> = (0..sizes.len()).filter(|&i| sizes[i] >= 4).collect();
    if significant.len() < 2 {
        return Err(ToolError::NotCut);
    }
    // Line pixels (and slivers) go to the nearest significant piece.
    let mut owner: BTreeMap<(u32, u32), usize> = label
        .iter()
        .filter(|(_, id)| significant.contains(id))
        .map(|(&p, &id)| (p, id))
        .collect();
    let mut queue: VecDeque<(u32, u32)> = owner.keys().copied().collect();
    while let Some(p) = queue.pop_front() {
        let id = owner[&p];
        for q in neighbours4(p) {
            if object.contains(&q) && !owner.contains_key(&q) {
                owner.insert(q, id);
                queue.push_back(q);
            }
        }
    }
    let mut piece_sizes = vec![0usize; sizes.len()];
    for id in owner.values() {
        piece_sizes[*id] += 1;
    }
    let largest = (0..piece_sizes.len())
        .max_by_key(|&i| (piece_sizes[i], std::cmp::Reverse(i)))
        .unwrap_or(0);
    if significant.iter().any(|&i| piece_sizes[i] < min_piece) {
        return Err(ToolError::PieceTooSmall(min_piece));
    }
    Ok(owner
        .into_iter()
        .filter(|&(_, id)| id != largest)
        .map(|(p, _)| p)
        .collect())
}

fn neighbours4((x, y): (u32, u32)) -> impl Iterator<Item = (u32, u32)> {
    [
        x.checked_sub(1).map(|x| (x, y)),
        Some((x + 1, y)),
        y.checked_sub(1).map(|y| (x, y)),
        Some((x, y + 1)),
    ]
    .into_iter()
    .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rect(x0: u32, y0: u32, w: u32, h: u32) -> BTreeSet<(u32, u32)> {
        (y0..y0 + h)
            .flat_map(|y| (x0..x0 + w).map(move |x| (x, y)))
            .collect()
    }

    #[test]
    fn a_line_across_a_bar_cuts_it_in_two_pieces_that_cover_it() {
        let bar = rect(10, 10, 8, 40);
        let new = split_by_line(&bar, (5.0, 35.0), (25.0, 35.0), 10).unwrap();
        assert!(new.is_subset(&bar));
        // The smaller piece is the lower one (rows 35.. roughly).
        assert!(new.iter().all(|p| p.1 >= 34));
        let rest: BTreeSet<_> = bar.difference(&new).copied().collect();
        assert!(rest.iter().all(|p| p.1 <= 36));
        assert!((110..=130).contains(&new.len()), "{}", new.len());
    }

    #[test]
    fn a_line_that_misses_or_grazes_does_not_cut() {
        let bar = rect(10, 10, 8, 40);
        assert_eq!(
            split_by_line(&bar, (30.0, 0.0), (30.0, 60.0), 10),
            Err(ToolError::NotCut)
        );
        // Along the bar: one piece remains.
        assert_eq!(
            split_by_line(&bar, (14.0, 12.0), (14.0, 20.0), 10),
            Err(ToolError::NotCut)
        );
        assert_eq!(
            split_by_line(&BTreeSet::new(), (0.0, 0.0), (1.0, 1.0), 1),
            Err(ToolError::NotCut)
        );
    }

    #[test]
    fn a_cut_near_the_end_leaving_a_crumb_is_refused() {
        let bar = rect(10, 10, 8, 40);
        assert_eq!(
            split_by_line(&bar, (0.0, 12.0), (30.0, 12.0), 30),
            Err(ToolError::PieceTooSmall(30))
        );
    }

    #[test]
    fn lasso_fills_the_inside_of_a_square() {
        let sq = [(2.0, 2.0), (12.0, 2.0), (12.0, 12.0), (2.0, 12.0)];
        let px = lasso_pixels(&sq, 100, 100);
        assert_eq!(px, rect(2, 2, 10, 10));
        assert!(lasso_pixels(&sq[..2], 100, 100).is_empty());
        // Clipped at the image border, never out of range.
        let big = [
            (-50.0, -50.0),
            (500.0, -50.0),
            (500.0, 500.0),
            (-50.0, 500.0),
        ];
        assert_eq!(lasso_pixels(&big, 20, 10).len(), 200);
    }

    #[test]
    fn brush_covers_a_disc_and_a_swept_line() {
        let dot = brush_stroke(&[(10.0, 10.0)], 3.0, 100, 100);
        assert!((25..=33).contains(&dot.len()), "{}", dot.len());
        let line = brush_stroke(&[(10.0, 10.0), (30.0, 10.0)], 2.0, 100, 100);
        assert!(line.contains(&(20, 10)) && line.contains(&(20, 8)));
        assert!(!line.contains(&(20, 13)));
        assert!(brush_stroke(&[(-100.0, -100.0)], 3.0, 10, 10).is_empty());
    }
}
