//! Chromosome bodies as band segment lists, pter to qter.
//!
//! A normal chromosome is its ideogram; a deletion or a derivative of a
//! reciprocal translocation is an edited list of band pieces, so the renderer
//! never needs to know which abnormality produced a body. Lengths are ISCN
//! units of one band level (never mixed between levels).
//!
//! Breakpoint conventions (documented because ISCN names a band, not a point):
//! - interstitial deletion `del(c)(b1b2)` removes `[start of b1, end of b2]`;
//! - a translocation breaks at the *middle* of the named band.

use crate::domain::bands::{Ideogram, Stain};
use crate::domain::chromosome::ChromosomeClass;

/// A piece of one band: its length in ISCN units and its stain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Segment {
    pub length: f64,
    pub stain: Stain,
}

/// The band layout of one (possibly rearranged) chromosome.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Body {
    /// Class of the centromere-bearing part.
    pub class: ChromosomeClass,
    /// Pieces pter to qter.
    pub segments: Vec<Segment>,
    /// Centromere position, ISCN units from pter.
    pub centromere: f64,
    /// ISCN name of the rearrangement, `None` for a normal homolog.
    pub derivative: Option<String>,
}

impl Body {
    /// The unchanged chromosome.
    pub fn normal(ideo: &Ideogram) -> Self {
        Self {
            class: ideo.class,
            segments: slice(ideo, 0.0, ideo.length()),
            centromere: ideo.centromere(),
            derivative: None,
        }
    }

    /// Total length in ISCN units.
    pub fn length(&self) -> f64 {
        self.segments.iter().map(|s| s.length).sum()
    }

    /// The stain at `pos` ISCN units from pter (clamped).
    pub fn stain_at(&self, pos: f64) -> Stain {
        let mut acc = 0.0;
        for seg in &self.segments {
            acc += seg.length;
            if pos < acc {
                return seg.stain;
            }
        }
        self.segments.last().map_or(Stain::Gneg, |s| s.stain)
    }
}

/// The band pieces of `ideo` inside `[from, to]`, pter to qter.
fn slice(ideo: &Ideogram, from: f64, to: f64) -> Vec<Segment> {
    ideo.bands
        .iter()
        .filter_map(|b| {
            let length = b.stop.min(to) - b.start.max(from);
            (length > 1e-9).then_some(Segment {
                length,
                stain: b.stain,
            })
        })
        .collect()
}

fn reversed(mut segments: Vec<Segment>) -> Vec<Segment> {
    segments.reverse();
    segments
}

fn total(segments: &[Segment]) -> f64 {
    segments.iter().map(|s| s.length).sum()
}

/// `del(c)(from to)`: removes `[start of from_band, end of to_band]`.
///
/// # Errors
/// A reason when a band is unknown, the span is empty or spans the centromere.
pub(crate) fn deletion(
    ideo: &Ideogram,
    from_band: &str,
    to_band: &str,
    name: String,
) -> Result<Body, String> {
    let class = ideo.class;
    let (start, _) = ideo
        .band_span(from_band)
        .ok_or_else(|| format!("chromosome {class} has no band {from_band}"))?;
    let (_, stop) = ideo
        .band_span(to_band)
        .ok_or_else(|| format!("chromosome {class} has no band {to_band}"))?;
    let cen = ideo.centromere();
    if stop <= start {
        return Err(format!("{name}: {to_band} does not follow {from_band}"));
    }
    if start < cen - 1e-9 && stop > cen + 1e-9 {
        return Err(format!("{name}: the deleted span contains the centromere"));
    }
    let mut segments = slice(ideo, 0.0, start);
    segments.extend(slice(ideo, stop, ideo.length()));
    let centromere = if stop <= cen + 1e-9 {
        cen - (stop - start)
    } else {
        cen
    };
    Ok(Body {
        class,
        segments,
        centromere,
        derivative: Some(name),
    })
}

/// The breakpoint (middle of the band) and whether it lies on the q arm.
fn breakpoint(ideo: &Ideogram, band: &str) -> Result<(f64, bool), String> {
    let (s, e) = ideo
        .band_span(band)
        .ok_or_else(|| format!("chromosome {} has no band {band}", ideo.class))?;
    let bp = 0.5 * (s + e);
    Ok((bp, bp >= ideo.centromere()))
}

