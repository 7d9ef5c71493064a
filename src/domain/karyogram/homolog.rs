//! Homolog comparison: where do the two chromosomes of a pair differ, and
//! which bands does that span?
//!
//! Theory of operation:
//! 1. [`banding_profile`] turns a straightened, p-up crop in G-band look into
//!    a darkness profile, one value per row from pter to qter: the mean
//!    darkness of the central half of the chromosome's width in that row
//!    (foreground pixels only), empty rows interpolated, robustly z-scored
//!    (median / MAD) so homologs of different staining intensity compare.
//! 2. [`compare_pair`] resamples both profiles of a pair at a sampling
//!    proportional to the class's relative ideogram length (so one sample
//!    covers about the same ISCN span in every class), keeping their
//!    relative length, removes the broad trend (pale tips, uneven stain),
//!    and aligns them by dynamic time warping inside a Sakoe-Chiba band.
//!    Besides diagonal steps the path may step on one chromosome only, at an
//!    extra gap cost of two noise levels: scattered gap steps absorb a
//!    condensation difference cheaply, while
//!    a run of such steps is a stretch with no counterpart on the other
//!    homolog (a deletion, or foreign material of a translocation).
//! 3. Each path step's cost is divided by the pair's own noise level (the
//!    median cost of its diagonal steps, floored), so pairs of different
//!    classes, sizes and image quality share one scale. The differing
//!    segments are the maximal-sum stretches of `normalised cost - allowance`
//!    along the path (Kadane, up to [`MAX_SEGMENTS`], disjoint); a segment's
//!    strength is that sum, and the pair's score is the strongest one. Under
//!    the null (matching homologs) the excess has a negative drift, so the
//!    maximum grows only logarithmically with the path length and the score
//!    does not favour long chromosomes; a uniform length difference costs
//!    only scattered, cheap gap steps and adds next to nothing.
//! 4. Each homolog is also aligned to the ideogram density profile of its
//!    class at the requested band level. A segment is named through the
//!    ideogram alignment of the homolog on which it is longer, mapping its
//!    first and last sample to ideogram positions and so to bands. When
//!    that homolog is the one further from the length the cell leads one
//!    to expect for the class (it carries extra material: the foreign tail
//!    of a derivative, a duplication), its ideogram alignment is warped to
//!    make room for the extra stretch, so the segment is named instead by
//!    its distance from pter on the scale of the normal homolog (both are
//!    sampled at the same pixels per sample).
//!
//! Invariants: no input panics or yields NaN: empty profiles, single-row
//! crops and profiles of very different lengths give a finite score (0 and
//! no segments when there is nothing to compare).

use crate::domain::bands::{BandLevel, BandTable, Ideogram, gaussian_smooth};
use crate::domain::chromosome::ChromosomeClass;
use crate::domain::ids::ObjectId;
use crate::domain::raster::GrayImage;

/// Most segments reported per pair.
pub const MAX_SEGMENTS: usize = 3;
/// Samples per unit of relative length (a class's share of the haploid
/// autosome + X length): chromosome 1 (about 8 %) gets about 128 samples.
const SAMPLES_PER_RELATIVE_LENGTH: f64 = 1600.0;
const MIN_SAMPLES: usize = 16;
const MAX_SAMPLES: usize = 192;
/// Extra cost of a step on one chromosome only, in units of the pair's
/// noise level.
const GAP_COST: f64 = 2.0;
/// Path steps this close (in samples) to either end of either chromosome
/// count as neutral: the pale, blurred tips and where exactly the axis
/// reaches them say nothing about the banding.
const TIP_SAMPLES: usize = 2;
/// Half-width of the Sakoe-Chiba band as a fraction of the samples.
const BAND_FRACTION: f64 = 0.3;
/// Floor of a pair's noise level (z units), so near-identical profiles do
/// not blow small differences up.
const NOISE_FLOOR: f64 = 0.2;
/// Allowance per path step in units of the noise level: steps costing more
/// add to a segment's strength, cheaper ones subtract.
const ALLOWANCE: f64 = 3.5;
/// Fewest classified members from which [`rank_pairs`] trusts the cell's
/// length scale (the expected length of each class); fewer, and segments
/// are named through the ideogram alignment only.
const MIN_MEMBERS_FOR_SCALE: usize = 10;
/// Segments weaker than this are not reported.
const MIN_SEGMENT_STRENGTH: f64 = 2.0;
/// Width of the trend removed from profiles, in samples (about 300 ISCN
/// units at the sampling of [`samples_for`]).
const TREND_SIGMA: f64 = 10.0;
/// Smoothing of the resampled profiles, in samples.
const PROFILE_SIGMA: f64 = 0.7;

