//! Synthetic G-banded metaphase spreads with full ground truth.
//!
//! Serves the segmentation and classification tests, the demo case and model
//! training. Everything is built from the band tables: each chromosome is a list
//! of band pieces (so deletions and translocation derivatives are edited lists,
//! see `body`), drawn as a bent, banded rod with a centromeric constriction
//! (`shape`), placed in an elliptical spread (`spread`) and imaged through a
//! simulated bright-field microscope (`optics`).
//!
//! Invariants:
//! - pure and deterministic: the same config gives a bit-identical spread;
//! - instance masks are the pixels covered at least half (3x3 supersampling);
//!   overlapping instances may share pixels;
//! - `axis` runs pter -> qter; `touching`/`overlapping` are computed from the
//!   final masks (touching: another mask within 1 px in the 8-neighbourhood;
//!   overlapping: more than 2 shared pixels);
//! - instances are sorted by class, then normal before derivative, then position.
//!
//! Image model: absorbance adds where objects overlap; the image is
//! `background * exp(-absorbance)` with uneven illumination, blurred, plus
//! Gaussian noise. Chromosome interiors come out around 60-150 gray levels on
//! a background near 230.

mod body;
mod optics;
mod shape;
mod spread;

use serde::Serialize;

use super::bands::{BandLevel, BandTable};
use super::chromosome::ChromosomeClass;
use super::raster::{GrayImage, Region};
use super::rng::Rng;
use body::Body;
use optics::Optics;
use shape::{Footprint, Pose, Shape};
use spread::{Blob, Candidate, DEBRIS_ID, NUCLEUS_ID, OwnerGrid, Rings, SpreadEllipse};

/// Chromosomal sex of the simulated cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    Female,
    Male,
}

/// An abnormality to build into the spread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Abnormality {
    /// One extra normal copy.
    Trisomy(ChromosomeClass),
    /// One copy fewer.
    Monosomy(ChromosomeClass),
    /// Interstitial deletion of `[start of from_band, end of to_band]` on one homolog.
    Deletion {
        class: ChromosomeClass,
        from_band: String,
        to_band: String,
    },
    /// Reciprocal translocation on one homolog of each, breaking in the middle
    /// of the named bands.
    Translocation {
        a: ChromosomeClass,
        a_band: String,
        b: ChromosomeClass,
        b_band: String,
    },
}

impl Abnormality {
    /// ISCN notation: `+21`, `-7`, `del(5)(q31q33)`, `t(9;22)(q34;q11.2)`.
    pub fn iscn(&self) -> String {
        match self {
            Self::Trisomy(c) => format!("+{c}"),
            Self::Monosomy(c) => format!("-{c}"),
            Self::Deletion {
                class,
                from_band,
                to_band,
            } => format!("del({class})({from_band}{to_band})"),
            Self::Translocation {
                a,
                a_band,
                b,
                b_band,
            } => format!("t({a};{b})({a_band};{b_band})"),
        }
    }

