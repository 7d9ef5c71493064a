//! Random typed karyotypes and mutated strings, from the seeded domain `Rng`,
//! for the `parse(format(k)) == k` property test and the parser fuzz test.
//!
//! `karyotype` draws from every shape the formatter can write; the values are
//! syntactic (not necessarily valid in the validator's sense). It keeps the
//! invariants listed in `ast`: detailed paths alternate positions and
//! connectors and have one connector at least; an unknown breakpoint `?`
//! only opens a short group (after a band it would read as `q31?`).

use super::ast::*;
use crate::domain::chromosome::ChromosomeClass;
use crate::domain::rng::Rng;

fn pick<T: Copy>(rng: &mut Rng, items: &[T]) -> T {
    items[rng.below(items.len())]
}

fn chance(rng: &mut Rng, p: f64) -> bool {
    rng.f64() < p
}

fn class(rng: &mut Rng) -> ChromosomeClass {
    ChromosomeClass::from_index(rng.below(24)).unwrap_or(ChromosomeClass::X)
}

fn chrom(rng: &mut Rng) -> Chrom {
    if chance(rng, 0.05) {
        Chrom::Unknown
    } else {
        Chrom::Class(class(rng))
    }
}

fn band(rng: &mut Rng) -> BandPos {
    match rng.below(12) {
        0 => BandPos::Pter,
        1 => BandPos::Qter,
        2 => BandPos::Cen,
        _ => {
            let arm = if chance(rng, 0.5) { Arm::P } else { Arm::Q };
            let uncertain = chance(rng, 0.1);
            let mut name = if uncertain && chance(rng, 0.3) {
                String::new()
            } else {
                (1 + rng.below(36)).to_string()
            };
            if !name.is_empty() && chance(rng, 0.4) {
                name.push('.');
                name.push_str(&(1 + rng.below(3)).to_string());
                if chance(rng, 0.2) {
                    name.push_str(&(1 + rng.below(3)).to_string());
                }
            }
            BandPos::Band {
                arm,
                name,
                uncertain,
            }
        }
    }
}

fn breakpoint(rng: &mut Rng) -> Breakpoint {
    Breakpoint {
        pos: band(rng),
        upto: chance(rng, 0.1).then(|| {
            if chance(rng, 0.1) {
                BandPos::Unknown
            } else {
                band(rng)
            }
        }),
    }
}

fn breakpoints(rng: &mut Rng, groups: usize) -> Breakpoints {
    if chance(rng, 0.2) {
        let mut out: Vec<Vec<PathToken>> = Vec::new();
        for g in 0..groups {
            let mut path = Vec::new();
            if chance(rng, 0.1) {
                path.push(PathToken::Arrow);
            }
            let steps = 1 + rng.below(4);
            for s in 0..steps {
                // Position, then a connector (the first group always has one).
                let chrom = chance(rng, 0.3).then(|| Chrom::Class(class(rng)));
                path.push(PathToken::Pos {
                    chrom,
                    bp: breakpoint(rng),
                });
                if s + 1 < steps || (g == 0 && s == 0) || chance(rng, 0.2) {
                    path.push(match rng.below(3) {
                        0 => PathToken::Arrow,
                        1 => PathToken::Join,
                        _ => PathToken::Break,
                    });
                }
            }
            out.push(path);
        }
        Breakpoints::Detailed(out)
    } else {
        Breakpoints::Short(
            (0..groups)
                .map(|_| {
                    let n = 1 + rng.below(3);
                    let mut g: Vec<Breakpoint> = (0..n).map(|_| breakpoint(rng)).collect();
                    if chance(rng, 0.05) {
                        g[0] = Breakpoint {
                            pos: BandPos::Unknown,
                            upto: None,
                        };
                    }
                    g
                })
                .collect(),
        )
    }
}

fn rearrangement(rng: &mut Rng) -> Rearrangement {
    let kind = pick(rng, &Kind::ALL);
    let n = match kind {
        Kind::T => 2 + usize::from(chance(rng, 0.2)),
        Kind::Dic | Kind::Rob => 2,
        Kind::Ins => 1 + rng.below(2),
        _ => 1,
    };
    let chroms: Vec<Chrom> = (0..n).map(|_| chrom(rng)).collect();
    Rearrangement {
        kind,
        breakpoints: (!chance(rng, 0.1)).then(|| breakpoints(rng, n)),
        chroms,
    }
}

