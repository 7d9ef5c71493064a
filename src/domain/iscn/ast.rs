//! The typed ISCN karyotype: what the parser produces, the formatter writes
//! and the validator checks. No strings in between: band names are kept as
//! the digits written (`31.1`) because ISCN band names are names, not numbers.
//!
//! Invariants the formatter relies on (the parser only ever builds values
//! that keep them, and `parse(format(k)) == k` holds for such values):
//! - a `Breakpoints::Detailed` list has at least one connector (`->`, `::`,
//!   `:`) or one chromosome-prefixed position somewhere; otherwise it is
//!   written, and read back, as `Breakpoints::Short`;
//! - band names are ASCII digits with at most one `.` inside (`31`, `31.1`).

use crate::domain::chromosome::ChromosomeClass;

/// A whole karyotype: one or more cell lines (clones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Karyotype {
    /// `mos` or `chi` written before the first cell line.
    pub prefix: Option<Prefix>,
    pub cell_lines: Vec<CellLine>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefix {
    /// `mos`: mosaic (one zygote).
    Mosaic,
    /// `chi`: chimera (more than one zygote).
    Chimera,
}

/// How a cell line is separated from the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Separator {
    /// `/`: another clone (or mosaic/chimeric line).
    Clone,
    /// `//`: donor/recipient cell lines after a transplant.
    Chimeric,
}

/// One cell line: `47,XX,+21[20]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellLine {
    /// `None` for the first cell line, the separator before it otherwise.
    pub separator: Option<Separator>,
    pub count: Count,
    /// `<2n>`, `<3n>`: the ploidy level the changes are expressed against.
    pub ploidy: Option<u8>,
    pub base: Base,
    pub changes: Vec<Change>,
    /// `[20]` or `[cp10]`.
    pub cells: Option<CellCount>,
}

/// Chromosome count: `46` or a range `45~48`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    pub min: u16,
    pub max: u16,
}

impl Count {
    pub fn exact(n: u16) -> Self {
        Self { min: n, max: n }
    }

    pub fn is_exact(self) -> bool {
        self.min == self.max
    }
}

/// What follows the count: the sex chromosomes, or a reference to another
/// clone whose changes this one repeats (`idem`, `sl`, `sdl`, `sdl2`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    Sex(Sex),
    Ref(CloneRef),
}

/// The sex chromosome complement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sex {
    /// `XX`, `XY`, `X`, `XXY` ... in the order written (`X` before `Y` is
    /// checked by the validator, not forced by the type).
    Listed(Vec<SexChromosome>),
    /// `?`: not determined.
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SexChromosome {
    X,
    Y,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloneRef {
    /// `idem`: the changes of the stemline (the first clone).
    Idem,
    /// `sl`: the stemline.
    Stemline,
    /// `sdl` (`None`) or `sdl1`, `sdl2`: a sideline.
    Sideline(Option<u16>),
}

/// `[20]` or `[cp10]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellCount {
    pub cells: u32,
    pub composite: bool,
}

/// One listed change: `+21`, `-7`, `del(5)(q31q33)`, `+der(22)t(9;22)(q34;q11.2)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub sign: Option<Sign>,
    /// `?` written before the item: its identity is uncertain.
    pub uncertain: bool,
    pub item: Item,
    pub origin: Option<Origin>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sign {
    Gain,
    Loss,
}

/// Parental origin or constitutional status written after a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Maternal,
    Paternal,
    DeNovo,
    Inherited,
    /// `c`: a constitutional anomaly in an acquired (tumour) karyotype.
    Constitutional,
}

