//! Chromosome geometry and supersampled rasterization.
//!
//! A chromosome is a circular arc of length `length` (a straight segment when
//! unbent) with a width profile: rounded ends, a constriction at the
//! centromere, thin stalks on acrocentric p arms. Every point is mapped
//! analytically to arc coordinates `(s, u)` (distance from pter along the axis,
//! signed distance from the axis), so rasterization is exact and cheap.
//!
//! Rasterization samples 3x3 points per pixel (pixel centres at integer
//! coordinates). A [`Footprint`] keeps, per pixel, the covered share and the
//! mean absorbance; the instance mask is "coverage >= 0.5", i.e. 5 of 9 samples.

use crate::domain::bands::{Stain, gaussian_smooth};

use super::body::Body;

/// Samples per pixel and axis for supersampling.
const SUB: [f64; 3] = [-1.0 / 3.0, 0.0, 1.0 / 3.0];
/// Profile step along the axis in pixels.
const STEP_PX: f64 = 0.25;

/// One pixel of a footprint: coordinates, covered samples (0..=9), mean absorbance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Texel {
    pub x: i64,
    pub y: i64,
    pub covered: u8,
    pub absorbance: f32,
}

/// The pixels an object covers, in image coordinates (possibly outside the image).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Footprint {
    pub texels: Vec<Texel>,
}

impl Footprint {
    /// Pixels whose coverage is at least one half, in scan order.
    pub fn mask_pixels(&self) -> Vec<(i64, i64)> {
        self.texels
            .iter()
            .filter(|t| t.covered >= 5)
            .map(|t| (t.x, t.y))
            .collect()
    }

    pub fn shifted(&self, dx: i64, dy: i64) -> Self {
        Self {
            texels: self
                .texels
                .iter()
                .map(|t| Texel {
                    x: t.x + dx,
                    y: t.y + dy,
                    ..*t
                })
                .collect(),
        }
    }

    /// Adds the absorbance into a `width`-wide buffer, clipping to it.
    pub fn add_to(&self, buffer: &mut [f32], width: usize, height: usize, gain: f32) {
        for t in &self.texels {
            if t.x >= 0 && t.y >= 0 && (t.x as usize) < width && (t.y as usize) < height {
                buffer[t.y as usize * width + t.x as usize] += gain * t.absorbance;
            }
        }
    }
}

/// Rasterizes `absorbance(x, y)` (`None` outside the object) over the pixel
/// box `[x0, x1] x [y0, y1]`.
pub(crate) fn rasterize(
    (x0, y0, x1, y1): (i64, i64, i64, i64),
    absorbance: impl Fn(f64, f64) -> Option<f64>,
) -> Footprint {
    let mut texels = Vec::new();
    for y in y0..=y1 {
        for x in x0..=x1 {
            let mut covered = 0u8;
            let mut sum = 0.0;
            for oy in SUB {
                for ox in SUB {
                    if let Some(a) = absorbance(x as f64 + ox, y as f64 + oy) {
                        covered += 1;
                        sum += a;
                    }
                }
            }
            if covered > 0 {
                texels.push(Texel {
                    x,
                    y,
                    covered,
                    absorbance: (sum / 9.0) as f32,
                });
            }
        }
    }
    Footprint { texels }
}

/// How a chromosome is drawn: its body, size and pose.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Pose {
    pub length_px: f64,
    pub width_px: f64,
    /// Signed total bend (change of tangent direction from pter to qter), radians.
    pub bend: f64,
    /// Tangent direction at the middle of the axis, radians (0 = +x, pi/2 = +y, down).
    pub angle: f64,
    /// Middle of the axis in image coordinates.
    pub center: (f64, f64),
    /// Absorbance multiplier (staining intensity).
    pub contrast: f64,
}

/// A chromosome placed in image coordinates, with precomputed profiles.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Shape {
    pub pose: Pose,
    /// Centromere position along the axis, pixels from pter.
    pub centromere_s: f64,
    p0: (f64, f64),
    phi0: f64,
    kappa: f64,
    half_width: Vec<f64>,
    density: Vec<f64>,
    groove: Vec<f64>,
}