    /// Parses the notation `iscn` writes: `+21`, `-7`, `del(5)(q31q33)`,
    /// `t(9;22)(q34;q11.2)`. Band names are checked when the spread is built.
    ///
    /// # Errors
    /// A message naming what was expected.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let class = |t: &str| {
            ChromosomeClass::parse(t).ok_or_else(|| format!("unknown chromosome {t:?} in {text:?}"))
        };
        if let Some(rest) = text.strip_prefix('+') {
            return Ok(Self::Trisomy(class(rest)?));
        }
        if let Some(rest) = text.strip_prefix('-') {
            return Ok(Self::Monosomy(class(rest)?));
        }
        let groups = |rest: &str| -> Option<(String, String)> {
            let rest = rest.strip_prefix('(')?;
            let (first, rest) = rest.split_once(")(")?;
            let second = rest.strip_suffix(')')?;
            Some((first.to_string(), second.to_string()))
        };
        let expected = "expected +N, -N, del(N)(bandband) or t(A;B)(band;band)";
        if let Some(rest) = text.strip_prefix("del") {
            let (chrom, bands) = groups(rest).ok_or_else(|| format!("{text:?}: {expected}"))?;
            // Split "q31q33" before the second arm letter.
            let split = bands[1..]
                .find(['p', 'q'])
                .map(|i| i + 1)
                .ok_or_else(|| format!("{text:?}: expected two bands such as q31q33"))?;
            return Ok(Self::Deletion {
                class: class(&chrom)?,
                from_band: bands[..split].to_string(),
                to_band: bands[split..].to_string(),
            });
        }
        if let Some(rest) = text.strip_prefix('t') {
            let (chroms, bands) = groups(rest).ok_or_else(|| format!("{text:?}: {expected}"))?;
            let (a, b) = chroms
                .split_once(';')
                .ok_or_else(|| format!("{text:?}: expected two chromosomes like 9;22"))?;
            let (a_band, b_band) = bands
                .split_once(';')
                .ok_or_else(|| format!("{text:?}: expected two bands like q34;q11.2"))?;
            return Ok(Self::Translocation {
                a: class(a)?,
                a_band: a_band.to_string(),
                b: class(b)?,
                b_band: b_band.to_string(),
            });
        }
        Err(format!("{text:?}: {expected}"))
    }

    /// ISCN listing order: by lowest chromosome, numerical before structural.
    fn sort_key(&self) -> (usize, u8) {
        match self {
            Self::Trisomy(c) | Self::Monosomy(c) => (c.index(), 0),
            Self::Deletion { class, .. } => (class.index(), 1),
            Self::Translocation { a, b, .. } => (a.index().min(b.index()), 1),
        }
    }

    fn is_sex_numerical(&self) -> bool {
        matches!(self, Self::Trisomy(c) | Self::Monosomy(c) if c.is_sex())
    }
}

/// Everything that shapes a synthetic spread.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthConfig {
    pub width: usize,
    pub height: usize,
    pub seed: u64,
    pub band_level: BandLevel,
    pub sex: Sex,
    pub abnormalities: Vec<Abnormality>,
    /// Nominal length of chromosome 1 in pixels; other classes scale by ideogram length.
    pub chromosome_scale: f64,
    /// Width of a chromatid pair in pixels.
    pub width_px: f64,
    /// Share of chromosomes deliberately placed touching another (its partner
    /// is then touching too).
    pub touching_fraction: f64,
    /// Pairs of chromosomes placed crossing each other.
    pub overlap_pairs: usize,
    pub debris_count: usize,
    pub nucleus: bool,
    /// Camera noise, gray levels.
    pub noise_sigma: f64,
    /// Optical blur, pixels.
    pub blur_sigma: f64,
    /// Uneven illumination 0..1 (at 1 the darkest corner is 40 % darker).
    pub illumination: f64,
    /// Largest bend of a chromosome axis, degrees.
    pub max_bend_deg: f64,
    /// Per-chromosome relative length jitter (uniform, default 0.05).
    pub length_jitter: f64,
    /// Per-cell relative condensation jitter (uniform, default 0.10).
    pub condensation_jitter: f64,
}

impl SynthConfig {
    /// Defaults scaled to the image: chromosome 1 is about 70 px on 768x576
    /// and about 180 px on 2048x2048 (a power law in the short side); width
    /// and blur scale with it (8 px and 0.8 px at 70 px).
    pub fn new(width: usize, height: usize, seed: u64) -> Self {
        let short = width.min(height).max(1) as f64;
        let chromosome_scale = 70.0 * (short / 576.0).powf(0.745);
        Self {
            width,
            height,
            seed,
            band_level: BandLevel::B400,
            sex: Sex::Female,
            abnormalities: Vec::new(),
            chromosome_scale,
            width_px: chromosome_scale * 8.0 / 70.0,
            touching_fraction: 0.12,
            overlap_pairs: 0,
            debris_count: 6,
            nucleus: true,
            noise_sigma: 4.0,
            blur_sigma: 0.8 * chromosome_scale / 70.0,
            illumination: 0.25,
            max_bend_deg: 35.0,
            length_jitter: 0.05,
            condensation_jitter: 0.10,
        }
    }
}