/// One stretch where the homologs of a pair differ.
#[derive(Debug, Clone, PartialEq)]
pub struct DiffSegment {
    /// Span on homolog `a`, fractions of its length from pter (start <= end).
    pub a: (f64, f64),
    /// Span on homolog `b`, fractions of its length from pter.
    pub b: (f64, f64),
    /// First band spanned (ISCN name without the chromosome, e.g. `q31`).
    pub first_band: String,
    /// Last band spanned.
    pub last_band: String,
    /// ISCN label: `5q31–q33` (en dash), `5q31` for a single band.
    pub bands: String,
    /// Evidence for the difference (see the module docs); higher is stronger.
    pub strength: f64,
}

/// The comparison of one homolog pair.
#[derive(Debug, Clone, PartialEq)]
pub struct PairDifference {
    pub class: ChromosomeClass,
    pub a: ObjectId,
    pub b: ObjectId,
    /// The strongest segment's strength, 0 when none; comparable across classes.
    pub score: f64,
    /// Strongest first.
    pub segments: Vec<DiffSegment>,
}

/// One chromosome of a cell as [`rank_pairs`] sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HomologMember<'a> {
    pub id: ObjectId,
    pub class: ChromosomeClass,
    /// Place within its class in the karyogram; the two lowest form the pair.
    pub slot: u32,
    /// Its [`banding_profile`].
    pub profile: &'a [f64],
}

/// Darkness per row, pter (row 0) to qter, of a straightened p-up crop in
/// G-band look (dark bands, background exactly 255), robustly z-scored.
///
/// Per row, the foreground (pixels below 255) spans columns `l..=r`; the
/// value is the mean darkness (`255 - v`) of the foreground pixels in the
/// central half of that span. Rows without foreground are interpolated from
/// their neighbours. An empty crop, or one without any foreground, gives an
/// empty profile.
pub fn banding_profile(crop: &GrayImage) -> Vec<f64> {
    let (w, h) = (crop.width(), crop.height());
    if w == 0 || h == 0 {
        return Vec::new();
    }
    let raw: Vec<Option<f64>> = (0..h)
        .map(|y| {
            let row = &crop.data()[y * w..(y + 1) * w];
            let l = row.iter().position(|&v| v < 255)?;
            let r = row.iter().rposition(|&v| v < 255)?;
            let centre = 0.5 * (l + r) as f64;
            let reach = (0.25 * (r - l + 1) as f64).max(0.5);
            let (mut sum, mut n) = (0.0, 0.0);
            for (x, &v) in row.iter().enumerate().take(r + 1).skip(l) {
                if v < 255 && (x as f64 - centre).abs() <= reach {
                    sum += f64::from(255 - v);
                    n += 1.0;
                }
            }
            (n > 0.0).then(|| sum / n)
        })
        .collect();
    let Some(mut filled) = interpolate_gaps(&raw) else {
        return Vec::new();
    };
    robust_normalise(&mut filled);
    filled
}

