//! Clonality and the case karyotype: from the karyotypes of the cells of a
//! case (ISCN strings, one per cell), which abnormalities are clonal, which
//! cells belong to which clone, and the proposed case karyotype with the
//! number of cells of each line in brackets (`47,XY,+21[18]/46,XY[2]`).
//!
//! The clinical rules (ISCN 2024, 11.1): a clone is at least two cells with
//! the same gain or the same structural change, or at least three cells with
//! the same loss. An abnormality seen in fewer cells is non-clonal: such
//! cells are listed separately and left out of the bracketed counts.
//!
//! Theory of operation:
//! 1. Each cell string is parsed with the ISCN parser. It must be a single
//!    cell line with its own sex chromosomes and no `[n]`; anything else is
//!    reported as unparsed, with the reason, never dropped silently.
//! 2. The expected sex complement is `XY` when any cell shows a Y, else `XX`.
//! 3. Each cell gets a multiset of abnormality keys: every listed change in
//!    canonical text (a second `+21` in the same cell is a second key), plus
//!    differences between its sex complement and the expected one (`45,X` in
//!    a male case has the key `-Y`, the same key as an explicit `45,X,-Y`;
//!    `47,XXY` has the key `+X`, as `47,XY,+X` does).
//! 4. A key is clonal when enough cells carry it (losses 3, everything else
//!    2). A cell's clonal signature is its clonal keys; cells with the same
//!    non-empty signature form a clone. A clone needs two cells: a cell
//!    alone with its signature joins the most specific clone whose signature
//!    is part of its own (its further changes are then non-clonal in it),
//!    else it is in no clone. Cells with no key at all form the normal line.
//!    Cells with only non-clonal keys are non-clonal cells.
//! 5. Each clone is written from one of its cells (the one with the fewest
//!    non-clonal keys, then the first), with non-clonal changes removed and
//!    the count and sex chromosomes adjusted. Abnormal clones come first,
//!    largest first (ties in text order), the normal line last.
//!
//! Cells counted: every cell whose karyotype parsed; analysed: those of them
//! marked analysed. Composite karyotypes, ploidy-relative cells and related
//! clones written with `idem`/`sl`/`sdl` are beyond this module: clones are
//! written in full, each as its own line.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::chromosome::ChromosomeClass;
use super::iscn::ast::{
    Base, CellCount, CellLine, Change, Chrom, Count, Item, Karyotype, Kind, Separator, Sex,
    SexChromosome, Sign,
};
use super::iscn::{format, parse};

/// One cell given to [`assess_cells`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellInput {
    /// How the cell is named in the output (metaphase id, file name ...).
    pub label: String,
    /// The cell's karyotype, e.g. `47,XY,+21`.
    pub karyotype: String,
    /// Whether the cell was analysed (banding examined), not only counted.
    pub analysed: bool,
}

/// A clone or the normal line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellLineSummary {
    /// The line without its cell count, e.g. `47,XY,+21`.
    pub karyotype: String,
    /// The labels of its cells, in input order.
    pub cells: Vec<String>,
    /// The clonal abnormalities that define it (empty for the normal line).
    pub changes: Vec<String>,
}

/// A cell carrying abnormalities seen in too few cells to be clonal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NonClonalCell {
    pub label: String,
    /// The cell's karyotype as given.
    pub karyotype: String,
    /// The non-clonal abnormalities.
    pub changes: Vec<String>,
    /// The clone the cell is counted in (by its karyotype), when its other
    /// abnormalities are clonal; `None` when it is in no line.
    pub in_clone: Option<String>,
}

/// A cell whose karyotype could not be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnparsedCell {
    pub label: String,
    pub karyotype: String,
    pub reason: String,
}

/// What [`assess`] found.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CaseKaryotype {
    /// Cells whose karyotype parsed.
    pub counted: usize,
    /// Of those, the cells marked analysed.
    pub analysed: usize,
    /// Abnormal clones, largest first.
    pub clones: Vec<CellLineSummary>,
    /// The normal line (46,XX or 46,XY), when any cell is normal.
    pub normal: Option<CellLineSummary>,
    /// Cells with non-clonal abnormalities, in input order.
    pub non_clonal: Vec<NonClonalCell>,
    /// Cells whose karyotype was not used, in input order.
    pub unparsed: Vec<UnparsedCell>,
    /// The proposed case karyotype, e.g. `47,XY,+21[18]/46,XY[2]`; `None`
    /// when no line has a cell.
    pub proposed: Option<String>,
}

