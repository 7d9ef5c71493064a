//! Semantic checks of a parsed karyotype: what ISCN requires beyond syntax.
//!
//! Errors make a karyotype invalid; warnings flag unusual but legal writing.
//! The checks:
//! - clone syntax: `[n]` on every line of a multi-line karyotype, `idem`/`sl`
//!   only after the stemline, `sdl` only after a sideline, `mos`/`chi` with at
//!   least two lines, a normal line listed last, unrelated abnormal lines by
//!   size, largest first (a warning);
//! - the count against the changes, the ploidy taken from `<Nn>` or from
//!   the count by the ISCN ranges (up to 34 haploid, 35-57 diploid, 58-80
//!   triploid, 81-103 tetraploid, then the nearest multiple of 23; this is
//!   `(count + 11) / 23`), sex chromosome losses
//!   already shown in the sex complement (`45,X,-Y`), so not subtracted twice;
//! - sex chromosomes: `X` before `Y`, at least one `X`;
//! - rearrangements: number of chromosomes and breakpoints per type, `t`
//!   chromosomes in order, `rob` between acrocentrics, band names that exist
//!   at 400, 550 or 850 bands (a parent such as `q31` of `q31.1`, or one more
//!   digit below a listed sub-band, also counts; `p10`/`q10`, `pter`, `qter`,
//!   `cen` always), and breakpoints within an arm listed proximal to distal
//!   for `del`, `inv` and `r` (order is meaningful for `dup`, `ins`: inverted).

use std::collections::BTreeSet;
use std::sync::OnceLock;

use serde::Serialize;

use super::ast::*;
use super::parse::{LineSpan, SourceMap, parse_with_map};
use crate::domain::bands::{self, BandLevel, BandTable};
use crate::domain::chromosome::{CLASS_COUNT, ChromosomeClass};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

/// One finding, at a byte offset when the source is known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    pub severity: Severity,
    pub offset: Option<usize>,
    pub message: String,
}

/// The result of reading one karyotype string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// `None` when the string does not parse.
    pub karyotype: Option<Karyotype>,
    /// Syntax error (one) or semantic issues, errors and warnings.
    pub issues: Vec<Issue>,
}

impl Checked {
    pub fn is_valid(&self) -> bool {
        self.karyotype.is_some() && !self.issues.iter().any(|i| i.severity == Severity::Error)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Issue> {
        self.issues.iter().filter(|i| i.severity == Severity::Error)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Issue> {
        self.issues
            .iter()
            .filter(|i| i.severity == Severity::Warning)
    }
}

/// Parses and validates.
pub fn check(input: &str) -> Checked {
    match parse_with_map(input) {
        Ok((k, map)) => {
            let issues = validate(&k, Some(&map));
            Checked {
                karyotype: Some(k),
                issues,
            }
        }
        Err(e) => Checked {
            karyotype: None,
            issues: vec![Issue {
                severity: Severity::Error,
                offset: Some(e.offset),
                message: format!("expected {}, found {}", e.expected, e.found),
            }],
        },
    }
}

/// Semantic issues of `k`; `map` (from `parse_with_map`) adds byte offsets.
pub fn validate(k: &Karyotype, map: Option<&SourceMap>) -> Vec<Issue> {
    let mut v = Validator {
        issues: Vec::new(),
        map,
    };
    v.karyotype(k);
    v.issues
}

struct Validator<'a> {
    issues: Vec<Issue>,
    map: Option<&'a SourceMap>,
}

/// Where in the source: a cell line and a part of it.
#[derive(Clone, Copy)]
enum At {
    Line(usize),
    Base(usize),
    Change(usize, usize),
    Cells(usize),
}

impl Validator<'_> {
    fn span(&self, line: usize) -> Option<&LineSpan> {
        self.map.and_then(|m| m.cell_lines.get(line))
    }

    fn offset(&self, at: At) -> Option<usize> {
        match at {
            At::Line(l) => self.span(l).map(|s| s.start),
            At::Base(l) => self.span(l).map(|s| s.base),
            At::Change(l, c) => self.span(l).and_then(|s| s.changes.get(c).copied()),
            At::Cells(l) => self.span(l).and_then(|s| s.cells),
        }
    }

    fn error(&mut self, at: At, message: impl Into<String>) {
        self.push(Severity::Error, at, message.into());
    }