/// Fills `None`s linearly between known values (ends: nearest known value);
/// `None` when nothing is known.
fn interpolate_gaps(raw: &[Option<f64>]) -> Option<Vec<f64>> {
    let known: Vec<(usize, f64)> = raw
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (i, v)))
        .collect();
    let (&(first_i, first_v), &(last_i, last_v)) = (known.first()?, known.last()?);
    let mut out = vec![0.0; raw.len()];
    for (i, o) in out.iter_mut().enumerate() {
        *o = if i <= first_i {
            first_v
        } else if i >= last_i {
            last_v
        } else {
            // The known neighbours around i.
            let k = known.partition_point(|&(j, _)| j <= i);
            let (i0, v0) = known[k - 1];
            match known.get(k) {
                Some(&(i1, v1)) if i0 != i => v0 + (v1 - v0) * (i - i0) as f64 / (i1 - i0) as f64,
                _ => v0,
            }
        };
    }
    Some(out)
}

fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut s = values.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    if s.len().is_multiple_of(2) {
        0.5 * (s[m - 1] + s[m])
    } else {
        s[m]
    }
}

/// Robust z-score in place: `(v - median) / (1.4826 MAD)`, falling back to
/// the standard deviation, then to plain centring for a constant signal;
/// clamped to +-4. Non-finite values count as the median.
fn robust_normalise(values: &mut [f64]) {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let med = median(&finite);
    for v in values.iter_mut() {
        *v = if v.is_finite() { *v - med } else { 0.0 };
    }
    let abs: Vec<f64> = values.iter().map(|v| v.abs()).collect();
    let mut scale = 1.4826 * median(&abs);
    if scale < 1e-9 {
        let n = values.len().max(1) as f64;
        scale = (values.iter().map(|v| v * v).sum::<f64>() / n).sqrt();
    }
    let scale = if scale < 1e-9 { 1.0 } else { scale };
    for v in values.iter_mut() {
        *v = (*v / scale).clamp(-4.0, 4.0);
    }
}

/// Linear resampling of `profile` to `n` samples at sample centres.
fn resample(profile: &[f64], n: usize) -> Vec<f64> {
    let m = profile.len();
    if m == 0 {
        return vec![0.0; n];
    }
    (0..n)
        .map(|i| {
            let pos = ((i as f64 + 0.5) * m as f64 / n as f64 - 0.5).clamp(0.0, (m - 1) as f64);
            let i0 = pos.floor() as usize;
            let i1 = (i0 + 1).min(m - 1);
            let f = pos - i0 as f64;
            profile[i0] * (1.0 - f) + profile[i1] * f
        })
        .collect()
}

/// Samples for `class`: proportional to its relative ideogram length.
fn samples_for(class: ChromosomeClass, level: BandLevel) -> usize {
    let rel = BandTable::get(level).relative_lengths()[class.index()];
    ((rel * SAMPLES_PER_RELATIVE_LENGTH).round() as usize).clamp(MIN_SAMPLES, MAX_SAMPLES)
}

/// `profile` resampled to `n`, lightly smoothed, detrended and z-scored.
fn prepare(profile: &[f64], n: usize) -> Vec<f64> {
    let mut v = detrend(&gaussian_smooth(&resample(profile, n), PROFILE_SIGMA));
    robust_normalise(&mut v);
    v
}

/// `v` less its broad trend (a Gaussian of [`TREND_SIGMA`] samples): keeps
/// the bands, drops the pale tips and uneven staining along the axis.
fn detrend(v: &[f64]) -> Vec<f64> {
    let trend = gaussian_smooth(v, TREND_SIGMA);
    v.iter().zip(trend).map(|(x, t)| x - t).collect()
}

/// The ideogram's density profile at `n` samples, z-scored.
fn ideogram_profile(ideo: &Ideogram, n: usize) -> Vec<f64> {
    let mut v = detrend(&ideo.density_profile(n, 0.6 / n.max(1) as f64));
    robust_normalise(&mut v);
    v
}

/// How a path step advances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Both,
    /// Only the first sequence advances (its sample has no counterpart).
    FirstOnly,
    /// Only the second sequence advances.
    SecondOnly,
}

/// One step of an alignment path: the pair of samples it ends on.
#[derive(Debug, Clone, Copy, PartialEq)]
struct PathStep {
    i: usize,
    j: usize,
    step: Step,
    cost: f64,
}

