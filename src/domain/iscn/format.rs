//! Canonical ISCN text for a typed karyotype.
//!
//! Canonical choices: no spaces except the one after `mos`/`chi`; the
//! detailed-system arrow is written `->` (ASCII; the parser also reads `→`).
//! Everything else is written as the type holds it, so `parse(format(k)) == k`.

use std::fmt::{self, Display, Write};

use super::ast::*;

/// The canonical ISCN string.
pub fn format(k: &Karyotype) -> String {
    k.to_string()
}

impl Display for Karyotype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.prefix {
            Some(Prefix::Mosaic) => f.write_str("mos ")?,
            Some(Prefix::Chimera) => f.write_str("chi ")?,
            None => {}
        }
        for (i, line) in self.cell_lines.iter().enumerate() {
            if i > 0 {
                f.write_str(match line.separator {
                    Some(Separator::Chimeric) => "//",
                    _ => "/",
                })?;
            }
            write!(f, "{line}")?;
        }
        Ok(())
    }
}

impl Display for CellLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.count.min)?;
        if self.count.max != self.count.min {
            write!(f, "~{}", self.count.max)?;
        }
        if let Some(n) = self.ploidy {
            write!(f, "<{n}n>")?;
        }
        f.write_char(',')?;
        match &self.base {
            Base::Sex(Sex::Unknown) => f.write_char('?')?,
            Base::Sex(Sex::Listed(list)) => {
                for s in list {
                    f.write_char(match s {
                        SexChromosome::X => 'X',
                        SexChromosome::Y => 'Y',
                    })?;
                }
            }
            Base::Ref(CloneRef::Idem) => f.write_str("idem")?,
            Base::Ref(CloneRef::Stemline) => f.write_str("sl")?,
            Base::Ref(CloneRef::Sideline(None)) => f.write_str("sdl")?,
            Base::Ref(CloneRef::Sideline(Some(n))) => write!(f, "sdl{n}")?,
        }
        for c in &self.changes {
            write!(f, ",{c}")?;
        }
        if let Some(cells) = self.cells {
            let cp = if cells.composite { "cp" } else { "" };
            write!(f, "[{cp}{}]", cells.cells)?;
        }
        Ok(())
    }
}

impl Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.sign {
            Some(Sign::Gain) => f.write_char('+')?,
            Some(Sign::Loss) => f.write_char('-')?,
            None => {}
        }
        if self.uncertain {
            f.write_char('?')?;
        }
        write!(f, "{}", self.item)?;
        f.write_str(match self.origin {
            None => "",
            Some(Origin::Maternal) => "mat",
            Some(Origin::Paternal) => "pat",
            Some(Origin::DeNovo) => "dn",
            Some(Origin::Inherited) => "inh",
            Some(Origin::Constitutional) => "c",
        })
    }
}

impl Display for Chrom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Chrom::Class(c) => f.write_str(c.label()),
            Chrom::Unknown => f.write_char('?'),
        }
    }
}

impl Display for Arm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char(match self {
            Arm::P => 'p',
            Arm::Q => 'q',
        })
    }
}

fn chrom_list(f: &mut fmt::Formatter<'_>, chroms: &[Chrom]) -> fmt::Result {
    f.write_char('(')?;
    for (i, c) in chroms.iter().enumerate() {
        if i > 0 {
            f.write_char(';')?;
        }
        write!(f, "{c}")?;
    }
    f.write_char(')')
}

impl Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Item::Whole(c) => write!(f, "{c}"),
            Item::Heteromorphism {
                chrom,
                arm,
                region,
                sign,
            } => {
                let s = if *sign == Sign::Gain { '+' } else { '-' };
                write!(f, "{chrom}{arm}{}{s}", region.symbol())
            }
            Item::Marker { copies, label } => {
                if *copies > 1 {
                    write!(f, "{copies}")?;
                }
                f.write_str("mar")?;
                if let Some(n) = label {
                    write!(f, "{n}")?;
                }
                Ok(())
            }
            Item::UnknownRing => f.write_char('r'),
            Item::Rearrangement(r) => write!(f, "{r}"),
            Item::Derivative {
                chroms,
                breakpoints,
                steps,
            } => {
                f.write_str("der")?;
                chrom_list(f, chroms)?;
                if let Some(b) = breakpoints {
                    write!(f, "{b}")?;
                }
                for s in steps {
                    write!(f, "{s}")?;
                }
                Ok(())
            }
        }
    }
}

impl Display for Rearrangement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.symbol())?;
        chrom_list(f, &self.chroms)?;
        if let Some(b) = &self.breakpoints {
            write!(f, "{b}")?;
        }
        Ok(())
    }
}

impl Display for Breakpoints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('(')?;
        match self {
            Breakpoints::Short(groups) => {
                for (i, g) in groups.iter().enumerate() {
                    if i > 0 {
                        f.write_char(';')?;
                    }
                    for bp in g {
                        write!(f, "{bp}")?;
                    }
                }
            }
            Breakpoints::Detailed(groups) => {
                for (i, g) in groups.iter().enumerate() {
                    if i > 0 {
                        f.write_char(';')?;
                    }
                    for t in g {
                        match t {
                            PathToken::Pos { chrom, bp } => {
                                if let Some(c) = chrom {
                                    write!(f, "{c}")?;
                                }
                                write!(f, "{bp}")?;
                            }
                            PathToken::Arrow => f.write_str("->")?,
                            PathToken::Join => f.write_str("::")?,
                            PathToken::Break => f.write_char(':')?,
                        }
                    }
                }
            }
        }
        f.write_char(')')
    }
}

impl Display for Breakpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.pos)?;
        if let Some(u) = &self.upto {
            write!(f, "~{u}")?;
        }
        Ok(())
    }
}

impl Display for BandPos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BandPos::Band {
                arm,
                name,
                uncertain,
            } => {
                write!(f, "{arm}{name}")?;
                if *uncertain {
                    f.write_char('?')?;
                }
                Ok(())
            }
            BandPos::Pter => f.write_str("pter"),
            BandPos::Qter => f.write_str("qter"),
            BandPos::Cen => f.write_str("cen"),
            BandPos::Unknown => f.write_char('?'),
        }
    }
}
