//! ISCN karyotypes (ISCN 2024): a typed model (`ast`), a parser with byte
//! offsets in its errors (`parse`), a canonical formatter (`format`), semantic
//! checks (`validate`), a plain-language reading (`explain`) and random
//! karyotypes for property tests and fuzzing (`sample`).
//!
//! `NumericalKaryotype` is the numerical part that an automatic count
//! proposes (`46,XX`, `47,XY,+21`, `45,X`); `to_karyotype` lifts it into the
//! typed model. Invariant: `parse(format(k)) == k` for every `k` the parser
//! or `sample` produce.
//!
//! ```
//! use karyostation::domain::iscn::{check, explain, format, parse};
//!
//! let k = parse("46,XX,del(5)(pter→q31::q33→qter)").unwrap();
//! assert_eq!(format(&k), "46,XX,del(5)(pter->q31::q33->qter)");
//! assert_eq!(parse(&format(&k)), Ok(k));
//!
//! let err = parse("46,XX,del(5)(q31").unwrap_err();
//! assert_eq!((err.offset, err.expected.as_str()), (16, "')'"));
//!
//! let checked = check("48,XY,+21");
//! assert!(!checked.is_valid());
//! assert_eq!(checked.issues[0].offset, Some(0));
//!
//! let k = parse("47,XY,+21").unwrap();
//! assert_eq!(explain(&k), "47 chromosomes, male, an extra chromosome 21 (trisomy 21)");
//! ```

pub mod ast;
pub mod explain;
pub mod format;
pub mod parse;
pub mod sample;
pub mod validate;

pub use ast::Karyotype;
pub use explain::explain;
pub use format::format;
pub use parse::{IscnParseError, SourceMap, parse, parse_with_map};
pub use validate::{Checked, Issue, Severity, check, validate};

use serde::{Deserialize, Serialize};

use crate::domain::chromosome::{CLASS_COUNT, ChromosomeClass};

/// A cell karyotype described by chromosome count, sex chromosomes and
/// whole-chromosome gains and losses of autosomes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumericalKaryotype {
    /// Total number of chromosomes.
    pub count: usize,
    /// Number of X chromosomes.
    pub x: usize,
    /// Number of Y chromosomes.
    pub y: usize,
    /// Autosome copy numbers that differ from two, in chromosome order:
    /// `(class, copies)`.
    pub autosome_changes: Vec<(ChromosomeClass, usize)>,
}

impl NumericalKaryotype {
    /// From per-class counts (index = `ChromosomeClass::index`) and the number
    /// of objects that could not be assigned to any class (counted, not named).
    pub fn from_counts(counts: &[usize; CLASS_COUNT], unassigned: usize) -> Self {
        let autosome_changes = ChromosomeClass::all()
            .filter(|c| !c.is_sex() && counts[c.index()] != 2)
            .map(|c| (c, counts[c.index()]))
            .collect();
        Self {
            count: counts.iter().sum::<usize>() + unassigned,
            x: counts[ChromosomeClass::X.index()],
            y: counts[ChromosomeClass::Y.index()],
            autosome_changes,
        }
    }

    /// The ISCN string, e.g. `47,XY,+21` or `45,X`. Losses and gains are
    /// listed in chromosome order; sex chromosome aneuploidy shows in the sex
    /// chromosome complement (`47,XXY`). A cell with no sex chromosome found
    /// gets `?` in their place.
    pub fn to_iscn(&self) -> String {
        let mut out = self.count.to_string();
        out.push(',');
        if self.x + self.y == 0 {
            out.push('?');
        } else {
            out.push_str(&"X".repeat(self.x));
            out.push_str(&"Y".repeat(self.y));
        }
        for &(class, copies) in &self.autosome_changes {
            let (sign, n) = if copies > 2 {
                ('+', copies - 2)
            } else {
                ('-', 2 - copies)
            };
            for _ in 0..n {
                out.push(',');
                out.push(sign);
                out.push_str(class.label());
            }
        }
        out
    }

    /// The same karyotype in the typed model (no cell count).
    pub fn to_karyotype(&self) -> Karyotype {
        use ast::{Base, CellLine, Change, Chrom, Count, Item, Sex, SexChromosome, Sign};
        let base = if self.x + self.y == 0 {
            Sex::Unknown
        } else {
            let mut list = vec![SexChromosome::X; self.x];
            list.extend(std::iter::repeat_n(SexChromosome::Y, self.y));
            Sex::Listed(list)
        };
        let mut changes = Vec::new();
        for &(class, copies) in &self.autosome_changes {
            let (sign, n) = if copies > 2 {
                (Sign::Gain, copies - 2)
            } else {
                (Sign::Loss, 2 - copies)
            };
            for _ in 0..n {
                changes.push(Change {
                    sign: Some(sign),
                    uncertain: false,
                    item: Item::Whole(Chrom::Class(class)),
                    origin: None,
                });
            }
        }
        Karyotype {
            prefix: None,
            cell_lines: vec![CellLine {
                separator: None,
                count: Count::exact(u16::try_from(self.count).unwrap_or(u16::MAX)),
                ploidy: None,
                base: Base::Sex(base),
                changes,
                cells: None,
            }],
        }
    }

    /// True for 46,XX and 46,XY.
    pub fn is_normal(&self) -> bool {
        self.count == 46 && self.autosome_changes.is_empty() && self.x + self.y == 2 && self.x >= 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(changes: &[(&str, usize)], x: usize, y: usize) -> [usize; CLASS_COUNT] {
        let mut c = [2; CLASS_COUNT];
        c[ChromosomeClass::X.index()] = x;
        c[ChromosomeClass::Y.index()] = y;
        for (name, n) in changes {
            c[ChromosomeClass::parse(name).unwrap().index()] = *n;
        }
        c
    }

    #[test]
    fn formats_common_karyotypes() {
        let k = |ch: &[(&str, usize)], x, y| {
            NumericalKaryotype::from_counts(&counts(ch, x, y), 0).to_iscn()
        };
        assert_eq!(k(&[], 2, 0), "46,XX");
        assert_eq!(k(&[], 1, 1), "46,XY");
        assert_eq!(k(&[("21", 3)], 1, 1), "47,XY,+21");
        assert_eq!(k(&[], 1, 0), "45,X");
        assert_eq!(k(&[], 2, 1), "47,XXY");
        assert_eq!(k(&[("7", 1), ("13", 3)], 2, 0), "46,XX,-7,+13");
        assert_eq!(k(&[("5", 0)], 2, 0), "44,XX,-5,-5");
        assert!(NumericalKaryotype::from_counts(&counts(&[], 1, 1), 0).is_normal());
        assert_eq!(
            NumericalKaryotype::from_counts(&counts(&[], 0, 0), 1).to_iscn(),
            "45,?"
        );
    }

    #[test]
    fn numerical_karyotypes_lift_into_the_typed_model() {
        for (ch, x, y) in [
            (vec![], 2, 0),
            (vec![("21", 3)], 1, 1),
            (vec![], 1, 0),
            (vec![], 2, 1),
            (vec![("7", 1), ("13", 3)], 2, 0),
            (vec![("5", 0)], 2, 0),
        ] {
            let n = NumericalKaryotype::from_counts(&counts(&ch, x, y), 0);
            let k = n.to_karyotype();
            assert_eq!(format(&k), n.to_iscn());
            assert_eq!(parse(&n.to_iscn()), Ok(k));
            assert!(check(&n.to_iscn()).is_valid(), "{}", n.to_iscn());
        }
    }
}
