//! Thinning (Zhang-Suen) and the longest path through a skeleton: the raw
//! material for a chromosome's medial axis.

use std::collections::VecDeque;

use crate::domain::raster::Mask;

/// One-pixel-wide skeleton of `mask` by Zhang-Suen thinning.
pub fn thin(mask: &Mask) -> Mask {
    let (w, h) = (mask.width() as i64, mask.height() as i64);
    let mut m = mask.clone();
    let mut to_clear = Vec::new();
    loop {
        let mut changed = false;
        for step in 0..2 {
            to_clear.clear();
            for y in 0..h {
                for x in 0..w {
                    if !m.get(x, y) {
                        continue;
                    }
                    // P2..P9 clockwise from north.
                    let p = [
                        m.get(x, y - 1),
                        m.get(x + 1, y - 1),
                        m.get(x + 1, y),
                        m.get(x + 1, y + 1),
                        m.get(x, y + 1),
                        m.get(x - 1, y + 1),
                        m.get(x - 1, y),
                        m.get(x - 1, y - 1),
                    ];
                    let b = p.iter().filter(|&&v| v).count();
                    if !(2..=6).contains(&b) {
                        continue;
                    }
                    let a = (0..8).filter(|&i| !p[i] && p[(i + 1) % 8]).count();
                    if a != 1 {
                        continue;
                    }
                    let (c1, c2) = if step == 0 {
                        (p[0] && p[2] && p[4], p[2] && p[4] && p[6])
                    } else {
                        (p[0] && p[2] && p[6], p[0] && p[4] && p[6])
                    };
                    if !c1 && !c2 {
                        to_clear.push((x, y));
                    }
                }
            }
            for &(x, y) in &to_clear {
                m.set(x, y, false);
            }
            changed |= !to_clear.is_empty();
        }
        if !changed {
            return m;
        }
    }
}

const NEIGHBOURS: [(i64, i64); 8] = [
    (-1, -1),
    (0, -1),
    (1, -1),
    (-1, 0),
    (1, 0),
    (-1, 1),
    (0, 1),
    (1, 1),
];

/// Number of separate skeleton runs around a pixel: the 0 -> 1 transitions
/// walking once around its 8 neighbours (1 at an end, 2 on a line, >= 3 at a
/// branch point). Unlike the neighbour count it is not fooled by the corners
/// of an 8-connected staircase.
pub fn crossings(skel: &Mask, x: i64, y: i64) -> usize {
    const RING: [(i64, i64); 8] = [
        (0, -1),
        (1, -1),
        (1, 0),
        (1, 1),
        (0, 1),
        (-1, 1),
        (-1, 0),
        (-1, -1),
    ];
    let p: Vec<bool> = RING
        .iter()
        .map(|(dx, dy)| skel.get(x + dx, y + dy))
        .collect();
    (0..8).filter(|&i| !p[i] && p[(i + 1) % 8]).count()
}

/// Breadth-first distances (in steps) from `start` over 8-connected skeleton
/// pixels; `usize::MAX` where unreachable. Also returns the parent of each pixel.
fn bfs(skel: &Mask, start: usize) -> (Vec<usize>, Vec<usize>) {
    let (w, h) = (skel.width(), skel.height());
    let mut dist = vec![usize::MAX; w * h];
    let mut parent = vec![usize::MAX; w * h];
    let mut queue = VecDeque::new();
    dist[start] = 0;
    queue.push_back(start);
    while let Some(i) = queue.pop_front() {
        let (x, y) = ((i % w) as i64, (i / w) as i64);
        for (dx, dy) in NEIGHBOURS {
            let (nx, ny) = (x + dx, y + dy);
            if skel.get(nx, ny) {
                let j = ny as usize * w + nx as usize;
                if dist[j] == usize::MAX {
                    dist[j] = dist[i] + 1;
                    parent[j] = i;
                    queue.push_back(j);
                }
            }
        }
    }
    (dist, parent)
}

