//! ISCN parser: a hand-written recursive descent over the bytes of the input.
//!
//! Never panics: every read goes through `peek`/`eat`, and every failure is an
//! `IscnParseError` with the byte offset, what was expected there and what was
//! found. Offsets of cell lines and changes come back in a `SourceMap` so the
//! validator can point at them without putting positions into the typed
//! karyotype (which would break `parse(format(k)) == k`).

use thiserror::Error;

use super::ast::*;
use crate::domain::chromosome::ChromosomeClass;

/// A syntax error at byte `offset`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("at byte {offset}: expected {expected}, found {found}")]
pub struct IscnParseError {
    pub offset: usize,
    pub expected: String,
    pub found: String,
}

/// Byte offsets of the parts of a parsed karyotype.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceMap {
    pub cell_lines: Vec<LineSpan>,
}

/// Byte offsets within one cell line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineSpan {
    pub start: usize,
    pub base: usize,
    /// Offset of each change, in order.
    pub changes: Vec<usize>,
    pub cells: Option<usize>,
}

/// Parses a karyotype.
///
/// # Errors
/// The first syntax error, with its byte offset.
pub fn parse(input: &str) -> Result<Karyotype, IscnParseError> {
    parse_with_map(input).map(|(k, _)| k)
}

/// Parses a karyotype and returns the byte offsets of its parts.
///
/// # Errors
/// The first syntax error, with its byte offset.
pub fn parse_with_map(input: &str) -> Result<(Karyotype, SourceMap), IscnParseError> {
    let mut p = Parser { s: input, pos: 0 };
    let k = p.karyotype()?;
    Ok(k)
}

/// Accepted limits: numbers above these are syntax errors (they also keep
/// the arithmetic in the validator far from overflow).
const MAX_COUNT: u16 = 999;
const MAX_CELLS: u32 = 1_000_000;

struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

type PResult<T> = Result<T, IscnParseError>;