impl CaseKaryotype {
    /// The lines of the proposed karyotype in order with their cell counts.
    pub fn lines(&self) -> impl Iterator<Item = &CellLineSummary> {
        self.clones.iter().chain(self.normal.as_ref())
    }
}

/// Assesses `(cell label, karyotype)` pairs, every cell counted as analysed.
pub fn assess<L: AsRef<str>, K: AsRef<str>>(cells: &[(L, K)]) -> CaseKaryotype {
    let inputs: Vec<CellInput> = cells
        .iter()
        .map(|(l, k)| CellInput {
            label: l.as_ref().to_string(),
            karyotype: k.as_ref().to_string(),
            analysed: true,
        })
        .collect();
    assess_cells(&inputs)
}

/// What a key does to the chromosome count, for the clonality thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Gain,
    Loss,
    Structural,
}

/// An abnormality as compared between cells: its canonical text and which
/// occurrence in the cell it is (a second `+21` is `("+21", 1)`).
type Key = (String, u32);

struct ParsedCell<'a> {
    input: &'a CellInput,
    line: CellLine,
    /// One key per listed change, in order.
    change_keys: Vec<Key>,
    /// Keys from the sex complement only (no written change), with their kind.
    sex_keys: Vec<(Key, KeyKind)>,
    kinds: BTreeMap<Key, KeyKind>,
}

impl ParsedCell<'_> {
    fn keys(&self) -> BTreeSet<Key> {
        self.kinds.keys().cloned().collect()
    }
}

