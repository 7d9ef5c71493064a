//! Placement of chromosomes, nucleus and debris in a spread.
//!
//! # Theory of operation
//! An owner grid records which object holds each pixel. A candidate is
//! rasterized once per pose and then tried at whole-pixel offsets, so its mask
//! is exact at every offset. A candidate is checked with three pixel lists:
//! its mask, the ring within 1 px (8-neighbourhood) and the ring within 3 px
//! (Euclidean). A free candidate must find nothing in any of them; a touching
//! candidate may meet only its partner, must be 8-adjacent to it and share at
//! most 2 pixels; a crossing candidate must share pixels with its partner only.
//! Attempts are bounded: after each round of failures the spread ellipse grows,
//! and as a last resort a chromosome is placed anywhere inside the image (a
//! warning says so). Truth flags (touching, overlapping) are recomputed from
//! the final masks, so they are right even after a fallback.

use crate::domain::rng::Rng;

use super::shape::{Footprint, Shape, rasterize};

pub(crate) const NUCLEUS_ID: u16 = u16::MAX;
pub(crate) const DEBRIS_ID: u16 = u16::MAX - 1;

/// Which object owns each pixel (0 = background, `i + 1` = chromosome `i`).
pub(crate) struct OwnerGrid {
    pub width: usize,
    pub height: usize,
    owner: Vec<u16>,
}

impl OwnerGrid {
    pub fn new(width: usize, height: usize) -> Self {
        Self {
            width,
            height,
            owner: vec![0; width * height],
        }
    }

    fn get(&self, x: i64, y: i64) -> Option<u16> {
        (x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height)
            .then(|| self.owner[y as usize * self.width + x as usize])
    }

    pub fn stamp(&mut self, pixels: &[(i64, i64)], id: u16) {
        for &(x, y) in pixels {
            if x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height {
                self.owner[y as usize * self.width + x as usize] = id;
            }
        }
    }
}

/// A mask and its 1 px and 3 px neighbourhood rings.
pub(crate) struct Rings {
    pub mask: Vec<(i64, i64)>,
    ring1: Vec<(i64, i64)>,
    ring3: Vec<(i64, i64)>,
}

impl Rings {
    pub fn new(mask: Vec<(i64, i64)>) -> Self {
        let Some(x0) = mask.iter().map(|p| p.0).min() else {
            return Self {
                mask,
                ring1: Vec::new(),
                ring3: Vec::new(),
            };
        };
        let y0 = mask.iter().map(|p| p.1).min().unwrap_or(0);
        let x1 = mask.iter().map(|p| p.0).max().unwrap_or(0);
        let y1 = mask.iter().map(|p| p.1).max().unwrap_or(0);
        let (ox, oy) = (x0 - 3, y0 - 3);
        let w = (x1 - x0 + 7) as usize;
        let h = (y1 - y0 + 7) as usize;
        let mut level = vec![0u8; w * h];
        for &(x, y) in &mask {
            for dy in -3i64..=3 {
                for dx in -3i64..=3 {
                    let l = if dx == 0 && dy == 0 {
                        3
                    } else if dx.abs() <= 1 && dy.abs() <= 1 {
                        2
                    } else if dx * dx + dy * dy <= 9 {
                        1
                    } else {
                        0
                    };
                    let i = (y + dy - oy) as usize * w + (x + dx - ox) as usize;
                    level[i] = level[i].max(l);
                }
            }
        }
        let mut ring1 = Vec::new();
        let mut ring3 = Vec::new();
        for (i, &l) in level.iter().enumerate() {
            let p = (ox + (i % w) as i64, oy + (i / w) as i64);
            match l {
                2 => ring1.push(p),
                1 => ring3.push(p),
                _ => {}
            }
        }
        Self { mask, ring1, ring3 }
    }