    fn warn(&mut self, at: At, message: impl Into<String>) {
        self.push(Severity::Warning, at, message.into());
    }

    fn push(&mut self, severity: Severity, at: At, message: String) {
        let offset = self.offset(at);
        self.issues.push(Issue {
            severity,
            offset,
            message,
        });
    }

    fn karyotype(&mut self, k: &Karyotype) {
        let n = k.cell_lines.len();
        if k.prefix.is_some() && n < 2 {
            self.error(At::Line(0), "mos/chi needs at least two cell lines");
        }
        // Resolved (sex complement, net change) per line, for idem/sl/sdl.
        let mut resolved: Vec<Option<(Option<Sex>, i64)>> = Vec::with_capacity(n);
        for (i, line) in k.cell_lines.iter().enumerate() {
            if n > 1 && line.cells.is_none() {
                self.error(
                    At::Cells(i).or_line(self, i),
                    "each cell line of a multi-line karyotype needs its number of cells [n]",
                );
            }
            if let Some(c) = line.cells
                && c.cells == 0
            {
                self.error(At::Cells(i), "a cell line needs at least one cell");
            }
            if !line.count.is_exact() && !line.cells.is_some_and(|c| c.composite) {
                self.warn(
                    At::Line(i),
                    "a count range is normally written with a composite karyotype [cpN]",
                );
            }
            let own_sex = matches!(line.base, Base::Sex(_));
            let own_net = self.changes(i, line, own_sex);
            let inherited = match line.base {
                Base::Sex(ref s) => Some((Some(s.clone()), 0)),
                Base::Ref(r) => {
                    let target = match r {
                        CloneRef::Idem | CloneRef::Stemline => Some(0),
                        CloneRef::Sideline(None) => i.checked_sub(1),
                        CloneRef::Sideline(Some(m)) => Some(usize::from(m)),
                    };
                    let ok = match (r, target) {
                        (_, None) => false,
                        (CloneRef::Idem | CloneRef::Stemline, Some(t)) => t < i,
                        (CloneRef::Sideline(_), Some(t)) => t >= 1 && t < i,
                    };
                    if !ok {
                        let msg = match r {
                            CloneRef::Idem | CloneRef::Stemline => {
                                "idem/sl refers to the stemline and cannot open the karyotype"
                            }
                            CloneRef::Sideline(_) => {
                                "sdl refers to an earlier sideline (a clone after the stemline)"
                            }
                        };
                        self.error(At::Base(i), msg);
                        None
                    } else {
                        target.and_then(|t| resolved.get(t).cloned()).flatten()
                    }
                }
            };
            let line_res = inherited.map(|(s, net)| (s, net + own_net));
            if let Some((sex, net)) = &line_res {
                self.count(i, line, sex.as_ref(), *net);
            }
            resolved.push(line_res);
        }
        // A normal line is listed last (not in chimeras: there the order is
        // recipient then donor, `46,XX[20]//46,XY[3]`).
        let chimeric = k.prefix == Some(Prefix::Chimera)
            || k.cell_lines
                .iter()
                .any(|l| l.separator == Some(Separator::Chimeric));
        if n > 1 && !chimeric {
            for (i, pair) in k.cell_lines.windows(2).enumerate() {
                let (a, b) = (&pair[0], &pair[1]);
                let unrelated = matches!(a.base, Base::Sex(_)) && matches!(b.base, Base::Sex(_));
                if unrelated
                    && !is_normal(b)
                    && let (Some(ca), Some(cb)) = (a.cells, b.cells)
                    && cb.cells > ca.cells
                {
                    self.warn(
                        At::Line(i + 1),
                        "unrelated abnormal cell lines are listed by size, largest first",
                    );
                }
            }
            for (i, line) in k.cell_lines.iter().enumerate().take(n - 1) {
                if is_normal(line) {
                    self.error(
                        At::Line(i),
                        "the normal cell line is listed last in a mosaic or clonal karyotype",
                    );
                }
            }
        }
    }