/// A chromosome named in a change: a class or `?`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chrom {
    Class(ChromosomeClass),
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arm {
    P,
    Q,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A whole chromosome: `+21`, `-7`, `+X`.
    Whole(Chrom),
    /// A heteromorphism: `9qh+`, `1qh-`, `15ps+`, `21pstk+`.
    Heteromorphism {
        chrom: Chrom,
        arm: Arm,
        region: HetRegion,
        sign: Sign,
    },
    /// Marker chromosomes: `mar`, `2mar`, `mar1`.
    Marker { copies: u16, label: Option<u16> },
    /// A ring of unknown origin: `r`.
    UnknownRing,
    /// A rearrangement: `del(5)(q31q33)`, `t(9;22)(q34;q11.2)`.
    Rearrangement(Rearrangement),
    /// A derivative: `der(22)t(9;22)(q34;q11.2)`, `der(13;14)(q10;q10)`.
    Derivative {
        chroms: Vec<Chrom>,
        breakpoints: Option<Breakpoints>,
        steps: Vec<Rearrangement>,
    },
}

/// The variable region of a heteromorphism.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HetRegion {
    /// `h`: heterochromatin.
    Heterochromatin,
    /// `s`: satellite.
    Satellite,
    /// `stk`: stalk.
    Stalk,
}

impl HetRegion {
    pub fn symbol(self) -> &'static str {
        match self {
            HetRegion::Heterochromatin => "h",
            HetRegion::Satellite => "s",
            HetRegion::Stalk => "stk",
        }
    }
}

/// Rearrangement types other than `der`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Add,
    Del,
    Dic,
    Dup,
    Fra,
    Hsr,
    I,
    Idic,
    Ins,
    Inv,
    R,
    Rob,
    T,
    Trp,
}

impl Kind {
    pub const ALL: [Kind; 14] = [
        Kind::Add,
        Kind::Del,
        Kind::Dic,
        Kind::Dup,
        Kind::Fra,
        Kind::Hsr,
        Kind::I,
        Kind::Idic,
        Kind::Ins,
        Kind::Inv,
        Kind::R,
        Kind::Rob,
        Kind::T,
        Kind::Trp,
    ];

    pub fn symbol(self) -> &'static str {
        match self {
            Kind::Add => "add",
            Kind::Del => "del",
            Kind::Dic => "dic",
            Kind::Dup => "dup",
            Kind::Fra => "fra",
            Kind::Hsr => "hsr",
            Kind::I => "i",
            Kind::Idic => "idic",
            Kind::Ins => "ins",
            Kind::Inv => "inv",
            Kind::R => "r",
            Kind::Rob => "rob",
            Kind::T => "t",
            Kind::Trp => "trp",
        }
    }
}

/// `del(5)(q31q33)`: a type, the chromosomes and (optionally) breakpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rearrangement {
    pub kind: Kind,
    pub chroms: Vec<Chrom>,
    pub breakpoints: Option<Breakpoints>,
}

/// Breakpoints, one group per chromosome (groups are separated by `;`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Breakpoints {
    /// Short system: `(q31q33)`, `(q34;q11.2)`.
    Short(Vec<Vec<Breakpoint>>),
    /// Detailed system: `(pter->q31::q33->qter)`.
    Detailed(Vec<Vec<PathToken>>),
}

/// A breakpoint: a position, or an interval `q13~q15` when it is uncertain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breakpoint {
    pub pos: BandPos,
    pub upto: Option<BandPos>,
}

/// A position on a chromosome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BandPos {
    Band {
        arm: Arm,
        /// The digits after the arm: `31`, `31.1`, `10`; may be empty when
        /// `uncertain` (`p?`).
        name: String,
        /// A trailing `?`: `q2?`.
        uncertain: bool,
    },
    Pter,
    Qter,
    Cen,
    /// `?`: unknown breakpoint.
    Unknown,
}

/// One token of a detailed-system path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathToken {
    /// A position, optionally prefixed by its chromosome (`2q21`).
    Pos {
        chrom: Option<Chrom>,
        bp: Breakpoint,
    },
    /// `->` or `→`.
    Arrow,
    /// `::` break and reunion.
    Join,
    /// `:` break.
    Break,
}