/// Assesses the cells of a case.
pub fn assess_cells(cells: &[CellInput]) -> CaseKaryotype {
    let mut out = CaseKaryotype::default();
    let mut lines: Vec<(&CellInput, CellLine)> = Vec::new();
    for cell in cells {
        match single_line(&cell.karyotype) {
            Ok(line) => lines.push((cell, line)),
            Err(reason) => out.unparsed.push(UnparsedCell {
                label: cell.label.clone(),
                karyotype: cell.karyotype.clone(),
                reason,
            }),
        }
    }
    out.counted = lines.len();
    out.analysed = lines.iter().filter(|(c, _)| c.analysed).count();
    let male = lines.iter().any(
        |(_, l)| matches!(&l.base, Base::Sex(Sex::Listed(s)) if s.contains(&SexChromosome::Y)),
    );
    let expected = if male {
        vec![SexChromosome::X, SexChromosome::Y]
    } else {
        vec![SexChromosome::X, SexChromosome::X]
    };
    let parsed: Vec<ParsedCell> = lines
        .into_iter()
        .map(|(input, line)| keyed(input, line, &expected))
        .collect();

    // Cells carrying each key, and which keys are clonal.
    let mut carriers: BTreeMap<Key, (KeyKind, usize)> = BTreeMap::new();
    for cell in &parsed {
        for (key, kind) in &cell.kinds {
            carriers.entry(key.clone()).or_insert((*kind, 0)).1 += 1;
        }
    }
    let clonal: BTreeSet<Key> = carriers
        .into_iter()
        .filter(|(_, (kind, n))| *n >= if *kind == KeyKind::Loss { 3 } else { 2 })
        .map(|(k, _)| k)
        .collect();

    // Group by clonal signature.
    let mut groups: BTreeMap<Vec<Key>, Vec<usize>> = BTreeMap::new();
    let mut normal_cells = Vec::new();
    for (i, cell) in parsed.iter().enumerate() {
        let keys = cell.keys();
        let signature: Vec<Key> = keys.intersection(&clonal).cloned().collect();
        if keys.is_empty() {
            normal_cells.push(i);
        } else if !signature.is_empty() {
            groups.entry(signature).or_default().push(i);
        }
    }

    // A clone is at least two cells: a cell alone with its signature joins
    // the most specific clone whose signature is part of its own; without
    // one it belongs to no clone.
    let singles: Vec<Vec<Key>> = groups
        .iter()
        .filter(|(_, members)| members.len() < 2)
        .map(|(signature, _)| signature.clone())
        .collect();
    for signature in singles {
        let members = groups.remove(&signature).unwrap_or_default();
        let parent = groups
            .iter_mut()
            .filter(|(s, m)| m.len() >= 2 && s.iter().all(|k| signature.contains(k)))
            .max_by_key(|(s, m)| (s.len(), m.len()));
        if let Some((_, parent)) = parent {
            parent.extend(members);
            parent.sort_unstable();
        }
    }

    let mut clone_of_cell: BTreeMap<usize, (String, BTreeSet<Key>)> = BTreeMap::new();
    let mut clones: Vec<(CellLine, CellLineSummary)> = Vec::new();
    for (signature, members) in &groups {
        let signature: BTreeSet<Key> = signature.iter().cloned().collect();
        let Some(&rep) = members
            .iter()
            .min_by_key(|&&i| (parsed[i].keys().difference(&signature).count(), i))
        else {
            continue;
        };
        let line = clone_line(&parsed[rep], &signature, &expected);
        let karyotype = line_text(&line);
        let changes = line.changes.iter().map(ToString::to_string).collect();
        for &i in members {
            clone_of_cell.insert(i, (karyotype.clone(), signature.clone()));
        }
        clones.push((
            line,
            CellLineSummary {
                karyotype,
                cells: members
                    .iter()
                    .map(|&i| parsed[i].input.label.clone())
                    .collect(),
                changes,
            },
        ));
    }
    clones.sort_by(|a, b| {
        b.1.cells
            .len()
            .cmp(&a.1.cells.len())
            .then_with(|| a.1.karyotype.cmp(&b.1.karyotype))
    });

    let normal_line = CellLine {
        separator: None,
        count: Count::exact(46),
        ploidy: None,
        base: Base::Sex(Sex::Listed(expected.clone())),
        changes: Vec::new(),
        cells: None,
    };
    if !normal_cells.is_empty() {
        out.normal = Some(CellLineSummary {
            karyotype: line_text(&normal_line),
            cells: normal_cells
                .iter()
                .map(|&i| parsed[i].input.label.clone())
                .collect(),
            changes: Vec::new(),
        });
    }

    let none = BTreeSet::new();
    for (i, cell) in parsed.iter().enumerate() {
        let in_clone = clone_of_cell.get(&i);
        let signature = in_clone.map_or(&none, |(_, s)| s);
        let extra: BTreeSet<Key> = cell.keys().difference(signature).cloned().collect();
        if extra.is_empty() {
            continue;
        }
        let mut changes: Vec<String> = Vec::new();
        for (change, key) in cell.line.changes.iter().zip(&cell.change_keys) {
            if extra.contains(key) {
                changes.push(change.to_string());
            }
        }
        for (key, _) in &cell.sex_keys {
            if extra.contains(key) {
                changes.push(format!("{} (sex chromosomes)", key.0));
            }
        }
        out.non_clonal.push(NonClonalCell {
            label: cell.input.label.clone(),
            karyotype: cell.input.karyotype.clone(),
            changes,
            in_clone: in_clone.map(|(karyotype, _)| karyotype.clone()),
        });
    }

    // The proposed karyotype.
    let mut cell_lines: Vec<CellLine> = Vec::new();
    for (line, summary) in &clones {
        cell_lines.push(with_cells(line.clone(), summary.cells.len()));
    }
    if let Some(normal) = &out.normal {
        cell_lines.push(with_cells(normal_line, normal.cells.len()));
    }
    if !cell_lines.is_empty() {
        for (i, line) in cell_lines.iter_mut().enumerate() {
            line.separator = (i > 0).then_some(Separator::Clone);
        }
        out.proposed = Some(format(&Karyotype {
            prefix: None,
            cell_lines,
        }));
    }
    out.clones = clones.into_iter().map(|(_, s)| s).collect();
    out
}

fn with_cells(mut line: CellLine, n: usize) -> CellLine {
    line.cells = Some(CellCount {
        cells: u32::try_from(n).unwrap_or(u32::MAX),
        composite: false,
    });
    line
}

fn line_text(line: &CellLine) -> String {
    format(&Karyotype {
        prefix: None,
        cell_lines: vec![CellLine {
            separator: None,
            cells: None,
            ..line.clone()
        }],
    })
}