    fn count(&mut self, i: usize, line: &CellLine, sex: Option<&Sex>, net: i64) {
        let Some(Sex::Listed(list)) = sex else {
            return;
        };
        if let Some(first_y) = list.iter().position(|s| *s == SexChromosome::Y)
            && list[first_y..].contains(&SexChromosome::X)
        {
            self.error(At::Base(i), "write the X chromosomes before the Y");
        }
        if !list.contains(&SexChromosome::X) {
            self.warn(
                At::Base(i),
                "no X chromosome: not viable as a constitutional karyotype",
            );
        }
        if !line.count.is_exact() {
            return;
        }
        let count = i64::from(line.count.min);
        let ploidy = line
            .ploidy
            .map_or_else(|| ((count + 11) / 23).max(1), i64::from);
        if list.len() as i64 > ploidy + 3 {
            self.warn(At::Base(i), "unusually many sex chromosomes");
        }
        let expected = 22 * ploidy + list.len() as i64 + net;
        if expected != count {
            self.error(
                At::Line(i),
                format!(
                    "count {count} does not match the changes: {} autosomes, {} sex chromosomes and a net change of {net:+} give {expected}",
                    22 * ploidy,
                    list.len()
                ),
            );
        }
    }

    /// Checks the changes of one line; returns their net effect on the count.
    /// `own_sex`: the line lists its sex chromosomes, so a lost sex
    /// chromosome is already missing there (`45,X,-Y`); after `idem` it is not.
    fn changes(&mut self, i: usize, line: &CellLine, own_sex: bool) -> i64 {
        let mut net = 0;
        let mut last_key = None;
        for (j, c) in line.changes.iter().enumerate() {
            let at = At::Change(i, j);
            net += self.change(at, c, own_sex);
            let key = order_key(&c.item);
            if let (Some(prev), Some(key)) = (last_key, key)
                && key < prev
            {
                self.warn(
                    at,
                    "changes are listed sex chromosomes first, then autosomes in numerical order",
                );
            }
            if key.is_some() {
                last_key = key;
            }
        }
        net
    }

    fn change(&mut self, at: At, c: &Change, own_sex: bool) -> i64 {
        let sign = match c.sign {
            Some(Sign::Gain) => 1,
            Some(Sign::Loss) => -1,
            None => 0,
        };
        match &c.item {
            Item::Whole(chrom) => {
                if c.sign.is_none() {
                    self.error(at, "a whole chromosome needs '+' (gain) or '-' (loss)");
                }
                let is_sex = matches!(chrom, Chrom::Class(cl) if cl.is_sex());
                if is_sex && own_sex && sign < 0 {
                    0
                } else {
                    sign
                }
            }
            Item::Heteromorphism {
                chrom, arm, region, ..
            } => {
                if c.sign.is_some() {
                    self.error(at, "a heteromorphism takes no '+'/'-' before it");
                }
                if *region != HetRegion::Heterochromatin
                    && !(*arm == Arm::P && matches!(chrom, Chrom::Class(cl) if is_acrocentric(*cl)))
                {
                    self.error(
                        at,
                        "satellites and stalks are on the short arms of 13, 14, 15, 21 and 22",
                    );
                }
                0
            }
            Item::Marker { copies, .. } => {
                if c.sign != Some(Sign::Gain) {
                    self.error(at, "markers are written as gains: +mar, +2mar");
                }
                sign * i64::from(*copies)
            }
            Item::UnknownRing => {
                if c.sign != Some(Sign::Gain) {
                    self.error(at, "a ring of unknown origin is written +r");
                }
                sign
            }
            Item::Rearrangement(r) => {
                self.rearrangement(at, r);
                if sign < 0 {
                    self.warn(at, "loss of a rearranged chromosome");
                }
                let sex = if own_sex { sex_in(&r.chroms) } else { 0 };
                if sign == 0 && matches!(r.kind, Kind::Dic | Kind::Rob) {
                    sex - (r.chroms.len() as i64 - 1).max(0)
                } else if sign == 0 {
                    sex
                } else {
                    sign
                }
            }
            Item::Derivative {
                chroms,
                breakpoints,
                steps,
            } => {
                if breakpoints.is_none() && steps.is_empty() {
                    self.error(
                        at,
                        "der needs breakpoints or the rearrangements it derives from",
                    );
                }
                if let Some(b) = breakpoints {
                    self.breakpoints(at, "der", chroms, b, &[1]);
                }
                for s in steps {
                    self.rearrangement(at, s);
                }
                if let (Some(Chrom::Class(d)), false) = (chroms.first(), chroms.len() > 1) {
                    let mentioned = steps.iter().any(|s| s.chroms.contains(&Chrom::Class(*d)));
                    if !steps.is_empty() && !mentioned {
                        self.error(
                            at,
                            format!("der({d}) derives from rearrangements that do not involve chromosome {d}"),
                        );
                    }
                }
                if sign == 0 {
                    let sex = if own_sex { sex_in(chroms) } else { 0 };
                    sex - (chroms.len() as i64 - 1).max(0)
                } else {
                    sign
                }
            }
        }
    }