/// One chromosome of a synthetic spread with its ground truth.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthInstance {
    /// Class of the centromere-bearing segment (der(9) is class 9).
    pub class: ChromosomeClass,
    /// Pixels covered at least half.
    pub region: Region,
    /// Medial axis in image coordinates, pter -> qter, about one point per pixel.
    pub axis: Vec<(f64, f64)>,
    pub centromere: (f64, f64),
    /// E.g. `der(9)t(9;22)(q34;q11.2)` or `del(5)(q31q33)`.
    pub derivative: Option<String>,
    pub touching: bool,
    pub overlapping: bool,
    /// Axis length in pixels.
    pub length_px: f64,
    /// Closed outline polygon in image coordinates.
    pub outline: Vec<(f64, f64)>,
}

/// A synthetic metaphase and its truth.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthSpread {
    /// Dark chromosomes on a light background.
    pub image: GrayImage,
    pub instances: Vec<SynthInstance>,
    pub debris: Vec<Region>,
    pub nucleus: Option<Region>,
    /// ISCN karyotype, e.g. `47,XY,+21`.
    pub karyotype: String,
    /// Abnormalities that could not be built, fallback placements.
    pub warnings: Vec<String>,
}

/// Serializable ground truth of a spread.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SynthTruth {
    pub width: usize,
    pub height: usize,
    pub karyotype: String,
    pub instances: Vec<TruthInstance>,
    pub debris: usize,
    /// Bounding box `[x, y, w, h]` of the nucleus.
    pub nucleus: Option<[usize; 4]>,
}

/// Serializable truth for one chromosome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TruthInstance {
    pub id: usize,
    pub class: ChromosomeClass,
    /// `[x, y, w, h]`.
    pub bbox: [usize; 4],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub polygon: Option<Vec<[f64; 2]>>,
    pub p_end: [f64; 2],
    pub q_end: [f64; 2],
    pub centromere: [f64; 2],
    pub derivative: Option<String>,
    pub touching: bool,
    pub overlapping: bool,
    pub length_px: f64,
}

fn round2((x, y): (f64, f64)) -> [f64; 2] {
    [(x * 100.0).round() / 100.0, (y * 100.0).round() / 100.0]
}

fn bbox_array(region: &Region) -> [usize; 4] {
    let b = region.bbox;
    [b.x, b.y, b.w, b.h]
}

impl SynthSpread {
    /// The ground truth as plain serializable data (ids in instance order).
    pub fn truth(&self) -> SynthTruth {
        SynthTruth {
            width: self.image.width(),
            height: self.image.height(),
            karyotype: self.karyotype.clone(),
            instances: self
                .instances
                .iter()
                .enumerate()
                .map(|(id, inst)| TruthInstance {
                    id,
                    class: inst.class,
                    bbox: bbox_array(&inst.region),
                    polygon: Some(inst.outline.iter().map(|&p| round2(p)).collect()),
                    p_end: round2(inst.axis.first().copied().unwrap_or_default()),
                    q_end: round2(inst.axis.last().copied().unwrap_or_default()),
                    centromere: round2(inst.centromere),
                    derivative: inst.derivative.clone(),
                    touching: inst.touching,
                    overlapping: inst.overlapping,
                    length_px: (inst.length_px * 100.0).round() / 100.0,
                })
                .collect(),
            debris: self.debris.len(),
            nucleus: self.nucleus.as_ref().map(bbox_array),
        }
    }
}