/// Parses one cell's karyotype: one cell line, its own sex chromosomes, no
/// cell count.
fn single_line(text: &str) -> Result<CellLine, String> {
    let k = parse(text.trim()).map_err(|e| e.to_string())?;
    if k.prefix.is_some() || k.cell_lines.len() != 1 {
        return Err("a cell has one cell line, without mos/chi".into());
    }
    let Some(line) = k.cell_lines.into_iter().next() else {
        return Err("no cell line".into());
    };
    if line.cells.is_some() {
        return Err("a single cell's karyotype has no cell count [n]".into());
    }
    if matches!(line.base, Base::Ref(_)) {
        return Err("idem/sl/sdl refer to another clone; a cell lists its sex chromosomes".into());
    }
    Ok(line)
}

fn kind_of(change: &Change) -> KeyKind {
    match change.sign {
        Some(Sign::Gain) => KeyKind::Gain,
        Some(Sign::Loss) => KeyKind::Loss,
        None => KeyKind::Structural,
    }
}

fn sex_class(s: SexChromosome) -> ChromosomeClass {
    match s {
        SexChromosome::X => ChromosomeClass::X,
        SexChromosome::Y => ChromosomeClass::Y,
    }
}

/// Whether `change` is the loss of the sex chromosome `s` (already missing
/// from a listed complement: `45,X,-Y`).
fn is_sex_loss(change: &Change, s: SexChromosome) -> bool {
    change.sign == Some(Sign::Loss) && change.item == Item::Whole(Chrom::Class(sex_class(s)))
}

fn keyed<'a>(input: &'a CellInput, line: CellLine, expected: &[SexChromosome]) -> ParsedCell<'a> {
    let mut seen: BTreeMap<String, u32> = BTreeMap::new();
    let mut next_key = |text: String| {
        let n = seen.entry(text.clone()).or_insert(0);
        let key = (text, *n);
        *n += 1;
        key
    };
    let mut kinds = BTreeMap::new();
    let mut change_keys = Vec::new();
    for change in &line.changes {
        let key = next_key(change.to_string());
        kinds.insert(key.clone(), kind_of(change));
        change_keys.push(key);
    }
    let mut sex_keys = Vec::new();
    if let Base::Sex(Sex::Listed(list)) = &line.base {
        for s in [SexChromosome::X, SexChromosome::Y] {
            let have = list.iter().filter(|&&c| c == s).count();
            let want = expected.iter().filter(|&&c| c == s).count();
            let written_losses = line.changes.iter().filter(|c| is_sex_loss(c, s)).count();
            let label = sex_class(s).label();
            let (text, kind, n) = if have > want {
                (format!("+{label}"), KeyKind::Gain, have - want)
            } else {
                (
                    format!("-{label}"),
                    KeyKind::Loss,
                    (want - have).saturating_sub(written_losses),
                )
            };
            for _ in 0..n {
                let key = next_key(text.clone());
                kinds.insert(key.clone(), kind);
                sex_keys.push((key, kind));
            }
        }
    }
    ParsedCell {
        input,
        line,
        change_keys,
        sex_keys,
        kinds,
    }
}

/// A change's effect on the count, as the validator reckons it for a line
/// that lists its own sex chromosomes.
fn net(change: &Change) -> i64 {
    match (change.sign, &change.item) {
        (Some(Sign::Loss), Item::Whole(Chrom::Class(c))) if c.is_sex() => 0,
        (Some(Sign::Loss), _) => -1,
        (Some(Sign::Gain), Item::Marker { copies, .. }) => i64::from(*copies),
        (Some(Sign::Gain), _) => 1,
        (None, Item::Rearrangement(r)) if matches!(r.kind, Kind::Dic | Kind::Rob) => {
            -(r.chroms.len() as i64 - 1).max(0)
        }
        (None, _) => 0,
    }
}