impl Shape {
    pub fn new(body: &Body, pose: Pose) -> Self {
        let length = pose.length_px.max(1.0);
        let w = pose.width_px.max(1.0);
        let n = (length / STEP_PX).ceil() as usize + 1;
        let step = length / (n - 1) as f64;
        let iscn_per_px = body.length() / length;
        let centromere_s = body.centromere / iscn_per_px.max(1e-12);
        let stains: Vec<Stain> = (0..n)
            .map(|i| body.stain_at(i as f64 * step * iscn_per_px))
            .collect();
        let darkness: Vec<f64> = stains.iter().map(|s| s.darkness()).collect();
        // Band edges soften with the size of the chromosome (0.6 px at 8 px width).
        let darkness = gaussian_smooth(&darkness, 0.08 * w / step);
        let stalk: Vec<f64> = stains
            .iter()
            .map(|s| if *s == Stain::Stalk { 0.5 } else { 1.0 })
            .collect();
        let stalk = gaussian_smooth(&stalk, 0.4 * w / step);
        let r = 0.5 * w;
        let half_width = (0..n)
            .map(|i| {
                let s = i as f64 * step;
                let end = s.min(length - s).max(0.0);
                let cap = if end < r {
                    let t = (r - end) / r;
                    (1.0 - t * t).max(0.0).powf(0.4)
                } else {
                    1.0
                };
                let dc = (s - centromere_s) / (0.3 * w);
                let constriction = 1.0 - 0.34 * (-0.5 * dc * dc).exp();
                r * cap * constriction * stalk[i]
            })
            .collect();
        let density = darkness
            .iter()
            .map(|d| pose.contrast * (0.42 + 0.95 * d))
            .collect();
        let groove = (0..n)
            .map(|i| {
                let dc = (i as f64 * step - centromere_s) / (0.6 * w);
                0.22 * (1.0 - (-0.5 * dc * dc).exp())
            })
            .collect();
        let kappa = if pose.bend.abs() < 1e-6 {
            0.0
        } else {
            pose.bend / length
        };
        let phi0 = pose.angle - 0.5 * pose.bend;
        let mut shape = Self {
            pose: Pose {
                length_px: length,
                width_px: w,
                ..pose
            },
            centromere_s,
            p0: (0.0, 0.0),
            phi0,
            kappa,
            half_width,
            density,
            groove,
        };
        let mid = shape.point(0.5 * length);
        shape.p0 = (pose.center.0 - mid.0, pose.center.1 - mid.1);
        shape
    }

    pub fn length(&self) -> f64 {
        self.pose.length_px
    }

    /// The same shape moved by whole pixels (rasterizes to the shifted footprint).
    pub fn shifted(&self, dx: i64, dy: i64) -> Self {
        let mut out = self.clone();
        out.p0 = (self.p0.0 + dx as f64, self.p0.1 + dy as f64);
        out.pose.center = (
            self.pose.center.0 + dx as f64,
            self.pose.center.1 + dy as f64,
        );
        out
    }

    /// Axis point `s` pixels from pter.
    pub fn point(&self, s: f64) -> (f64, f64) {
        if self.kappa == 0.0 {
            (
                self.p0.0 + s * self.phi0.cos(),
                self.p0.1 + s * self.phi0.sin(),
            )
        } else {
            let phi = self.phi0 + self.kappa * s;
            let r = 1.0 / self.kappa;
            // centre = p0 + r * n0, point = centre - r * n(phi), n = (-sin, cos)
            (
                self.p0.0 - r * self.phi0.sin() + r * phi.sin(),
                self.p0.1 + r * self.phi0.cos() - r * phi.cos(),
            )
        }
    }

    /// Unit normal (left of the direction of travel) at `s`.
    fn normal(&self, s: f64) -> (f64, f64) {
        let phi = self.phi0 + self.kappa * s;
        (-phi.sin(), phi.cos())
    }

    /// Arc coordinates of image point `(x, y)`: distance along the axis from
    /// pter and signed distance from the axis (positive on the left).
    fn local(&self, x: f64, y: f64) -> (f64, f64) {
        let (sin0, cos0) = self.phi0.sin_cos();
        if self.kappa == 0.0 {
            let (dx, dy) = (x - self.p0.0, y - self.p0.1);
            return (dx * cos0 + dy * sin0, -dx * sin0 + dy * cos0);
        }
        let r = 1.0 / self.kappa;
        let c = (self.p0.0 - r * sin0, self.p0.1 + r * cos0);
        let (dx, dy) = (x - c.0, y - c.1);
        let dist = dx.hypot(dy);
        let sign = self.kappa.signum();
        let phi = dy.atan2(dx) + sign * std::f64::consts::FRAC_PI_2;
        let half = 0.5 * self.pose.bend;
        let delta = wrap_pi(phi - self.phi0 - half) + half;
        (delta / self.kappa, r - sign * dist)
    }