    fn rearrangement(&mut self, at: At, r: &Rearrangement) {
        let sym = r.kind.symbol();
        let n = r.chroms.len();
        let chroms_ok = match r.kind {
            Kind::T => n >= 2,
            Kind::Ins => n == 1 || n == 2,
            Kind::Dic | Kind::Rob => n == 2,
            _ => n == 1,
        };
        if !chroms_ok {
            let want = match r.kind {
                Kind::T => "two or more chromosomes",
                Kind::Ins => "one or two chromosomes",
                Kind::Dic | Kind::Rob => "two chromosomes",
                _ => "one chromosome",
            };
            self.error(at, format!("{sym} takes {want}, found {n}"));
            return;
        }
        if r.kind == Kind::T
            && n == 2
            && let (Chrom::Class(a), Chrom::Class(b)) = (r.chroms[0], r.chroms[1])
            && class_key(a) >= class_key(b)
        {
            self.error(
                at,
                format!(
                    "t({a};{b}): list the sex chromosome or the lower-numbered chromosome first"
                ),
            );
        }
        if r.kind == Kind::Rob {
            for c in &r.chroms {
                if let Chrom::Class(cl) = c
                    && !is_acrocentric(*cl)
                {
                    self.error(
                        at,
                        format!("rob joins acrocentric chromosomes (13, 14, 15, 21, 22), not {cl}"),
                    );
                }
            }
        }
        let Some(b) = &r.breakpoints else {
            if r.kind == Kind::R {
                self.warn(at, "ring without breakpoints");
            } else {
                self.error(at, format!("{sym} needs breakpoints"));
            }
            return;
        };
        let sizes: &[usize] = match (r.kind, n) {
            (Kind::Del, _) | (Kind::Dup, _) => &[1, 2],
            (Kind::Inv, _) | (Kind::R, _) | (Kind::Trp, _) => &[2],
            (Kind::Ins, 1) => &[3],
            (Kind::Ins, _) => &[1, 2],
            _ => &[1],
        };
        self.breakpoints(at, sym, &r.chroms, b, sizes);
        if r.kind == Kind::I
            && let Breakpoints::Short(groups) = b
            && !groups
                .iter()
                .flatten()
                .all(|bp| is_arm10(&bp.pos, Arm::P) || is_arm10(&bp.pos, Arm::Q))
        {
            self.warn(
                at,
                "an isochromosome breaks at the centromere: i(N)(p10) or i(N)(q10)",
            );
        }
        if r.kind == Kind::Rob
            && let Breakpoints::Short(groups) = b
            && !groups.iter().flatten().all(|bp| is_arm10(&bp.pos, Arm::Q))
        {
            self.warn(at, "rob breakpoints are normally q10;q10");
        }
        if let (Kind::Del | Kind::Inv | Kind::R, Some(Chrom::Class(c))) = (r.kind, r.chroms.first())
            && let Some(g) = short_view(&r.chroms, b).first()
            && g.len() == 2
        {
            self.order(at, sym, *c, &g[0].pos, &g[1].pos);
        }
    }