/// The longest shortest path in the skeleton component holding its first
/// pixel (the "diameter" by two breadth-first searches), as local pixel
/// coordinates from one end to the other. Empty for an empty skeleton.
pub fn longest_path(skel: &Mask) -> Vec<(usize, usize)> {
    let w = skel.width();
    let Some(first) = skel.data().iter().position(|&v| v) else {
        return Vec::new();
    };
    let farthest = |dist: &[usize]| {
        dist.iter()
            .enumerate()
            .filter(|(_, d)| **d != usize::MAX)
            .max_by_key(|(i, d)| (**d, std::cmp::Reverse(*i)))
            .map_or(first, |(i, _)| i)
    };
    let (d0, _) = bfs(skel, first);
    let a = farthest(&d0);
    let (d1, parent) = bfs(skel, a);
    let b = farthest(&d1);
    let mut path = vec![b];
    let mut cur = b;
    while cur != a && parent[cur] != usize::MAX {
        cur = parent[cur];
        path.push(cur);
    }
    path.into_iter().map(|i| (i % w, i / w)).collect()
}

/// Branch structure of a skeleton after pruning spurs shorter than
/// `min_branch` pixels: the number of junction pixels (degree >= 3) whose
/// branches are all at least that long. Zero for a simple curve.
pub fn significant_junctions(skel: &Mask, min_branch: usize) -> usize {
    let mut s = skel.clone();
    let (w, h) = (s.width() as i64, s.height() as i64);
    // Prune: repeatedly walk from each endpoint to the nearest junction and
    // remove the walk when shorter than `min_branch`.
    for _ in 0..4 {
        let mut removed_any = false;
        for y in 0..h {
            for x in 0..w {
                if !s.get(x, y) || crossings(&s, x, y) != 1 {
                    continue;
                }
                let mut walk = vec![(x, y)];
                let (mut cx, mut cy) = (x, y);
                let mut reached_junction = false;
                while walk.len() <= min_branch {
                    let next = NEIGHBOURS
                        .iter()
                        .map(|(dx, dy)| (cx + dx, cy + dy))
                        .find(|&(nx, ny)| s.get(nx, ny) && !walk.contains(&(nx, ny)));
                    let Some((nx, ny)) = next else { break };
                    if crossings(&s, nx, ny) >= 3 {
                        reached_junction = true;
                        break;
                    }
                    walk.push((nx, ny));
                    cx = nx;
                    cy = ny;
                }
                if reached_junction && walk.len() < min_branch {
                    for (px, py) in walk {
                        s.set(px, py, false);
                    }
                    removed_any = true;
                }
            }
        }
        if !removed_any {
            break;
        }
    }
    // Count junction clusters (adjacent junction pixels count once).
    let mut junction = Mask::new(w as usize, h as usize);
    for y in 0..h {
        for x in 0..w {
            if s.get(x, y) && crossings(&s, x, y) >= 3 {
                junction.set(x, y, true);
            }
        }
    }
    crate::domain::segmentation::components::connected_components(&dilate8(&junction)).len()
}

fn dilate8(m: &Mask) -> Mask {
    let mut out = m.clone();
    for y in 0..m.height() as i64 {
        for x in 0..m.width() as i64 {
            if m.get(x, y) {
                for (dx, dy) in NEIGHBOURS {
                    out.set(x + dx, y + dy, true);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(w: usize, h: usize) -> Mask {
        let mut m = Mask::new(w, h);
        for y in 2..h as i64 - 2 {
            for x in 3..w as i64 - 3 {
                m.set(x, y, true);
            }
        }
        m
    }

    #[test]
    fn bar_thins_to_a_line_and_its_path_spans_it() {
        let m = bar(40, 11);
        let s = thin(&m);
        assert!(s.count() > 20 && s.count() < 40);
        let path = longest_path(&s);
        let xs: Vec<usize> = path.iter().map(|p| p.0).collect();
        let span = xs.iter().max().unwrap() - xs.iter().min().unwrap();
        assert!(span > 25, "span {span}");
        assert_eq!(significant_junctions(&s, 5), 0);
    }

    #[test]
    fn a_cross_has_a_junction() {
        let mut m = Mask::new(41, 41);
        for i in 2..39i64 {
            for t in -2..=2i64 {
                m.set(i, 20 + t, true);
                m.set(20 + t, i, true);
            }
        }
        let s = thin(&m);
        assert!(significant_junctions(&s, 6) >= 1);
    }
}