    /// Checks the rings moved by `(dx, dy)` against the grid. `None` when the
    /// mask leaves the image margin or meets anything but `partner`; otherwise
    /// `(pixels shared with partner, adjacent to partner)`.
    pub fn probe(
        &self,
        grid: &OwnerGrid,
        (dx, dy): (i64, i64),
        partner: Option<u16>,
        margin: i64,
    ) -> Option<(usize, bool)> {
        let (w, h) = (grid.width as i64, grid.height as i64);
        let mut shared = 0;
        let mut adjacent = false;
        for &(x, y) in &self.mask {
            let (x, y) = (x + dx, y + dy);
            if x < margin || y < margin || x >= w - margin || y >= h - margin {
                return None;
            }
            match grid.get(x, y)? {
                0 => {}
                id if Some(id) == partner => {
                    shared += 1;
                    adjacent = true;
                }
                _ => return None,
            }
        }
        for (ring, touches) in [(&self.ring1, true), (&self.ring3, false)] {
            for &(x, y) in ring {
                match grid.get(x + dx, y + dy) {
                    None | Some(0) => {}
                    Some(id) if Some(id) == partner => adjacent |= touches,
                    Some(_) => return None,
                }
            }
        }
        Some((shared, adjacent))
    }
}

/// The elliptical region where chromosome centres are drawn.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SpreadEllipse {
    pub center: (f64, f64),
    pub radii: (f64, f64),
    pub max_radii: (f64, f64),
}

impl SpreadEllipse {
    pub fn sample(&self, rng: &mut Rng) -> (f64, f64) {
        let r = rng.f64().sqrt();
        let a = rng.range(0.0, std::f64::consts::TAU);
        (
            self.center.0 + r * self.radii.0 * a.cos(),
            self.center.1 + r * self.radii.1 * a.sin(),
        )
    }

    pub fn grow(&mut self) {
        self.radii = (
            (self.radii.0 * 1.12).min(self.max_radii.0),
            (self.radii.1 * 1.12).min(self.max_radii.1),
        );
    }
}

/// A rasterized candidate pose.
pub(crate) struct Candidate {
    pub shape: Shape,
    pub footprint: Footprint,
    pub rings: Rings,
}

impl Candidate {
    pub fn new(shape: Shape) -> Self {
        let footprint = shape.rasterize();
        let rings = Rings::new(footprint.mask_pixels());
        Self {
            shape,
            footprint,
            rings,
        }
    }

    /// The candidate moved by whole pixels.
    pub fn shifted(self, (dx, dy): (i64, i64)) -> (Shape, Footprint) {
        (self.shape.shifted(dx, dy), self.footprint.shifted(dx, dy))
    }
}

/// An elliptical blob with a wobbly outline: the nucleus or a speck of debris.
#[derive(Debug, Clone)]
pub(crate) struct Blob {
    pub center: (f64, f64),
    pub radii: (f64, f64),
    pub angle: f64,
    pub wobble: [(f64, f64); 2],
    pub absorbance: f64,
    /// Chromatin clumps: (x, y, radius, amplitude) relative to the centre.
    pub clumps: Vec<(f64, f64, f64, f64)>,
}

impl Blob {
    pub fn rasterize(&self) -> Footprint {
        let r = self.radii.0.max(self.radii.1) * 1.1 + 2.0;
        let bounds = (
            (self.center.0 - r).floor() as i64,
            (self.center.1 - r).floor() as i64,
            (self.center.0 + r).ceil() as i64,
            (self.center.1 + r).ceil() as i64,
        );
        let (sin, cos) = self.angle.sin_cos();
        rasterize(bounds, |x, y| {
            let (dx, dy) = (x - self.center.0, y - self.center.1);
            let (lx, ly) = (dx * cos + dy * sin, -dx * sin + dy * cos);
            let phi = ly.atan2(lx);
            let wobble = 1.0
                + self.wobble[0].0 * (2.0 * phi + self.wobble[0].1).sin()
                + self.wobble[1].0 * (3.0 * phi + self.wobble[1].1).sin();
            let rho = ((lx / self.radii.0).powi(2) + (ly / self.radii.1).powi(2)).sqrt() / wobble;
            if rho > 1.0 {
                return None;
            }
            let edge = 0.7 + 0.3 * (1.0 - rho * rho).sqrt();
            let texture: f64 = self
                .clumps
                .iter()
                .map(|&(cx, cy, cr, amp)| {
                    let d2 = (dx - cx).powi(2) + (dy - cy).powi(2);
                    amp * (-d2 / (2.0 * cr * cr)).exp()
                })
                .sum();
            Some(self.absorbance * edge * (1.0 + texture))
        })
    }
}