    fn index(&self, s: f64) -> usize {
        let n = self.half_width.len();
        let i = (s / self.length() * (n - 1) as f64).round();
        (i.max(0.0) as usize).min(n - 1)
    }

    /// Half width of the outline at `s`.
    pub fn half_width_at(&self, s: f64) -> f64 {
        self.half_width[self.index(s)]
    }

    /// Absorbance at arc coordinates, `None` outside the outline.
    fn absorbance(&self, s: f64, u: f64) -> Option<f64> {
        if !(0.0..=self.length()).contains(&s) {
            return None;
        }
        let i = self.index(s);
        let hw = self.half_width[i];
        if u.abs() > hw || hw <= 0.0 {
            return None;
        }
        let t = u / hw;
        let cross = 0.6 + 0.4 * (1.0 - t * t).max(0.0).sqrt();
        let g = u / (0.11 * self.pose.width_px);
        let groove = 1.0 - self.groove[i] * (-0.5 * g * g).exp();
        Some(self.density[i] * cross * groove)
    }

    /// Pixel box that contains the outline.
    pub fn pixel_bounds(&self) -> (i64, i64, i64, i64) {
        let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        let n = (self.length().ceil() as usize).max(2);
        for i in 0..=n {
            let (x, y) = self.point(self.length() * i as f64 / n as f64);
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
        }
        let m = 0.5 * self.pose.width_px + 1.0;
        (
            (x0 - m).floor() as i64,
            (y0 - m).floor() as i64,
            (x1 + m).ceil() as i64,
            (y1 + m).ceil() as i64,
        )
    }

    pub fn rasterize(&self) -> Footprint {
        rasterize(self.pixel_bounds(), |x, y| {
            let (s, u) = self.local(x, y);
            self.absorbance(s, u)
        })
    }

    /// The medial axis pter -> qter, about one point per pixel.
    pub fn axis(&self) -> Vec<(f64, f64)> {
        let n = (self.length().ceil() as usize).max(2);
        (0..=n)
            .map(|i| self.point(self.length() * i as f64 / n as f64))
            .collect()
    }

    /// The outline as a closed polygon (left side pter -> qter, then right side back).
    pub fn outline(&self) -> Vec<(f64, f64)> {
        let n = (self.length().ceil() as usize).max(2);
        let side = |i: usize, sign: f64| {
            let s = self.length() * i as f64 / n as f64;
            let (x, y) = self.point(s);
            let (nx, ny) = self.normal(s);
            let hw = sign * self.half_width_at(s);
            (x + hw * nx, y + hw * ny)
        };
        let mut out: Vec<(f64, f64)> = (0..=n).map(|i| side(i, 1.0)).collect();
        out.extend((1..n).rev().map(|i| side(i, -1.0)));
        out
    }
}

/// Wraps an angle into `(-pi, pi]`.
fn wrap_pi(a: f64) -> f64 {
    let tau = std::f64::consts::TAU;
    let w = a - tau * (a / tau).round();
    if w <= -std::f64::consts::PI {
        w + tau
    } else {
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::bands::{BandLevel, BandTable};
    use crate::domain::chromosome::ChromosomeClass;

    #[test]
    fn arc_coordinates_invert_the_axis() {
        let body = Body::normal(
            BandTable::get(BandLevel::B400).ideogram(ChromosomeClass::autosome(2).unwrap()),
        );
        for bend in [0.0, 0.5, -0.6] {
            let pose = Pose {
                length_px: 60.0,
                width_px: 8.0,
                bend,
                angle: 1.0,
                center: (50.0, 40.0),
                contrast: 1.0,
            };
            let shape = Shape::new(&body, pose);
            let mid = shape.point(30.0);
            assert!((mid.0 - 50.0).abs() < 1e-9 && (mid.1 - 40.0).abs() < 1e-9);
            for s in [0.0, 10.0, 45.0, 60.0] {
                let (x, y) = shape.point(s);
                let (n0, n1) = shape.normal(s);
                let (ls, lu) = shape.local(x + 2.0 * n0, y + 2.0 * n1);
                assert!(
                    (ls - s).abs() < 1e-6 && (lu - 2.0).abs() < 1e-6,
                    "{bend} {s}: {ls} {lu}"
                );
            }
            let area = shape.rasterize().mask_pixels().len() as f64;
            assert!(area > 0.75 * 60.0 * 8.0 && area < 60.0 * 8.0, "{area}");
        }
    }
}