/// DTW of `a` against `b` from (0, 0) to the two ends, inside a band of
/// `BAND_FRACTION` around the diagonal; steps on one sequence only cost
/// `gap` extra. Empty when either sequence is empty.
fn align(a: &[f64], b: &[f64], gap: f64) -> Vec<PathStep> {
    let (n, m) = (a.len(), b.len());
    if n == 0 || m == 0 {
        return Vec::new();
    }
    let band = (BAND_FRACTION * n.max(m) as f64).ceil() as i64 + 1;
    let inside = |i: usize, j: usize| {
        // The band follows the straight line from (0, 0) to (n-1, m-1).
        let diag = if n > 1 {
            i as f64 * (m - 1) as f64 / (n - 1) as f64
        } else {
            0.0
        };
        (j as f64 - diag).abs() <= band as f64
    };
    let idx = |i: usize, j: usize| i * m + j;
    let mut acc = vec![f64::INFINITY; n * m];
    let mut from = vec![Step::Both; n * m];
    for i in 0..n {
        for j in 0..m {
            if !inside(i, j) {
                continue;
            }
            let d = (a[i] - b[j]).abs();
            if i == 0 && j == 0 {
                acc[0] = d;
                continue;
            }
            let mut best = (f64::INFINITY, Step::Both);
            if i > 0 && j > 0 {
                best = (acc[idx(i - 1, j - 1)] + d, Step::Both);
            }
            if i > 0 {
                let c = acc[idx(i - 1, j)] + d + gap;
                if c < best.0 {
                    best = (c, Step::FirstOnly);
                }
            }
            if j > 0 {
                let c = acc[idx(i, j - 1)] + d + gap;
                if c < best.0 {
                    best = (c, Step::SecondOnly);
                }
            }
            acc[idx(i, j)] = best.0;
            from[idx(i, j)] = best.1;
        }
    }
    let mut path = Vec::with_capacity(n + m);
    let (mut i, mut j) = (n - 1, m - 1);
    loop {
        let step = if i == 0 && j == 0 {
            Step::Both
        } else {
            from[idx(i, j)]
        };
        let d = (a[i] - b[j]).abs();
        let cost = if step == Step::Both { d } else { d + gap };
        path.push(PathStep { i, j, step, cost });
        // Saturating moves: an edge cell can only be left along the edge.
        match step {
            _ if i == 0 && j == 0 => break,
            _ if i == 0 => j -= 1,
            _ if j == 0 => i -= 1,
            Step::Both => {
                i -= 1;
                j -= 1;
            }
            Step::FirstOnly => i -= 1,
            Step::SecondOnly => j -= 1,
        }
    }
    path.reverse();
    path
}

/// Aligns `a` with `b` and returns the path with every step's cost in
/// units of the pair's noise level (the median cost of the diagonal steps,
/// at least [`NOISE_FLOOR`]). Two passes: the first, with a nominal gap
/// cost, measures the noise; the second charges gaps relative to it.
fn align_normalised(a: &[f64], b: &[f64]) -> (Vec<PathStep>, f64) {
    let noise_of = |path: &[PathStep]| {
        let diagonal: Vec<f64> = path
            .iter()
            .filter(|s| s.step == Step::Both)
            .map(|s| s.cost)
            .collect();
        median(&diagonal).max(NOISE_FLOOR)
    };
    let first = align(a, b, GAP_COST * 0.5);
    let noise = noise_of(&first);
    let path = align(a, b, GAP_COST * noise);
    let noise = noise_of(&path);
    (path, noise)
}

/// Disjoint maximal-sum stretches of `x` (strongest first), each as
/// `(start, end inclusive, sum)`, at most `max` of them, sums at least `min`.
fn strongest_stretches(x: &[f64], max: usize, min: f64) -> Vec<(usize, usize, f64)> {
    let mut taken = vec![false; x.len()];
    let mut out = Vec::new();
    while out.len() < max {
        let mut best: Option<(usize, usize, f64)> = None;
        let (mut start, mut sum) = (0, 0.0);
        for (k, &v) in x.iter().enumerate() {
            if taken[k] {
                sum = 0.0;
                start = k + 1;
                continue;
            }
            if sum <= 0.0 {
                sum = 0.0;
                start = k;
            }
            sum += v;
            if best.is_none_or(|b| sum > b.2) {
                best = Some((start, k, sum));
            }
        }
        match best {
            Some(b) if b.2 >= min => {
                taken[b.0..=b.1].iter_mut().for_each(|t| *t = true);
                out.push(b);
            }
            _ => break,
        }
    }
    out
}