/// The chromosome complement of the cell, its ISCN karyotype and warnings
/// about abnormalities that could not be built.
fn build_cell(cfg: &SynthConfig) -> (Vec<Body>, String, Vec<String>) {
    let table = BandTable::get(cfg.band_level);
    let normal = |c: ChromosomeClass| Body::normal(table.ideogram(c));
    let mut bodies: Vec<Body> = Vec::new();
    for c in ChromosomeClass::all().filter(|c| !c.is_sex()) {
        bodies.push(normal(c));
        bodies.push(normal(c));
    }
    bodies.push(normal(ChromosomeClass::X));
    bodies.push(normal(match cfg.sex {
        Sex::Female => ChromosomeClass::X,
        Sex::Male => ChromosomeClass::Y,
    }));
    let mut warnings = Vec::new();
    let mut applied: Vec<&Abnormality> = Vec::new();
    let find_normal = |bodies: &[Body], c: ChromosomeClass, skip: Option<usize>| {
        bodies
            .iter()
            .enumerate()
            .position(|(i, b)| b.class == c && b.derivative.is_none() && Some(i) != skip)
    };
    // Numerical changes first, so a structural change always finds its homolog.
    let (numerical, structural): (Vec<&Abnormality>, Vec<&Abnormality>) = cfg
        .abnormalities
        .iter()
        .partition(|a| matches!(a, Abnormality::Trisomy(_) | Abnormality::Monosomy(_)));
    for ab in numerical {
        match ab {
            Abnormality::Trisomy(c) => {
                bodies.push(normal(*c));
                applied.push(ab);
            }
            Abnormality::Monosomy(c) => match find_normal(&bodies, *c, None) {
                Some(i) => {
                    bodies.remove(i);
                    applied.push(ab);
                }
                None => warnings.push(format!("{}: no chromosome {c} to remove", ab.iscn())),
            },
            _ => {}
        }
    }
    for ab in structural {
        let result = match ab {
            Abnormality::Deletion {
                class,
                from_band,
                to_band,
            } => find_normal(&bodies, *class, None)
                .ok_or_else(|| format!("no normal chromosome {class}"))
                .and_then(|i| {
                    let del =
                        body::deletion(table.ideogram(*class), from_band, to_band, ab.iscn())?;
                    bodies[i] = del;
                    Ok(())
                }),
            Abnormality::Translocation {
                a,
                a_band,
                b,
                b_band,
            } => {
                let ia = find_normal(&bodies, *a, None);
                let ib = ia.and_then(|ia| find_normal(&bodies, *b, Some(ia)));
                match (ia, ib) {
                    (Some(ia), Some(ib)) => body::translocation(
                        table.ideogram(*a),
                        a_band,
                        table.ideogram(*b),
                        b_band,
                        &ab.iscn(),
                    )
                    .map(|(der_a, der_b)| {
                        bodies[ia] = der_a;
                        bodies[ib] = der_b;
                    }),
                    _ => Err(format!("no normal chromosomes {a} and {b}")),
                }
            }
            _ => Ok(()),
        };
        match result {
            Ok(()) => applied.push(ab),
            Err(e) => warnings.push(format!("{}: {e}", ab.iscn())),
        }
    }
    let sex_x = bodies
        .iter()
        .filter(|b| b.class == ChromosomeClass::X)
        .count();
    let sex_y = bodies
        .iter()
        .filter(|b| b.class == ChromosomeClass::Y)
        .count();
    let mut karyotype = format!(
        "{},{}{}",
        bodies.len(),
        "X".repeat(sex_x),
        "Y".repeat(sex_y)
    );
    applied.retain(|a| !a.is_sex_numerical());
    applied.sort_by_key(|a| a.sort_key());
    for ab in applied {
        karyotype.push(',');
        karyotype.push_str(&ab.iscn());
    }
    (bodies, karyotype, warnings)
}

/// How a chromosome joins the spread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Free,
    Touching,
    Crossing,
}

struct Placed {
    body: usize,
    shape: Shape,
    footprint: Footprint,
    role: Role,
}

/// Draws a pose for `body` at `center`.
fn random_pose(
    length_px: f64,
    width_px: f64,
    max_bend: f64,
    center: (f64, f64),
    rng: &mut Rng,
) -> Pose {
    Pose {
        length_px,
        width_px,
        bend: max_bend * rng.range(-1.0, 1.0),
        angle: rng.range(0.0, std::f64::consts::TAU),
        center,
        contrast: rng.range(0.93, 1.07),
    }
}