    /// Group count and sizes, and band names.
    fn breakpoints(
        &mut self,
        at: At,
        sym: &str,
        chroms: &[Chrom],
        b: &Breakpoints,
        sizes: &[usize],
    ) {
        let groups = match b {
            Breakpoints::Short(g) => g.len(),
            Breakpoints::Detailed(g) => g.len(),
        };
        let ins2 = sym == "ins" && chroms.len() == 2;
        if groups != chroms.len() {
            self.error(
                at,
                format!(
                    "{sym}: {} chromosome(s) but {groups} breakpoint group(s); separate groups with ';'",
                    chroms.len()
                ),
            );
            return;
        }
        let short = short_view(chroms, b);
        for (gi, g) in short.iter().enumerate() {
            let ok = if ins2 {
                g.len() == sizes.get(gi).copied().unwrap_or(1)
            } else {
                sizes.contains(&g.len())
            };
            if !ok {
                let want = if ins2 {
                    "one breakpoint on the recipient and two on the donor".to_string()
                } else {
                    sizes
                        .iter()
                        .map(usize::to_string)
                        .collect::<Vec<_>>()
                        .join(" or ")
                };
                self.error(
                    at,
                    format!(
                        "{sym}: expected {want} breakpoint(s) per chromosome, found {}",
                        g.len()
                    ),
                );
            }
        }
        match b {
            Breakpoints::Short(gs) => {
                for (gi, g) in gs.iter().enumerate() {
                    for bp in g {
                        self.band(at, chroms.get(gi), &bp.pos);
                        if let Some(u) = &bp.upto {
                            self.band(at, chroms.get(gi), u);
                        }
                    }
                }
            }
            Breakpoints::Detailed(gs) => {
                for (gi, g) in gs.iter().enumerate() {
                    for t in g {
                        if let PathToken::Pos { chrom, bp } = t {
                            let c = chrom.as_ref().or(chroms.get(gi));
                            self.band(at, c, &bp.pos);
                            if let Some(u) = &bp.upto {
                                self.band(at, c, u);
                            }
                        }
                    }
                }
            }
        }
    }

    fn band(&mut self, at: At, chrom: Option<&Chrom>, pos: &BandPos) {
        let (
            Some(Chrom::Class(c)),
            BandPos::Band {
                arm,
                name,
                uncertain,
            },
        ) = (chrom, pos)
        else {
            return;
        };
        if !band_exists(*c, *arm, name, *uncertain) {
            self.error(
                at,
                format!("band {c}{arm}{name} does not exist at 400, 550 or 850 bands"),
            );
        }
    }

    fn order(&mut self, at: At, sym: &str, c: ChromosomeClass, a: &BandPos, b: &BandPos) {
        let (
            BandPos::Band {
                arm: arm_a,
                name: na,
                uncertain: false,
            },
            BandPos::Band {
                arm: arm_b,
                name: nb,
                uncertain: false,
            },
        ) = (a, b)
        else {
            return;
        };
        if *arm_a == Arm::Q && *arm_b == Arm::P {
            self.error(
                at,
                format!("{sym}: write the p-arm breakpoint before the q-arm one"),
            );
            return;
        }
        if arm_a != arm_b {
            return;
        }
        let (Some(da), Some(db)) = (distance(c, *arm_a, na), distance(c, *arm_b, nb)) else {
            return;
        };
        let nested = na.starts_with(nb.as_str()) || nb.starts_with(na.as_str());
        if nested {
            self.warn(
                at,
                format!("{sym}: breakpoints {arm_a}{na} and {arm_b}{nb} overlap"),
            );
        } else if da > db {
            self.error(
                at,
                format!(
                    "{sym}: within an arm list the breakpoint nearer the centromere first ({arm_b}{nb} before {arm_a}{na})"
                ),
            );
        }
    }
}

impl At {
    /// Falls back to the line start when the part is absent in the source.
    fn or_line(self, v: &Validator<'_>, line: usize) -> At {
        if v.offset(self).is_some() {
            self
        } else {
            At::Line(line)
        }
    }
}

/// The breakpoints of each group as the short system lists them. A detailed
/// path gives its band positions (not `pter`, `qter`, `cen`) on the group's
/// own chromosome, each once, in path order: `pter->q31::q33->qter` reads
/// as `q31q33`, `2pter->2q21::5q31->5qter` in `t(2;5)` as `q21`.
pub fn short_view(chroms: &[Chrom], b: &Breakpoints) -> Vec<Vec<Breakpoint>> {
    match b {
        Breakpoints::Short(groups) => groups.clone(),
        Breakpoints::Detailed(groups) => groups
            .iter()
            .enumerate()
            .map(|(gi, g)| {
                let own = chroms.get(gi);
                let mut out: Vec<Breakpoint> = Vec::new();
                for t in g {
                    if let PathToken::Pos { chrom, bp } = t
                        && (chrom.is_none() || chrom.as_ref() == own)
                        && !matches!(bp.pos, BandPos::Pter | BandPos::Qter | BandPos::Cen)
                        && !out.contains(bp)
                    {
                        out.push(bp.clone());
                    }
                }
                out
            })
            .collect(),
    }
}

fn is_normal(line: &CellLine) -> bool {
    line.count == Count::exact(46)
        && line.changes.is_empty()
        && matches!(&line.base, Base::Sex(Sex::Listed(l))
            if l.len() == 2 && l[0] == SexChromosome::X)
}