/// The derivative of `own` in a reciprocal translocation with `other`: the
/// centromere-bearing part of `own` joined to the distal part of `other`.
fn derivative(
    own: &Ideogram,
    own_bp: (f64, bool),
    other: &Ideogram,
    other_bp: (f64, bool),
) -> Body {
    let (bp, own_q) = own_bp;
    let (obp, other_q) = other_bp;
    let distal_other = if other_q {
        slice(other, obp, other.length())
    } else {
        slice(other, 0.0, obp)
    };
    if own_q {
        // own pter -> bp :: other's distal part, the breakpoint end first.
        let mut segments = slice(own, 0.0, bp);
        segments.extend(if other_q {
            distal_other
        } else {
            reversed(distal_other)
        });
        Body {
            class: own.class,
            segments,
            centromere: own.centromere(),
            derivative: None,
        }
    } else {
        // other's distal part, ending at its breakpoint :: own bp -> qter.
        let mut segments = if other_q {
            reversed(distal_other)
        } else {
            distal_other
        };
        let prefix = total(&segments);
        segments.extend(slice(own, bp, own.length()));
        Body {
            class: own.class,
            segments,
            centromere: prefix + own.centromere() - bp,
            derivative: None,
        }
    }
}

/// The two derivatives of `t(a;b)(a_band;b_band)`, named `der(a)<name>` and
/// `der(b)<name>`.
///
/// # Errors
/// A reason when a band is unknown.
pub(crate) fn translocation(
    a: &Ideogram,
    a_band: &str,
    b: &Ideogram,
    b_band: &str,
    name: &str,
) -> Result<(Body, Body), String> {
    let bp_a = breakpoint(a, a_band)?;
    let bp_b = breakpoint(b, b_band)?;
    let mut der_a = derivative(a, bp_a, b, bp_b);
    let mut der_b = derivative(b, bp_b, a, bp_a);
    der_a.derivative = Some(format!("der({}){name}", a.class));
    der_b.derivative = Some(format!("der({}){name}", b.class));
    Ok((der_a, der_b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::bands::{BandLevel, BandTable};

    fn ideo(n: u8) -> &'static Ideogram {
        BandTable::get(BandLevel::B400).ideogram(ChromosomeClass::autosome(n).unwrap())
    }

    #[test]
    fn deletion_removes_the_span_and_keeps_the_centromere() {
        let five = ideo(5);
        let d = deletion(five, "q31", "q33", "del(5)(q31q33)".into()).unwrap();
        let (s, _) = five.band_span("q31").unwrap();
        let (_, e) = five.band_span("q33").unwrap();
        assert!((d.length() - (five.length() - (e - s))).abs() < 1e-6);
        assert_eq!(d.centromere, five.centromere());
        assert!(deletion(five, "q33", "q31", "x".into()).is_err());
        assert!(deletion(five, "p13", "q12", "x".into()).is_err());
        assert!(deletion(five, "q99", "q33", "x".into()).is_err());
    }

    #[test]
    fn translocation_swaps_distal_parts() {
        let (nine, t22) = (ideo(9), ideo(22));
        let (d9, d22) = translocation(nine, "q34", t22, "q11.2", "t(9;22)(q34;q11.2)").unwrap();
        assert!((d9.length() + d22.length() - nine.length() - t22.length()).abs() < 1e-6);
        assert_eq!(d9.class, nine.class);
        assert_eq!(d9.derivative.as_deref(), Some("der(9)t(9;22)(q34;q11.2)"));
        assert!(
            d22.length() < t22.length(),
            "the Philadelphia chromosome is short"
        );
        // p-arm breakpoints keep the centromere of the own chromosome.
        let (a, _) = translocation(ideo(1), "p32", ideo(3), "q21", "t").unwrap();
        let one = ideo(1);
        assert!(a.centromere > 0.0 && a.centromere < a.length());
        assert_eq!(
            a.stain_at(a.centromere + 1.0),
            one.band_at(one.centromere() + 1.0).unwrap().stain
        );
    }
}