/// Compares the profiles of two homologs of `class` (each pter to qter, any
/// length, see [`banding_profile`]) and names the differing bands at `level`.
///
/// Returns the pair's score (the strongest segment's strength, 0 when none;
/// comparable across classes) and the segments, strongest first. Profiles
/// with fewer than two samples cannot be compared: score 0, no segments.
pub fn compare_pair(
    class: ChromosomeClass,
    level: BandLevel,
    a: &[f64],
    b: &[f64],
) -> (f64, Vec<DiffSegment>) {
    compare_pair_expecting(class, level, a, b, None)
}

/// [`compare_pair`] knowing the length (profile samples) the cell leads one
/// to expect for a chromosome of `class`. The homolog nearer that length is
/// taken for the normal one; a segment that is longer on the other homolog
/// (extra material: the foreign tail of a derivative, a duplication) is
/// named by its distance from pter on the normal homolog's scale, since
/// the ideogram alignment of a homolog carrying extra material is warped to
/// make room for it.
pub fn compare_pair_expecting(
    class: ChromosomeClass,
    level: BandLevel,
    a: &[f64],
    b: &[f64],
    expected: Option<f64>,
) -> (f64, Vec<DiffSegment>) {
    if a.len() < 2 || b.len() < 2 {
        return (0.0, Vec::new());
    }
    let n = samples_for(class, level);
    // Both at the class's sampling, keeping their relative length: a
    // condensation difference then costs a few scattered cheap gap steps, a
    // missing or extra stretch a contiguous run of expensive ones.
    let longer = a.len().max(b.len()) as f64;
    let samples = |len: usize| ((n as f64 * len as f64 / longer).round() as usize).clamp(2, n);
    let (na, nb) = (samples(a.len()), samples(b.len()));
    let (pa, pb) = (prepare(a, na), prepare(b, nb));
    let (path, noise) = align_normalised(&pa, &pb);
    let excess: Vec<f64> = path
        .iter()
        .map(|s| {
            let x = s.cost / noise - ALLOWANCE;
            let tip = |k: usize, len: usize| k < TIP_SAMPLES || k + TIP_SAMPLES >= len;
            if tip(s.i, na) || tip(s.j, nb) {
                x.min(0.0)
            } else {
                x
            }
        })
        .collect();
    let stretches = strongest_stretches(&excess, MAX_SEGMENTS, MIN_SEGMENT_STRENGTH);
    if stretches.is_empty() {
        return (0.0, Vec::new());
    }
    let ideo = BandTable::get(level).ideogram(class);
    let reference = ideogram_profile(ideo, n);
    let (to_ideo_a, _) = align_normalised(&pa, &reference);
    let (to_ideo_b, _) = align_normalised(&pb, &reference);
    let segments: Vec<DiffSegment> = stretches
        .into_iter()
        .map(|(k0, k1, strength)| {
            let steps = &path[k0..=k1];
            let span = |first: bool| {
                let pick = |s: &PathStep| if first { s.i } else { s.j };
                let lo = steps.iter().map(pick).min().unwrap_or(0);
                let hi = steps.iter().map(pick).max().unwrap_or(0);
                (lo, hi)
            };
            let (sa, sb) = (span(true), span(false));
            let frac = |(lo, hi): (usize, usize), len: usize| {
                (lo as f64 / len as f64, (hi + 1) as f64 / len as f64)
            };
            // Name on the homolog where the segment is longer (the one that
            // still carries the material); ties go to `a`.
            let on_b = sb.1 - sb.0 > sa.1 - sa.0;
            let (range, to_ideo) = if on_b {
                (sb, &to_ideo_b)
            } else {
                (sa, &to_ideo_a)
            };
            // Extra material on the homolog that strays from the expected
            // length: named on the normal homolog's scale.
            let normal_samples = expected.and_then(|e| {
                let off = |len: usize| (len as f64 - e).abs();
                let b_normal = off(b.len()) < off(a.len());
                (b_normal != on_b).then_some(if b_normal { nb } else { na })
            });
            let (first_band, last_band) = match normal_samples {
                // Distance from pter on the normal homolog's scale.
                Some(normal) => bands_of_samples(ideo, range, normal),
                None => band_names(ideo, to_ideo, range, n),
            };
            let bands = if first_band == last_band {
                format!("{class}{first_band}")
            } else {
                format!("{class}{first_band}\u{2013}{last_band}")
            };
            DiffSegment {
                a: frac(sa, na),
                b: frac(sb, nb),
                first_band,
                last_band,
                bands,
                strength,
            }
        })
        .collect();
    let score = segments.first().map_or(0.0, |s| s.strength);
    (score, segments)
}