/// Generates a spread. Abnormalities that cannot be built are left out of
/// the karyotype and reported in `warnings`.
pub fn generate_spread(cfg: &SynthConfig) -> SynthSpread {
    let mut rng = Rng::new(cfg.seed);
    let (width, height) = (cfg.width.max(1), cfg.height.max(1));
    let (bodies, karyotype, mut warnings) = build_cell(cfg);
    let table = BandTable::get(cfg.band_level);
    let chr1 = table
        .ideogram(ChromosomeClass::autosome(1).unwrap_or(ChromosomeClass::X))
        .length();
    let condensation = 1.0 + cfg.condensation_jitter * rng.range(-1.0, 1.0);
    let px_per_unit = cfg.chromosome_scale * condensation / chr1.max(1.0);
    let stain = rng.range(0.9, 1.1);
    let max_bend = cfg.max_bend_deg.to_radians();
    let lengths: Vec<f64> = bodies
        .iter()
        .map(|b| b.length() * px_per_unit * (1.0 + cfg.length_jitter * rng.range(-1.0, 1.0)))
        .collect();
    let widths: Vec<f64> = bodies
        .iter()
        .map(|_| cfg.width_px * rng.range(0.95, 1.05))
        .collect();
    let margin = (2.0 * cfg.blur_sigma + 3.0).ceil() as i64;

    // Spread ellipse sized to the chromosomes, within the image.
    let footprint_area: f64 = lengths
        .iter()
        .zip(&widths)
        .map(|(l, w)| l * (w + 6.0))
        .sum();
    let aspect = width as f64 / height as f64;
    let max_radii = (
        (0.5 * width as f64 - margin as f64 - 0.3 * cfg.chromosome_scale).max(1.0),
        (0.5 * height as f64 - margin as f64 - 0.3 * cfg.chromosome_scale).max(1.0),
    );
    let ry = (6.0 * footprint_area / (std::f64::consts::PI * aspect)).sqrt();
    let mut ellipse = SpreadEllipse {
        center: (
            0.5 * width as f64 + rng.range(-0.03, 0.03) * width as f64,
            0.5 * height as f64 + rng.range(-0.03, 0.03) * height as f64,
        ),
        radii: ((ry * aspect).min(max_radii.0), ry.min(max_radii.1)),
        max_radii,
    };
    let mut grid = OwnerGrid::new(width, height);

    // The nucleus lies just outside the spread, kept clear of chromosomes.
    let nucleus = cfg.nucleus.then(|| {
        let r = 0.5 * cfg.chromosome_scale * rng.range(1.4, 2.0);
        let a = rng.range(0.0, std::f64::consts::TAU);
        let reach = 1.05;
        // `min` then `max` (not `clamp`): on a tiny image the bounds cross
        // and the nucleus simply sits at the lower bound.
        let cx = (ellipse.center.0 + reach * ellipse.radii.0 * a.cos())
            .min(width as f64 - r - margin as f64 - 2.0)
            .max(r + margin as f64 + 2.0);
        let cy = (ellipse.center.1 + reach * ellipse.radii.1 * a.sin())
            .min(height as f64 - r - margin as f64 - 2.0)
            .max(r + margin as f64 + 2.0);
        let clumps = (0..40)
            .map(|_| {
                let (ca, cr) = (rng.range(0.0, std::f64::consts::TAU), r * rng.f64().sqrt());
                (
                    cr * ca.cos(),
                    cr * ca.sin(),
                    rng.range(0.03, 0.09) * r,
                    rng.range(-0.1, 0.45),
                )
            })
            .collect();
        let blob = Blob {
            center: (cx, cy),
            radii: (r * rng.range(0.9, 1.0), r * rng.range(0.78, 0.95)),
            angle: rng.range(0.0, std::f64::consts::PI),
            wobble: [
                (rng.range(0.0, 0.05), rng.range(0.0, 6.3)),
                (rng.range(0.0, 0.03), rng.range(0.0, 6.3)),
            ],
            absorbance: rng.range(0.55, 0.8),
            clumps,
        };
        let fp = blob.rasterize();
        // Keep chromosomes a few pixels further away than the 3 px rule.
        let rings = Rings::new(fp.mask_pixels());
        grid.stamp(&rings.mask, NUCLEUS_ID);
        let halo = Rings::new(dilate(&rings.mask, 5));
        grid.stamp(&halo.mask, NUCLEUS_ID);
        fp
    });

    // Placement order: longest first; roles drawn at random among the rest.
    let mut order: Vec<usize> = (0..bodies.len()).collect();
    order.sort_by(|&a, &b| lengths[b].total_cmp(&lengths[a]).then(a.cmp(&b)));
    let mut roles = vec![Role::Free; order.len()];
    let mut slots: Vec<usize> = (1..order.len()).collect();
    rng.shuffle(&mut slots);
    let n_cross = cfg.overlap_pairs.min(slots.len() / 2);
    let n_touch = ((cfg.touching_fraction.clamp(0.0, 1.0) * bodies.len() as f64).round() as usize)
        .min(slots.len() - n_cross);
    for (k, &slot) in slots.iter().enumerate() {
        if k < n_cross {
            roles[slot] = Role::Crossing;
        } else if k < n_cross + n_touch {
            roles[slot] = Role::Touching;
        }
    }

    let mut placed: Vec<Placed> = Vec::new();
    for (k, &bi) in order.iter().enumerate() {
        let body = &bodies[bi];
        let (len, wid) = (lengths[bi], widths[bi]);
        let make = |center: (f64, f64), rng: &mut Rng| {
            Shape::new(body, random_pose(len, wid, max_bend, center, rng))
        };
        let partner_pool: Vec<usize> = placed
            .iter()
            .enumerate()
            .filter(|(_, p)| {
                p.role == Role::Free || (roles[k] == Role::Touching && p.role == Role::Touching)
            })
            .map(|(i, _)| i)
            .collect();
        let mut result: Option<(Shape, Footprint, Role)> = None;
        if roles[k] == Role::Touching && !partner_pool.is_empty() {
            for _ in 0..40 {
                let t = partner_pool[rng.below(partner_pool.len())];
                let target = &placed[t].shape;
                let cand = Candidate::new(make((rng.f64(), rng.f64()), &mut rng));
                let a = rng.range(0.0, std::f64::consts::TAU);
                let reach = 0.5 * (len + target.length()) + wid + 6.0;
                let tc = target.pose.center;
                let mut hit = None;
                let mut k_step = reach.ceil() as i64;
                while k_step >= 0 {
                    let d = k_step as f64;
                    let off = (
                        (tc.0 + d * a.cos()).round() as i64,
                        (tc.1 + d * a.sin()).round() as i64,
                    );
                    if let Some((shared, adjacent)) =
                        cand.rings.probe(&grid, off, Some(t as u16 + 1), margin)
                    {
                        if shared > 2 {
                            break;
                        }
                        if adjacent {
                            hit = Some(off);
                            break;
                        }
                    }
                    k_step -= 1;
                }
                if let Some(off) = hit {
                    let (s, f) = cand.shifted(off);
                    result = Some((s, f, Role::Touching));
                    break;
                }
            }
        }
        if roles[k] == Role::Crossing && result.is_none() && !partner_pool.is_empty() {
            for _ in 0..40 {
                let t = partner_pool[rng.below(partner_pool.len())];
                let target = &placed[t].shape;
                let at = target.point(target.length() * rng.range(0.3, 0.7));
                let sign = if rng.chance(0.5) { 1.0 } else { -1.0 };
                let mut pose = random_pose(len, wid, max_bend, at, &mut rng);
                pose.angle =
                    target.pose.angle + sign * rng.range(40f64.to_radians(), 90f64.to_radians());
                pose.bend *= 0.5;
                let cand = Candidate::new(Shape::new(body, pose));
                if let Some((shared, _)) =
                    cand.rings.probe(&grid, (0, 0), Some(t as u16 + 1), margin)
                    && shared as f64 >= 0.5 * wid * wid
                {
                    let (s, f) = cand.shifted((0, 0));
                    result = Some((s, f, Role::Crossing));
                    break;
                }
            }
        }
        if result.is_none() {
            'grow: for _ in 0..8 {
                let mut cand = None;
                for attempt in 0..60 {
                    if attempt % 6 == 0 {
                        cand = Some(Candidate::new(make((rng.f64(), rng.f64()), &mut rng)));
                    }
                    let c = ellipse.sample(&mut rng);
                    let off = (c.0.round() as i64, c.1.round() as i64);
                    if let Some(cand_ref) = &cand
                        && cand_ref.rings.probe(&grid, off, None, margin).is_some()
                        && let Some(cand) = cand.take()
                    {
                        let (s, f) = cand.shifted(off);
                        result = Some((s, f, Role::Free));
                        break 'grow;
                    }
                }
                if ellipse.radii == ellipse.max_radii {
                    break;
                }
                ellipse.grow();
            }
        }
        let (shape, footprint, role) = result.unwrap_or_else(|| {
            warnings.push(format!(
                "chromosome {} placed without spacing: the spread is too crowded",
                body.class
            ));
            let c = ellipse.sample(&mut rng);
            let cand = Candidate::new(make((rng.f64(), rng.f64()), &mut rng));
            let (s, f) = cand.shifted((c.0.round() as i64, c.1.round() as i64));
            (s, f, Role::Free)
        });
        grid.stamp(&footprint.mask_pixels(), placed.len() as u16 + 1);
        placed.push(Placed {
            body: bi,
            shape,
            footprint,
            role,
        });
    }

    // Debris: small specks clear of everything else.
    let mut debris_fps: Vec<Footprint> = Vec::new();
    for _ in 0..cfg.debris_count {
        for _ in 0..50 {
            let c = (
                rng.range(margin as f64 + 3.0, width as f64 - margin as f64 - 3.0),
                rng.range(margin as f64 + 3.0, height as f64 - margin as f64 - 3.0),
            );
            let blob = Blob {
                center: c,
                radii: (rng.range(0.9, 2.6), rng.range(0.9, 2.2)),
                angle: rng.range(0.0, std::f64::consts::PI),
                wobble: [(0.0, 0.0), (0.0, 0.0)],
                absorbance: rng.range(0.8, 1.6),
                clumps: Vec::new(),
            };
            let fp = blob.rasterize();
            let rings = Rings::new(fp.mask_pixels());
            let area = rings.mask.len();
            if (3..=20).contains(&area) && rings.probe(&grid, (0, 0), None, margin).is_some() {
                grid.stamp(&rings.mask, DEBRIS_ID);
                debris_fps.push(fp);
                break;
            }
        }
    }
    if debris_fps.len() < cfg.debris_count {
        warnings.push(format!(
            "placed {} of {} debris specks",
            debris_fps.len(),
            cfg.debris_count
        ));
    }

    // Image.
    let mut absorbance = vec![0.0f32; width * height];
    for p in &placed {
        p.footprint
            .add_to(&mut absorbance, width, height, stain as f32);
    }
    if let Some(fp) = &nucleus {
        fp.add_to(&mut absorbance, width, height, 1.0);
    }
    for fp in &debris_fps {
        fp.add_to(&mut absorbance, width, height, 1.0);
    }
    let optics = Optics {
        background: rng.range(226.0, 240.0),
        illumination: cfg.illumination,
        blur_sigma: cfg.blur_sigma,
        noise_sigma: cfg.noise_sigma,
        grain: 0.08,
    };
    let image = optics::expose(width, height, &absorbance, &optics, &mut rng);

    // Truth.
    let regions: Vec<Region> = placed
        .iter()
        .map(|p| region_in_image(&p.footprint, width, height))
        .collect();
    let (touching, overlapping) = contact_flags(&regions);
    let mut instances: Vec<SynthInstance> = placed
        .iter()
        .zip(regions)
        .enumerate()
        .map(|(i, (p, region))| {
            instance(
                &bodies[p.body],
                &p.shape,
                region,
                touching[i],
                overlapping[i],
            )
        })
        .collect();
    instances.sort_by(|a, b| {
        (a.class, &a.derivative, a.region.bbox.y, a.region.bbox.x).cmp(&(
            b.class,
            &b.derivative,
            b.region.bbox.y,
            b.region.bbox.x,
        ))
    });
    SynthSpread {
        image,
        instances,
        debris: debris_fps
            .iter()
            .map(|fp| region_in_image(fp, width, height))
            .collect(),
        nucleus: nucleus.map(|fp| region_in_image(&fp, width, height)),
        karyotype,
        warnings,
    }
}