fn is_acrocentric(c: ChromosomeClass) -> bool {
    matches!(c.index() + 1, 13 | 14 | 15 | 21 | 22)
}

fn is_arm10(pos: &BandPos, want: Arm) -> bool {
    matches!(pos, BandPos::Band { arm, name, uncertain: false } if *arm == want && name == "10")
}

/// Sort key: sex chromosomes first, then autosomes by number.
fn order_key(item: &Item) -> Option<usize> {
    let chrom = match item {
        Item::Whole(c) | Item::Heteromorphism { chrom: c, .. } => Some(*c),
        Item::Rearrangement(r) => r.chroms.first().copied(),
        Item::Derivative { chroms, .. } => chroms.first().copied(),
        Item::Marker { .. } | Item::UnknownRing => None,
    };
    match chrom {
        Some(Chrom::Class(c)) => Some(class_key(c)),
        _ => None,
    }
}

/// X, Y, then 1..22.
fn class_key(c: ChromosomeClass) -> usize {
    if c.is_sex() {
        c.index() - 22
    } else {
        c.index() + 2
    }
}

/// Sex chromosomes named by a structural change: ISCN lists only the normal
/// sex chromosomes in the sex field (`46,X,i(X)(q10)`), so each of these
/// counts on top of it.
fn sex_in(chroms: &[Chrom]) -> i64 {
    chroms
        .iter()
        .filter(|c| matches!(c, Chrom::Class(cl) if cl.is_sex()))
        .count() as i64
}

/// Band names per class and arm at all available levels, e.g. `31.1` for 5q.
fn band_names() -> &'static [[BTreeSet<String>; 2]; CLASS_COUNT] {
    static NAMES: OnceLock<[[BTreeSet<String>; 2]; CLASS_COUNT]> = OnceLock::new();
    NAMES.get_or_init(|| {
        let mut out: [[BTreeSet<String>; 2]; CLASS_COUNT] = Default::default();
        for level in BandLevel::all() {
            let table = BandTable::get(level);
            for c in ChromosomeClass::all() {
                for b in &table.ideogram(c).bands {
                    let arm = usize::from(b.arm == bands::Arm::Q);
                    let name = b.name.get(1..).unwrap_or("");
                    out[c.index()][arm].insert(name.to_string());
                }
            }
        }
        out
    })
}

/// ISCN 850-band subdivisions that the NCBI tables leave undivided (checked
/// against the ISCN band list in `../shared/bands`; every other ISCN band
/// name at 300-850 bands is accepted by the tables themselves).
const ISCN_ONLY_BANDS: [(&str, Arm, &str); 6] = [
    ("2", Arm::P, "21.1"),
    ("2", Arm::P, "21.2"),
    ("2", Arm::P, "21.3"),
    ("6", Arm::Q, "21.1"),
    ("6", Arm::Q, "21.2"),
    ("6", Arm::Q, "21.3"),
];

/// Whether `name` (digits after the arm) names a band of `c` at some level.
pub fn band_exists(c: ChromosomeClass, arm: Arm, name: &str, uncertain: bool) -> bool {
    if name == "10"
        || ISCN_ONLY_BANDS
            .iter()
            .any(|&(ch, a, n)| ch == c.label() && a == arm && n == name)
    {
        return true;
    }
    let set = &band_names()[c.index()][usize::from(arm == Arm::Q)];
    if uncertain {
        return set.iter().any(|b| b.starts_with(name));
    }
    if set.contains(name) {
        return true;
    }
    // A parent of listed sub-bands: q31 for q31.1.
    let parent = format!("{name}.");
    if set.iter().any(|b| b.starts_with(&parent)) {
        return true;
    }
    // One more digit below a listed sub-band: q31.11 below q31.1.
    if name.contains('.') && name.len() >= 2 {
        let (head, _) = name.split_at(name.len() - 1);
        return set.contains(head);
    }
    false
}