/// The line of a clone, written from one of its cells: changes outside the
/// clone's signature removed, sex chromosomes put back where their difference is not clonal,
/// the count adjusted to match.
fn clone_line(
    cell: &ParsedCell,
    signature: &BTreeSet<Key>,
    expected: &[SexChromosome],
) -> CellLine {
    let mut line = cell.line.clone();
    let mut delta: i64 = 0;
    let mut kept = Vec::new();
    for (change, key) in cell.line.changes.iter().zip(&cell.change_keys) {
        if signature.contains(key) {
            kept.push(change.clone());
        } else {
            delta -= net(change);
        }
    }
    line.changes = kept;
    if let Base::Sex(Sex::Listed(list)) = &mut line.base {
        for (key, kind) in &cell.sex_keys {
            if signature.contains(key) {
                continue;
            }
            let s = if key.0.ends_with('Y') {
                SexChromosome::Y
            } else {
                SexChromosome::X
            };
            match kind {
                KeyKind::Gain => {
                    if let Some(pos) = list.iter().rposition(|&c| c == s) {
                        list.remove(pos);
                        delta -= 1;
                    }
                }
                _ => {
                    list.push(s);
                    delta += 1;
                }
            }
        }
        list.sort_by_key(|&c| c == SexChromosome::Y);
        if list.is_empty() {
            list.extend_from_slice(expected);
            delta += expected.len() as i64;
        }
    }
    let adjust =
        |n: u16| u16::try_from((i64::from(n) + delta).clamp(0, i64::from(u16::MAX))).unwrap_or(n);
    line.count = Count {
        min: adjust(line.count.min),
        max: adjust(line.count.max),
    };
    line.cells = None;
    line.separator = None;
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::iscn::check;

    fn cells(spec: &[(&str, usize)]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (karyotype, n) in spec {
            for _ in 0..*n {
                out.push((format!("cell {}", out.len() + 1), karyotype.to_string()));
            }
        }
        out
    }

    fn proposed(spec: &[(&str, usize)]) -> CaseKaryotype {
        let r = assess(&cells(spec));
        if let Some(p) = &r.proposed {
            let checked = check(p);
            assert!(checked.is_valid(), "{p}: {:?}", checked.issues);
            assert!(
                checked.warnings().next().is_none(),
                "{p}: {:?}",
                checked.issues
            );
        }
        r
    }

    #[test]
    fn mosaic_trisomy() {
        let r = proposed(&[("47,XY,+21", 18), ("46,XY", 2)]);
        assert_eq!(r.proposed.as_deref(), Some("47,XY,+21[18]/46,XY[2]"));
        assert_eq!((r.counted, r.analysed), (20, 20));
        assert_eq!(r.clones.len(), 1);
        assert_eq!(r.clones[0].changes, vec!["+21"]);
        assert!(r.non_clonal.is_empty() && r.unparsed.is_empty());
        // Order of the input does not matter; the normal line stays last.
        let r = proposed(&[("46,XY", 15), ("47,XY,+21", 5)]);
        assert_eq!(r.proposed.as_deref(), Some("47,XY,+21[5]/46,XY[15]"));
    }

    #[test]
    fn a_single_abnormal_cell_is_not_a_clone() {
        let r = proposed(&[("46,XX", 19), ("47,XX,+8", 1)]);
        assert_eq!(r.proposed.as_deref(), Some("46,XX[19]"));
        assert_eq!(r.counted, 20);
        assert!(r.clones.is_empty());
        assert_eq!(r.non_clonal.len(), 1);
        assert_eq!(r.non_clonal[0].label, "cell 20");
        assert_eq!(r.non_clonal[0].changes, vec!["+8"]);
        assert_eq!(r.non_clonal[0].in_clone, None);
    }

    #[test]
    fn a_cell_alone_with_its_clonal_changes_is_no_clone_of_one() {
        let r = proposed(&[("47,XY,+21", 3), ("48,XY,+8,+21", 1), ("48,XY,+8,+13", 1)]);
        // +8 is in two cells, but no two cells share +8 alone.
        assert!(
            r.clones.iter().all(|c| c.cells.len() >= 2),
            "{:?}",
            r.clones
        );
        assert_eq!(r.proposed.as_deref(), Some("47,XY,+21[4]"));
        let folded = r.non_clonal.iter().find(|c| c.label == "cell 4").unwrap();
        assert_eq!(folded.in_clone.as_deref(), Some("47,XY,+21"));
        assert_eq!(folded.changes, ["+8"]);
        let alone = r.non_clonal.iter().find(|c| c.label == "cell 5").unwrap();
        assert_eq!(alone.in_clone, None);
        assert_eq!(alone.changes, ["+8", "+13"]);
    }

    #[test]
    fn a_loss_needs_three_cells() {
        let r = proposed(&[("46,XY", 18), ("45,XY,-7", 2)]);
        assert_eq!(r.proposed.as_deref(), Some("46,XY[18]"));
        assert_eq!(r.non_clonal.len(), 2);
        let r = proposed(&[("46,XY", 17), ("45,XY,-7", 3)]);
        assert_eq!(r.proposed.as_deref(), Some("45,XY,-7[3]/46,XY[17]"));
        assert!(r.non_clonal.is_empty());
    }

    #[test]
    fn a_structural_change_in_two_cells_is_a_clone() {
        let r = proposed(&[("46,XX,del(5)(q31q33)", 2), ("46,XX", 18)]);
        assert_eq!(
            r.proposed.as_deref(),
            Some("46,XX,del(5)(q31q33)[2]/46,XX[18]")
        );
        let r = proposed(&[("46,XX,del(5)(q31q33)", 1), ("46,XX", 19)]);
        assert_eq!(r.proposed.as_deref(), Some("46,XX[19]"));
    }

    #[test]
    fn all_normal() {
        let r = proposed(&[("46,XX", 20)]);
        assert_eq!(r.proposed.as_deref(), Some("46,XX[20]"));
        assert_eq!(r.normal.as_ref().map(|n| n.cells.len()), Some(20));
        assert!(r.clones.is_empty());
    }

    #[test]
    fn non_clonal_extras_are_dropped_from_the_clone_line() {
        // Cell 3 has the clonal +8 and a random -19; it counts in the +8 clone.
        let r = proposed(&[("47,XY,+8", 2), ("46,XY,+8,-19", 1), ("46,XY", 10)]);
        assert_eq!(r.proposed.as_deref(), Some("47,XY,+8[3]/46,XY[10]"));
        assert_eq!(r.non_clonal.len(), 1);
        assert_eq!(r.non_clonal[0].changes, vec!["-19"]);
        assert_eq!(r.non_clonal[0].in_clone.as_deref(), Some("47,XY,+8"));
        // Clones of unrelated abnormalities: largest first.
        let r = proposed(&[("47,XY,+8", 2), ("45,XY,-7", 4), ("46,XY", 3)]);
        assert_eq!(
            r.proposed.as_deref(),
            Some("45,XY,-7[4]/47,XY,+8[2]/46,XY[3]")
        );
    }

    #[test]
    fn sex_chromosome_differences() {
        // Loss of Y, written either way, in a male case.
        let r = proposed(&[("45,X", 2), ("45,X,-Y", 1), ("46,XY", 5)]);
        assert_eq!(r.clones.len(), 1, "{r:?}");
        assert_eq!(r.clones[0].cells.len(), 3);
        assert_eq!(r.normal.as_ref().map(|n| n.cells.len()), Some(5));
        // Turner syndrome: every cell 45,X.
        let r = proposed(&[("45,X", 20)]);
        assert_eq!(r.proposed.as_deref(), Some("45,X[20]"));
        let r = proposed(&[("47,XXY", 20)]);
        assert_eq!(r.proposed.as_deref(), Some("47,XXY[20]"));
        // One 45,X cell in a female case is non-clonal.
        let r = proposed(&[("45,X", 1), ("46,XX", 19)]);
        assert_eq!(r.proposed.as_deref(), Some("46,XX[19]"));
        assert_eq!(r.non_clonal[0].changes, vec!["-X (sex chromosomes)"]);
    }

    #[test]
    fn unparsed_cells_are_reported() {
        let r = assess(&[
            ("a", "46,XY"),
            ("b", "46,XY,del(5)(q31"),
            ("c", "46,XY[3]"),
            ("d", "46,XY"),
        ]);
        assert_eq!(r.counted, 2);
        assert_eq!(
            r.unparsed
                .iter()
                .map(|u| u.label.as_str())
                .collect::<Vec<_>>(),
            vec!["b", "c"]
        );
        assert!(r.unparsed[0].reason.contains("expected"));
        assert_eq!(r.proposed.as_deref(), Some("46,XY[2]"));
        let none = assess::<&str, &str>(&[]);
        assert_eq!(none.proposed, None);
        assert_eq!(none.counted, 0);
    }

    #[test]
    fn analysed_is_counted_separately() {
        let r = assess_cells(&[
            CellInput {
                label: "1".into(),
                karyotype: "46,XX".into(),
                analysed: true,
            },
            CellInput {
                label: "2".into(),
                karyotype: "46,XX".into(),
                analysed: false,
            },
        ]);
        assert_eq!((r.counted, r.analysed), (2, 1));
    }
}