fn instance(
    body: &Body,
    shape: &Shape,
    region: Region,
    touching: bool,
    overlapping: bool,
) -> SynthInstance {
    SynthInstance {
        class: body.class,
        region,
        axis: shape.axis(),
        centromere: shape.point(shape.centromere_s),
        derivative: body.derivative.clone(),
        touching,
        overlapping,
        length_px: shape.length(),
        outline: shape.outline(),
    }
}

/// Mask pixels inside a `width` x `height` image as a region.
fn region_in_image(fp: &Footprint, width: usize, height: usize) -> Region {
    let pixels: Vec<(usize, usize)> = fp
        .mask_pixels()
        .into_iter()
        .filter(|&(x, y)| x >= 0 && y >= 0 && (x as usize) < width && (y as usize) < height)
        .map(|(x, y)| (x as usize, y as usize))
        .collect();
    Region::from_pixels(&pixels)
}

/// Pixels within Euclidean distance `r` of `pixels` (including them), scan order.
fn dilate(pixels: &[(i64, i64)], r: i64) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    for &(x, y) in pixels {
        for dy in -r..=r {
            for dx in -r..=r {
                if dx * dx + dy * dy <= r * r {
                    out.push((x + dx, y + dy));
                }
            }
        }
    }
    out.sort_by_key(|&(x, y)| (y, x));
    out.dedup();
    out
}