fn item(rng: &mut Rng) -> Item {
    match rng.below(10) {
        0..=2 => Item::Whole(Chrom::Class(class(rng))),
        3 => Item::Heteromorphism {
            chrom: Chrom::Class(class(rng)),
            arm: if chance(rng, 0.5) { Arm::P } else { Arm::Q },
            region: pick(
                rng,
                &[
                    HetRegion::Heterochromatin,
                    HetRegion::Satellite,
                    HetRegion::Stalk,
                ],
            ),
            sign: if chance(rng, 0.5) {
                Sign::Gain
            } else {
                Sign::Loss
            },
        },
        4 => Item::Marker {
            copies: if chance(rng, 0.7) {
                1
            } else {
                2 + rng.below(5) as u16
            },
            label: chance(rng, 0.3).then(|| 1 + rng.below(9) as u16),
        },
        5 => Item::UnknownRing,
        6..=7 => Item::Rearrangement(rearrangement(rng)),
        _ => {
            let n = 1 + usize::from(chance(rng, 0.3));
            let chroms: Vec<Chrom> = (0..n).map(|_| chrom(rng)).collect();
            let with_bps = n > 1 || chance(rng, 0.3);
            let steps_n = if with_bps {
                rng.below(2)
            } else {
                1 + rng.below(2)
            };
            Item::Derivative {
                breakpoints: with_bps.then(|| breakpoints(rng, n)),
                steps: (0..steps_n).map(|_| rearrangement(rng)).collect(),
                chroms,
            }
        }
    }
}

fn change(rng: &mut Rng) -> Change {
    Change {
        sign: pick(rng, &[Some(Sign::Gain), Some(Sign::Loss), None]),
        uncertain: chance(rng, 0.05),
        item: item(rng),
        origin: chance(rng, 0.15).then(|| {
            pick(
                rng,
                &[
                    Origin::Maternal,
                    Origin::Paternal,
                    Origin::DeNovo,
                    Origin::Inherited,
                    Origin::Constitutional,
                ],
            )
        }),
    }
}

fn cell_line(rng: &mut Rng, separator: Option<Separator>) -> CellLine {
    let min = 20 + rng.below(80) as u16;
    let max = if chance(rng, 0.1) {
        min + 1 + rng.below(5) as u16
    } else {
        min
    };
    let base = match rng.below(10) {
        0 => Base::Sex(Sex::Unknown),
        1 => {
            let n = 1 + rng.below(4) as u16;
            Base::Ref(pick(
                rng,
                &[
                    CloneRef::Idem,
                    CloneRef::Stemline,
                    CloneRef::Sideline(None),
                    CloneRef::Sideline(Some(n)),
                ],
            ))
        }
        _ => {
            let n = 1 + rng.below(4);
            Base::Sex(Sex::Listed(
                (0..n)
                    .map(|_| {
                        if chance(rng, 0.6) {
                            SexChromosome::X
                        } else {
                            SexChromosome::Y
                        }
                    })
                    .collect(),
            ))
        }
    };
    let n_changes = rng.below(5);
    CellLine {
        separator,
        count: Count { min, max },
        ploidy: chance(rng, 0.1).then(|| 1 + rng.below(4) as u8),
        base,
        changes: (0..n_changes).map(|_| change(rng)).collect(),
        cells: chance(rng, 0.6).then(|| CellCount {
            cells: 1 + rng.below(30) as u32,
            composite: chance(rng, 0.1),
        }),
    }
}

/// A random karyotype that the formatter can write and the parser read back.
pub fn karyotype(rng: &mut Rng) -> Karyotype {
    let lines = 1 + usize::from(chance(rng, 0.3)) + usize::from(chance(rng, 0.2));
    let mut cell_lines = Vec::with_capacity(lines);
    for i in 0..lines {
        let sep = (i > 0).then(|| {
            if chance(rng, 0.2) {
                Separator::Chimeric
            } else {
                Separator::Clone
            }
        });
        cell_lines.push(cell_line(rng, sep));
    }
    Karyotype {
        prefix: if lines > 1 {
            pick(rng, &[None, Some(Prefix::Mosaic), Some(Prefix::Chimera)])
        } else {
            None
        },
        cell_lines,
    }
}

/// A random edit of `s`: delete, duplicate, swap or insert ISCN-ish
/// characters (and now and then an arbitrary one), a few times over.
pub fn mutate(rng: &mut Rng, s: &str) -> String {
    const ALPHABET: &[char] = &[
        '0', '1', '2', '9', ',', ';', '(', ')', '[', ']', '/', '~', '?', '+', '-', '>', '<', ':',
        '.', 'p', 'q', 'X', 'Y', 't', 'r', 'i', 'c', 'n', ' ', '→', 'é', '\u{0}',
    ];
    let mut chars: Vec<char> = s.chars().collect();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(chars.len() + 1);
        match rng.below(4) {
            0 if at < chars.len() => {
                chars.remove(at);
            }
            1 if at < chars.len() => {
                let c = chars[at];
                chars.insert(at, c);
            }
            2 if at + 1 < chars.len() => chars.swap(at, at + 1),
            _ => chars.insert(at, pick(rng, ALPHABET)),
        }
    }
    chars.into_iter().collect()
}