/// Distance of a band's midpoint from the centromere (850-band units), looking
/// the name up at 850, then 550, then 400 bands, shortening sub-bands.
fn distance(c: ChromosomeClass, arm: Arm, name: &str) -> Option<f64> {
    let arm_char = if arm == Arm::P { 'p' } else { 'q' };
    let mut name = name.to_string();
    loop {
        for level in [BandLevel::B850, BandLevel::B550, BandLevel::B400] {
            let ideo = BandTable::get(level).ideogram(c);
            if let Some((s, e)) = ideo.band_span(&format!("{arm_char}{name}")) {
                let mid = (s + e) / 2.0 / ideo.length().max(1.0);
                let cen = ideo.centromere() / ideo.length().max(1.0);
                return Some((mid - cen).abs());
            }
        }
        if name.pop().is_none() || name.is_empty() {
            return None;
        }
        if name.ends_with('.') {
            name.pop();
        }
    }
}

/// One line of `karyostation iscn validate` output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub input: String,
    pub valid: bool,
    pub errors: Vec<ReportIssue>,
    pub warnings: Vec<ReportIssue>,
    /// The canonical string, when valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canonical: Option<String>,
}

/// An issue as reported: where (byte offset, when known) and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportIssue {
    pub offset: Option<usize>,
    pub message: String,
}

impl Report {
    /// Checks `input` (surrounding whitespace is not part of the karyotype).
    pub fn of(input: &str) -> Self {
        let checked = check(input);
        let out = |it: &mut dyn Iterator<Item = &Issue>| {
            it.map(|i| ReportIssue {
                offset: i.offset,
                message: i.message.clone(),
            })
            .collect()
        };
        let valid = checked.is_valid();
        Self {
            input: input.to_string(),
            valid,
            errors: out(&mut checked.errors()),
            warnings: out(&mut checked.warnings()),
            canonical: checked
                .karyotype
                .as_ref()
                .filter(|_| valid)
                .map(super::format::format),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(label: &str) -> ChromosomeClass {
        ChromosomeClass::parse(label).unwrap_or(ChromosomeClass::X)
    }

    #[test]
    fn band_names_follow_the_tables() {
        let ok = |c: &str, arm, name: &str| band_exists(class(c), arm, name, false);
        assert!(ok("5", Arm::Q, "31"));
        assert!(ok("5", Arm::Q, "31.1"));
        assert!(
            ok("5", Arm::Q, "31.12"),
            "one digit below a listed sub-band"
        );
        assert!(ok("17", Arm::Q, "10") && ok("12", Arm::P, "10"));
        assert!(ok("2", Arm::P, "21.2") && ok("9", Arm::Q, "34.11"));
        assert!(!ok("5", Arm::Q, "36"));
        assert!(!ok("5", Arm::Q, "31.4"));
        assert!(!ok("21", Arm::P, "14"));
        assert!(!ok("5", Arm::Q, "31.123"));
        assert!(band_exists(class("1"), Arm::Q, "2", true));
        assert!(!band_exists(class("1"), Arm::Q, "5", true));
    }

    #[test]
    fn offsets_point_at_the_change() {
        let c = check("46,XX,+8,del(5)(q33q31)");
        let e = c.errors().map(|i| i.offset).collect::<Vec<_>>();
        assert!(e.contains(&Some(9)), "{:?}", c.issues);
        let missing = check("47,XX,+8/46,XX[3]");
        assert!(
            missing
                .errors()
                .any(|i| i.offset == Some(0) && i.message.contains("[n]"))
        );
    }

    #[test]
    fn counts_follow_sex_chromosome_conventions() {
        assert!(check("45,X,-Y").is_valid());
        assert!(check("46,X,i(X)(q10)").is_valid());
        assert!(!check("46,XX,i(X)(q10)").is_valid());
        assert!(check("46,XX,t(8;21)(q22;q22)[8]/45,idem,-X[12]").is_valid());
        assert!(!check("46,XX,t(8;21)(q22;q22)[8]/46,idem,-X[12]").is_valid());
        assert!(check("35,XX,-2,-3,-4,-5,-6,-7,-8,-9,-10,-11,-12").is_valid());
        assert!(check("26,X,+2,+3,+4").is_valid());
        assert!(check("92<4n>,XXYY").is_valid());
        assert!(check("45,?").is_valid(), "unknown sex: count not checked");
    }

    #[test]
    fn warnings_do_not_invalidate() {
        let c = check("46,XX,t(9;22)(q34;q11.2),+8,-8");
        assert!(c.is_valid());
        let out_of_order = check("48,XX,+21,+8");
        assert!(out_of_order.is_valid());
        assert_eq!(out_of_order.warnings().count(), 1);
    }
}