/// Per region: touches another (8-adjacent, at most 2 shared pixels) and
/// overlaps another (more than 2 shared pixels).
fn contact_flags(regions: &[Region]) -> (Vec<bool>, Vec<bool>) {
    let n = regions.len();
    let (mut touching, mut overlapping) = (vec![false; n], vec![false; n]);
    for i in 0..n {
        for j in i + 1..n {
            let (a, b) = (&regions[i].bbox, &regions[j].bbox);
            if a.x > b.x + b.w || b.x > a.x + a.w || a.y > b.y + b.h || b.y > a.y + a.h {
                continue;
            }
            let shared = regions[i].intersection(&regions[j]);
            if shared > 2 {
                overlapping[i] = true;
                overlapping[j] = true;
            } else if shared > 0 || adjacent(&regions[i], &regions[j]) {
                touching[i] = true;
                touching[j] = true;
            }
        }
    }
    (touching, overlapping)
}

/// True when a pixel of `a` has a pixel of `b` in its 8-neighbourhood.
fn adjacent(a: &Region, b: &Region) -> bool {
    a.pixels().iter().any(|&(x, y)| {
        (-1..=1).any(|dy| (-1..=1).any(|dx| b.contains(x as i64 + dx, y as i64 + dy)))
    })
}

/// One chromosome drawn upright (p arm at the top, straight or bent by up to
/// 12 degrees) on a light background with a margin of about one width plus
/// 6 px; for classifier tests.
pub fn render_single(
    class: ChromosomeClass,
    band_level: BandLevel,
    length_px: f64,
    width_px: f64,
    seed: u64,
) -> (GrayImage, SynthInstance) {
    let mut rng = Rng::new(seed);
    let body = Body::normal(BandTable::get(band_level).ideogram(class));
    let pose = Pose {
        length_px: length_px.max(2.0),
        width_px: width_px.max(1.0),
        bend: 12f64.to_radians() * rng.range(-1.0, 1.0),
        angle: std::f64::consts::FRAC_PI_2,
        center: (0.0, 0.0),
        contrast: rng.range(0.95, 1.05),
    };
    let shape = Shape::new(&body, pose);
    let (x0, y0, x1, y1) = shape.pixel_bounds();
    let m = width_px.max(1.0).ceil() as i64 + 6;
    let shape = shape.shifted(m - x0, m - y0);
    let (width, height) = (
        (x1 - x0 + 1 + 2 * m) as usize,
        (y1 - y0 + 1 + 2 * m) as usize,
    );
    let footprint = shape.rasterize();
    let mut absorbance = vec![0.0f32; width * height];
    footprint.add_to(&mut absorbance, width, height, 1.0);
    let optics = Optics {
        background: 232.0,
        illumination: 0.0,
        blur_sigma: 0.7,
        noise_sigma: 3.0,
        grain: 0.08,
    };
    let image = optics::expose(width, height, &absorbance, &optics, &mut rng);
    let region = region_in_image(&footprint, width, height);
    (image, instance(&body, &shape, region, false, false))
}

#[cfg(test)]
mod tests;