/// The first and last band of samples `lo..=hi` when the ideogram is cut
/// into `samples` equal samples from pter (past qter: the last band). Sample
/// centres, so a segment ending exactly on a band boundary does not pick up
/// the next band.
fn bands_of_samples(ideo: &Ideogram, (lo, hi): (usize, usize), samples: usize) -> (String, String) {
    let unit = ideo.length() / samples.max(1) as f64;
    let name = |k: usize| {
        ideo.band_at((k as f64 + 0.5) * unit)
            .map_or_else(String::new, |b| b.name.clone())
    };
    (name(lo), name(hi))
}

/// The first and last band that samples `lo..=hi` of a homolog map to
/// through its alignment `to_ideo` with the ideogram (`n` samples).
fn band_names(
    ideo: &Ideogram,
    to_ideo: &[PathStep],
    (lo, hi): (usize, usize),
    n: usize,
) -> (String, String) {
    let mapped: Vec<usize> = to_ideo
        .iter()
        .filter(|s| (lo..=hi).contains(&s.i))
        .map(|s| s.j)
        .collect();
    let j0 = mapped.iter().copied().min().unwrap_or(lo);
    let j1 = mapped.iter().copied().max().unwrap_or(hi);
    bands_of_samples(ideo, (j0, j1), n)
}

/// Compares the pair (the two lowest slots) of every class with at least two
/// members; sorted by score, highest first (ties by class).
pub fn rank_pairs(members: &[HomologMember<'_>], level: BandLevel) -> Vec<PairDifference> {
    // The cell's length per unit of relative ideogram length, from all its
    // members (robust to a missing or extra chromosome).
    let table = BandTable::get(level);
    let rel = table.relative_lengths();
    let total_rel: f64 = members.iter().map(|m| rel[m.class.index()]).sum();
    let total_len: usize = members.iter().map(|m| m.profile.len()).sum();
    let expected = |class: ChromosomeClass| {
        (members.len() >= MIN_MEMBERS_FOR_SCALE && total_rel > 0.0)
            .then(|| rel[class.index()] * total_len as f64 / total_rel)
    };
    let mut out: Vec<PairDifference> = ChromosomeClass::all()
        .filter_map(|class| {
            let mut of_class: Vec<&HomologMember<'_>> =
                members.iter().filter(|m| m.class == class).collect();
            of_class.sort_by_key(|m| (m.slot, m.id));
            let (a, b) = (of_class.first()?, of_class.get(1)?);
            let (score, segments) =
                compare_pair_expecting(class, level, a.profile, b.profile, expected(class));
            Some(PairDifference {
                class,
                a: a.id,
                b: b.id,
                score,
                segments,
            })
        })
        .collect();
    out.sort_by(|x, y| y.score.total_cmp(&x.score).then(x.class.cmp(&y.class)));
    out
}

#[cfg(test)]
mod tests;