const KINDS_LONGEST_FIRST: [(&str, Kind); 14] = [
    ("idic", Kind::Idic),
    ("add", Kind::Add),
    ("del", Kind::Del),
    ("dic", Kind::Dic),
    ("dup", Kind::Dup),
    ("fra", Kind::Fra),
    ("hsr", Kind::Hsr),
    ("ins", Kind::Ins),
    ("inv", Kind::Inv),
    ("rob", Kind::Rob),
    ("trp", Kind::Trp),
    ("i", Kind::I),
    ("r", Kind::R),
    ("t", Kind::T),
];

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn peek_is(&self, c: char) -> bool {
        self.peek() == Some(c)
    }

    fn starts(&self, text: &str) -> bool {
        self.rest().starts_with(text)
    }

    fn eat(&mut self, text: &str) -> bool {
        if self.starts(text) {
            self.pos += text.len();
            true
        } else {
            false
        }
    }

    fn err<T>(&self, expected: impl Into<String>) -> PResult<T> {
        Err(self.error(expected))
    }

    fn error(&self, expected: impl Into<String>) -> IscnParseError {
        let found = match self.peek() {
            None => "end of input".to_string(),
            Some(c) => format!("{c:?}"),
        };
        IscnParseError {
            offset: self.pos,
            expected: expected.into(),
            found,
        }
    }

    fn expect(&mut self, text: &str) -> PResult<()> {
        if self.eat(text) {
            Ok(())
        } else {
            self.err(format!("'{text}'"))
        }
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += self.peek().map_or(1, char::len_utf8);
        }
    }

    fn digits(&mut self) -> &'a str {
        let rest = self.rest();
        let n = rest.bytes().take_while(u8::is_ascii_digit).count();
        self.pos += n;
        rest.get(..n).unwrap_or("")
    }

    fn number(&mut self, what: &str, max: u32) -> PResult<u32> {
        let start = self.pos;
        let d = self.digits();
        if d.is_empty() {
            return self.err(what);
        }
        match d.parse::<u32>() {
            Ok(n) if n <= max => Ok(n),
            _ => {
                self.pos = start;
                self.err(format!("{what} (at most {max})"))
            }
        }
    }

    fn karyotype(&mut self) -> PResult<(Karyotype, SourceMap)> {
        self.skip_spaces();
        let prefix = if self.eat("mos") {
            Some(Prefix::Mosaic)
        } else if self.eat("chi") {
            Some(Prefix::Chimera)
        } else {
            None
        };
        if prefix.is_some() {
            let before = self.pos;
            self.skip_spaces();
            if self.pos == before {
                return self.err("a space after the mos/chi prefix");
            }
        }
        let mut lines = Vec::new();
        let mut map = SourceMap::default();
        let mut separator = None;
        loop {
            let (line, span) = self.cell_line(separator)?;
            lines.push(line);
            map.cell_lines.push(span);
            if self.eat("//") {
                separator = Some(Separator::Chimeric);
            } else if self.eat("/") {
                separator = Some(Separator::Clone);
            } else {
                break;
            }
        }
        self.skip_spaces();
        if self.pos < self.s.len() {
            return self.err("',', '/', '[' or end of input");
        }
        Ok((
            Karyotype {
                prefix,
                cell_lines: lines,
            },
            map,
        ))
    }

    fn cell_line(&mut self, separator: Option<Separator>) -> PResult<(CellLine, LineSpan)> {
        let start = self.pos;
        let min = self.number("a chromosome count", u32::from(MAX_COUNT))? as u16;
        let max = if self.eat("~") {
            let at = self.pos;
            let max = self.number("the upper end of the count range", u32::from(MAX_COUNT))? as u16;
            if max <= min {
                self.pos = at;
                return self.err(format!("an upper count above {min}"));
            }
            max
        } else {
            min
        };
        let ploidy = if self.eat("<") {
            let n = self.number("a ploidy level such as 2 in <2n>", 9)? as u8;
            if n == 0 {
                self.pos -= 1;
                return self.err("a ploidy level from 1 to 9");
            }
            self.expect("n>")?;
            Some(n)
        } else {
            None
        };
        self.expect(",")?;
        let base_at = self.pos;
        let base = self.base()?;
        let mut changes = Vec::new();
        let mut change_offsets = Vec::new();
        while self.eat(",") {
            change_offsets.push(self.pos);
            changes.push(self.change()?);
        }
        let cells_at = self.pos;
        let cells = if self.eat("[") {
            let composite = self.eat("cp");
            let cells = self.number("a number of cells", MAX_CELLS)?;
            self.expect("]")?;
            Some(CellCount { cells, composite })
        } else {
            None
        };
        Ok((
            CellLine {
                separator,
                count: Count { min, max },
                ploidy,
                base,
                changes,
                cells,
            },
            LineSpan {
                start,
                base: base_at,
                changes: change_offsets,
                cells: cells.map(|_| cells_at),
            },
        ))
    }

    fn base(&mut self) -> PResult<Base> {
        if self.eat("idem") {
            return Ok(Base::Ref(CloneRef::Idem));
        }
        if self.eat("sdl") {
            let n = if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                Some(self.number("a sideline number", 999)? as u16)
            } else {
                None
            };
            return Ok(Base::Ref(CloneRef::Sideline(n)));
        }
        if self.eat("sl") {
            return Ok(Base::Ref(CloneRef::Stemline));
        }
        if self.eat("?") {
            return Ok(Base::Sex(Sex::Unknown));
        }
        let mut sex = Vec::new();
        loop {
            if self.eat("X") {
                sex.push(SexChromosome::X);
            } else if self.eat("Y") {
                sex.push(SexChromosome::Y);
            } else {
                break;
            }
        }
        if sex.is_empty() {
            return self.err("sex chromosomes (X, Y or ?) or idem/sl/sdl");
        }
        Ok(Base::Sex(Sex::Listed(sex)))
    }

    fn change(&mut self) -> PResult<Change> {
        let sign = if self.eat("+") {
            Some(Sign::Gain)
        } else if self.eat("-") {
            Some(Sign::Loss)
        } else {
            None
        };
        let uncertain = self.eat("?");
        let item = self.item()?;
        let origin = self.origin();
        Ok(Change {
            sign,
            uncertain,
            item,
            origin,
        })
    }

    fn origin(&mut self) -> Option<Origin> {
        for (text, origin) in [
            ("mat", Origin::Maternal),
            ("pat", Origin::Paternal),
            ("dn", Origin::DeNovo),
            ("inh", Origin::Inherited),
            ("c", Origin::Constitutional),
        ] {
            if self.eat(text) {
                return Some(origin);
            }
        }
        None
    }

    fn item(&mut self) -> PResult<Item> {
        if self.eat("der") {
            let chroms = self.chrom_list()?;
            let breakpoints = if self.peek_is('(') {
                Some(self.breakpoints()?)
            } else {
                None
            };
            let mut steps = Vec::new();
            while let Some(kind) = self.peek_kind() {
                steps.push(self.rearrangement(kind)?);
            }
            return Ok(Item::Derivative {
                chroms,
                breakpoints,
                steps,
            });
        }
        if self.starts("mar")
            || self.peek().is_some_and(|c| c.is_ascii_digit()) && {
                let d = self.rest().bytes().take_while(u8::is_ascii_digit).count();
                self.rest().get(d..).is_some_and(|r| r.starts_with("mar"))
            }
        {
            let copies = if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                let at = self.pos;
                let n = self.number("a marker count", 99)? as u16;
                if n < 2 {
                    self.pos = at;
                    return self.err("a marker count of at least 2 (write 'mar' for one)");
                }
                n
            } else {
                1
            };
            self.expect("mar")?;
            let label = if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                Some(self.number("a marker number", 999)? as u16)
            } else {
                None
            };
            return Ok(Item::Marker { copies, label });
        }
        if self.starts("r") && !self.starts("r(") && !self.starts("rob") {
            self.pos += 1;
            return Ok(Item::UnknownRing);
        }
        if let Some(kind) = self.peek_kind() {
            return Ok(Item::Rearrangement(self.rearrangement(kind)?));
        }
        if self
            .peek()
            .is_some_and(|c| c.is_ascii_digit() || c == 'X' || c == 'Y')
        {
            let chrom = self.chrom()?;
            let region = |rest: &str| {
                [
                    ("stk", HetRegion::Stalk),
                    ("s", HetRegion::Satellite),
                    ("h", HetRegion::Heterochromatin),
                ]
                .into_iter()
                .find(|(t, _)| rest.starts_with(t))
            };
            let het = match self.rest().get(..1) {
                Some("p") => self.rest().get(1..).and_then(region).map(|r| (Arm::P, r)),
                Some("q") => self.rest().get(1..).and_then(region).map(|r| (Arm::Q, r)),
                _ => None,
            };
            if let Some((arm, (text, region))) = het {
                self.pos += 1 + text.len();
                let sign = if self.eat("+") {
                    Sign::Gain
                } else if self.eat("-") {
                    Sign::Loss
                } else {
                    return self.err("'+' or '-' after the heteromorphic region (h, s, stk)");
                };
                return Ok(Item::Heteromorphism {
                    chrom,
                    arm,
                    region,
                    sign,
                });
            }
            return Ok(Item::Whole(chrom));
        }
        self.err("a chromosome, a rearrangement (del, t, der, ...) or mar")
    }

    /// The rearrangement type at the cursor, when followed by `(`.
    fn peek_kind(&self) -> Option<Kind> {
        KINDS_LONGEST_FIRST
            .iter()
            .find(|(text, _)| {
                self.rest()
                    .strip_prefix(text)
                    .is_some_and(|r| r.starts_with('('))
            })
            .map(|&(_, kind)| kind)
    }

    fn rearrangement(&mut self, kind: Kind) -> PResult<Rearrangement> {
        self.pos += kind.symbol().len();
        let chroms = self.chrom_list()?;
        let breakpoints = if self.peek_is('(') {
            Some(self.breakpoints()?)
        } else {
            None
        };
        Ok(Rearrangement {
            kind,
            chroms,
            breakpoints,
        })
    }

    fn chrom(&mut self) -> PResult<Chrom> {
        if self.eat("X") {
            return Ok(Chrom::Class(ChromosomeClass::X));
        }
        if self.eat("Y") {
            return Ok(Chrom::Class(ChromosomeClass::Y));
        }
        if self.eat("?") {
            return Ok(Chrom::Unknown);
        }
        let at = self.pos;
        let d = self.digits();
        match d.parse::<u8>().ok().and_then(ChromosomeClass::autosome) {
            Some(c) if !d.starts_with('0') => Ok(Chrom::Class(c)),
            _ => {
                self.pos = at;
                self.err("a chromosome (1-22, X, Y or ?)")
            }
        }
    }

    fn chrom_list(&mut self) -> PResult<Vec<Chrom>> {
        self.expect("(")?;
        let mut out = vec![self.chrom()?];
        while self.eat(";") {
            out.push(self.chrom()?);
        }
        self.expect(")")?;
        Ok(out)
    }

    fn breakpoints(&mut self) -> PResult<Breakpoints> {
        self.expect("(")?;
        let mut groups = vec![self.path()?];
        while self.eat(";") {
            groups.push(self.path()?);
        }
        self.expect(")")?;
        let detailed = groups
            .iter()
            .flatten()
            .any(|t| !matches!(t, PathToken::Pos { chrom: None, bp: _ }));
        if detailed {
            return Ok(Breakpoints::Detailed(groups));
        }
        Ok(Breakpoints::Short(
            groups
                .into_iter()
                .map(|g| {
                    g.into_iter()
                        .filter_map(|t| match t {
                            PathToken::Pos { bp, .. } => Some(bp),
                            _ => None,
                        })
                        .collect()
                })
                .collect(),
        ))
    }

    /// One `;`-separated group: positions and connectors.
    fn path(&mut self) -> PResult<Vec<PathToken>> {
        let mut out = Vec::new();
        loop {
            if self.eat("->") || self.eat("→") {
                out.push(PathToken::Arrow);
            } else if self.eat("::") {
                out.push(PathToken::Join);
            } else if self.eat(":") {
                out.push(PathToken::Break);
            } else if self.peek().is_some_and(|c| {
                c.is_ascii_digit() || matches!(c, 'p' | 'q' | 'c' | '?' | 'X' | 'Y')
            }) {
                let chrom = if self
                    .peek()
                    .is_some_and(|c| c.is_ascii_digit() || c == 'X' || c == 'Y')
                {
                    Some(self.chrom()?)
                } else {
                    None
                };
                let bp = self.breakpoint()?;
                out.push(PathToken::Pos { chrom, bp });
            } else {
                break;
            }
        }
        if out.is_empty() {
            return self.err("a breakpoint such as q31, p10, pter or ?");
        }
        Ok(out)
    }

    fn breakpoint(&mut self) -> PResult<Breakpoint> {
        let pos = self.band_pos()?;
        let upto = if self.eat("~") {
            Some(self.band_pos()?)
        } else {
            None
        };
        Ok(Breakpoint { pos, upto })
    }

    fn band_pos(&mut self) -> PResult<BandPos> {
        if self.eat("pter") {
            return Ok(BandPos::Pter);
        }
        if self.eat("qter") {
            return Ok(BandPos::Qter);
        }
        if self.eat("cen") {
            return Ok(BandPos::Cen);
        }
        if self.eat("?") {
            return Ok(BandPos::Unknown);
        }
        let arm = if self.eat("p") {
            Arm::P
        } else if self.eat("q") {
            Arm::Q
        } else {
            return self.err("a band such as q31.1, pter, qter, cen or ?");
        };
        let start = self.pos;
        let whole = self.digits();
        let mut name = whole.to_string();
        if !whole.is_empty() && self.starts(".") {
            self.pos += 1;
            let frac = self.digits();
            if frac.is_empty() {
                return self.err("sub-band digits after '.'");
            }
            name.push('.');
            name.push_str(frac);
        }
        let uncertain = self.eat("?");
        if name.is_empty() && !uncertain {
            self.pos = start;
            return self.err("band digits after the arm");
        }
        Ok(BandPos::Band {
            arm,
            name,
            uncertain,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(s: &str) -> (usize, String, String) {
        match parse(s) {
            Ok(k) => panic!("{s:?} parsed as {k:?}"),
            Err(e) => (e.offset, e.expected, e.found),
        }
    }

    #[test]
    fn errors_say_where_and_what() {
        assert_eq!(err("").0, 0);
        assert_eq!(err("").2, "end of input");
        assert_eq!(err("46").1, "','");
        let (at, expected, found) = err("46,XX,del(5)(q31q33");
        assert_eq!(
            (at, expected.as_str(), found.as_str()),
            (19, "')'", "end of input")
        );
        let (at, _, found) = err("46,XX,t(9;22)(q34;q11.2)x");
        assert_eq!((at, found.as_str()), (24, "'x'"));
        assert_eq!(err("46,XX,+23").0, 7);
        assert_eq!(err("46,XX,del(5)(q31.)").0, 17);
        assert_eq!(err("48~46,XX").0, 3);
        assert_eq!(err("mos45,X[5]/46,XX[5]").0, 3);
        // Multi-byte input: offsets are bytes.
        assert_eq!(err("46,XX,del(5)(pter→q31::q33→qter)é").0, 36);
    }

    #[test]
    fn both_arrows_and_all_connectors_parse() {
        let a = parse("46,XX,del(5)(pter->q31::q33->qter)");
        let b = parse("46,XX,del(5)(pter→q31::q33→qter)");
        assert!(a.is_ok());
        assert_eq!(a, b);
        assert!(parse("46,XX,del(1)(pter->q21:)").is_ok());
    }

    #[test]
    fn source_map_points_at_changes_and_cells() {
        let (_, map) = parse_with_map("46,XX,t(9;22)(q34;q11.2)[3]/47,idem,+8[17]")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(map.cell_lines.len(), 2);
        assert_eq!(map.cell_lines[0].changes, vec![6]);
        assert_eq!(map.cell_lines[0].cells, Some(24));
        assert_eq!(map.cell_lines[1].start, 28);
        assert_eq!(map.cell_lines[1].base, 31);
        assert_eq!(map.cell_lines[1].changes, vec![36]);
    }
}
