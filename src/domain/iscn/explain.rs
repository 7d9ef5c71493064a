//! A plain-language reading of a karyotype, for review screens and the CLI:
//! `47,XY,+21` -> "47 chromosomes, male, an extra chromosome 21 (trisomy 21)".

use super::ast::*;

/// Reads `k` aloud; the canonical string is not included.
pub fn explain(k: &Karyotype) -> String {
    let mut parts = Vec::new();
    match k.prefix {
        Some(Prefix::Mosaic) => parts.push("mosaic of".to_string()),
        Some(Prefix::Chimera) => parts.push("chimera of".to_string()),
        None if k.cell_lines.len() > 1 => parts.push(format!("{} cell lines", k.cell_lines.len())),
        None => {}
    }
    let lines: Vec<String> = k.cell_lines.iter().map(explain_line).collect();
    if parts.is_empty() {
        lines.join("")
    } else {
        format!("{}: {}", parts.join(" "), lines.join("; "))
    }
}

fn chromosomes(count: Count) -> String {
    if count.is_exact() {
        format!("{} chromosomes", count.min)
    } else {
        format!("{} to {} chromosomes", count.min, count.max)
    }
}

fn explain_line(line: &CellLine) -> String {
    let mut out = vec![chromosomes(line.count)];
    if let Some(p) = line.ploidy {
        out.push(format!("described against a {p}n (ploidy {p}) baseline"));
    }
    out.push(match &line.base {
        Base::Sex(Sex::Unknown) => "sex chromosomes not determined".to_string(),
        Base::Sex(Sex::Listed(list)) => {
            let x = list.iter().filter(|s| **s == SexChromosome::X).count();
            let abnormal_sex = line.changes.iter().any(|c| {
                c.sign.is_none()
                    && match &c.item {
                        Item::Rearrangement(r) => r.chroms.iter().any(is_sex),
                        Item::Derivative { chroms, .. } => chroms.iter().any(is_sex),
                        _ => false,
                    }
            });
            let y = list.len() - x;
            match (x, y) {
                (2, 0) => "female".to_string(),
                (1, 1) => "male".to_string(),
                (1, 0) if abnormal_sex => "one normal X chromosome".to_string(),
                (0, 1) if abnormal_sex => "one normal Y chromosome".to_string(),
                (1, 0) => "a single X chromosome".to_string(),
                _ => format!("sex chromosomes {}", "X".repeat(x) + &"Y".repeat(y)),
            }
        }
        Base::Ref(CloneRef::Idem | CloneRef::Stemline) => "the changes of the stemline".to_string(),
        Base::Ref(CloneRef::Sideline(None)) => "the changes of the previous sideline".to_string(),
        Base::Ref(CloneRef::Sideline(Some(n))) => format!("the changes of sideline {n}"),
    });
    let diploid = line.ploidy.is_none_or(|p| p == 2) && line.count.max <= 57;
    let mut j = 0;
    while j < line.changes.len() {
        let c = &line.changes[j];
        let repeats = line.changes[j..].iter().take_while(|o| *o == c).count();
        out.push(explain_change(c, repeats, diploid));
        j += repeats;
    }
    let mut text = out.join(", ");
    if let Some(cells) = line.cells {
        let cp = if cells.composite { "composite of " } else { "" };
        let s = if cells.cells == 1 { "" } else { "s" };
        text.push_str(&format!(" [{cp}{} cell{s}]", cells.cells));
    }
    text
}

fn is_sex(c: &Chrom) -> bool {
    matches!(c, Chrom::Class(cl) if cl.is_sex())
}

/// `repeats`: how many times the same change is listed in a row.
fn explain_change(c: &Change, repeats: usize, diploid: bool) -> String {
    let times = |t: String| {
        if repeats > 1 {
            format!("{t} ({repeats} copies)")
        } else {
            t
        }
    };
    let mut text = match (&c.item, c.sign) {
        (Item::Whole(ch), Some(sign)) => {
            let autosome = matches!(ch, Chrom::Class(cl) if !cl.is_sex());
            let name = chrom_name(*ch);
            let somy = match (sign, repeats) {
                (Sign::Gain, 1) => "trisomy",
                (Sign::Gain, 2) => "tetrasomy",
                (Sign::Gain, 3) => "pentasomy",
                (Sign::Loss, 1) => "monosomy",
                (Sign::Loss, 2) => "nullisomy",
                _ => "",
            };
            let mut t = match (sign, repeats) {
                (Sign::Gain, 1) => format!("an extra {name}"),
                (Sign::Gain, n) => format!("{n} extra copies of {name}"),
                (Sign::Loss, 1) => format!("loss of {name}"),
                (Sign::Loss, 2) => format!("loss of both copies of {name}"),
                (Sign::Loss, n) => format!("loss of {n} copies of {name}"),
            };
            if let (true, true, false, Chrom::Class(cl)) = (autosome, diploid, somy.is_empty(), ch)
            {
                t.push_str(&format!(" ({somy} {cl})"));
            }
            t
        }
        (Item::Whole(ch), None) => times(chrom_name(*ch)),
        (
            Item::Heteromorphism {
                chrom,
                arm,
                region,
                sign,
            },
            _,
        ) => {
            let (more, less, what) = match region {
                HetRegion::Heterochromatin => ("more", "less", "heterochromatin"),
                HetRegion::Satellite => ("larger", "smaller", "satellites"),
                HetRegion::Stalk => ("longer", "shorter", "stalk"),
            };
            let size = if *sign == Sign::Gain { more } else { less };
            format!("{size} {what} on {chrom}{arm} (a heteromorphism)")
        }
        (Item::Marker { copies, .. }, _) => {
            if *copies > 1 {
                format!("{copies} marker chromosomes of unknown origin")
            } else {
                "a marker chromosome of unknown origin".to_string()
            }
        }
        (Item::UnknownRing, _) => times("a ring chromosome of unknown origin".to_string()),
        (Item::Rearrangement(r), sign) => {
            let t = times(rearrangement(r));
            match sign {
                Some(Sign::Gain) => format!("an extra copy of {t}"),
                Some(Sign::Loss) => format!("loss of {t}"),
                None => t,
            }
        }
        (
            Item::Derivative {
                chroms,
                breakpoints,
                steps,
            },
            sign,
        ) => {
            let mut t = times(format!("a derivative {}", chrom_list(chroms)));
            if let Some(b) = breakpoints {
                t.push_str(&format!(" joined at {}", breakpoint_text(chroms, b)));
            }
            if !steps.is_empty() {
                let from: Vec<String> = steps.iter().map(rearrangement).collect();
                t.push_str(&format!(" resulting from {}", from.join(" and ")));
            }
            match sign {
                Some(Sign::Gain) => format!("an extra {}", t.trim_start_matches("a ")),
                Some(Sign::Loss) => format!("loss of {t}"),
                None => t,
            }
        }
    };
    if c.uncertain {
        text = format!("possibly {text}");
    }
    match c.origin {
        Some(Origin::Maternal) => text.push_str(", inherited from the mother"),
        Some(Origin::Paternal) => text.push_str(", inherited from the father"),
        Some(Origin::DeNovo) => text.push_str(", de novo"),
        Some(Origin::Inherited) => text.push_str(", inherited"),
        Some(Origin::Constitutional) => text.push_str(", constitutional"),
        None => {}
    }
    text
}

fn chrom_name(c: Chrom) -> String {
    match c {
        Chrom::Class(cl) if cl.is_sex() => format!("{cl} chromosome"),
        Chrom::Class(cl) => format!("chromosome {cl}"),
        Chrom::Unknown => "an unidentified chromosome".to_string(),
    }
}

fn chrom_list(chroms: &[Chrom]) -> String {
    let names: Vec<String> = chroms.iter().map(|c| c.to_string()).collect();
    match names.len() {
        0 => String::new(),
        1 => format!("chromosome {}", names[0]),
        n => format!(
            "chromosomes {} and {}",
            names[..n - 1].join(", "),
            names[n - 1]
        ),
    }
}

fn breakpoint_text(chroms: &[Chrom], b: &Breakpoints) -> String {
    match b {
        Breakpoints::Short(groups) => {
            let mut parts = Vec::new();
            for (i, g) in groups.iter().enumerate() {
                let c = chroms.get(i).map(ToString::to_string).unwrap_or_default();
                let bps: Vec<String> = g.iter().map(|bp| format!("{c}{bp}")).collect();
                parts.push(bps.join(" to "));
            }
            parts.join(" and ")
        }
        Breakpoints::Detailed(_) => format!("{b} (detailed system)"),
    }
}

fn rearrangement(r: &Rearrangement) -> String {
    let what = match r.kind {
        Kind::Add => "additional material of unknown origin on",
        Kind::Del => "a deletion of",
        Kind::Dic => "a dicentric chromosome from",
        Kind::Dup => "a duplication in",
        Kind::Fra => "a fragile site on",
        Kind::Hsr => "a homogeneously staining region on",
        Kind::I => "an isochromosome of",
        Kind::Idic => "an isodicentric chromosome of",
        Kind::Ins => "an insertion involving",
        Kind::Inv => "an inversion of",
        Kind::R => "a ring chromosome from",
        Kind::Rob => "a Robertsonian translocation between",
        Kind::T => "a translocation between",
        Kind::Trp => "a triplication in",
    };
    let mut t = format!("{what} {}", chrom_list(&r.chroms));
    match (&r.breakpoints, r.kind) {
        (Some(Breakpoints::Short(g)), Kind::Del) if g.len() == 1 && g[0].len() <= 2 => {
            let c = r
                .chroms
                .first()
                .map(ToString::to_string)
                .unwrap_or_default();
            if let [a, b] = g[0].as_slice() {
                t.push_str(&format!(" between {c}{a} and {c}{b} (interstitial)"));
            } else if let [a] = g[0].as_slice() {
                t.push_str(&format!(" from {c}{a} to the end (terminal)"));
            }
        }
        (Some(b), _) => {
            t.push_str(" at ");
            t.push_str(&breakpoint_text(&r.chroms, b));
        }
        (None, _) => {}
    }
    t
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse;
    use super::*;

    fn read(s: &str) -> String {
        parse(s)
            .map(|k| explain(&k))
            .unwrap_or_else(|e| e.to_string())
    }

    #[test]
    fn common_karyotypes_read_plainly() {
        assert_eq!(
            read("47,XY,+21"),
            "47 chromosomes, male, an extra chromosome 21 (trisomy 21)"
        );
        assert_eq!(
            read("44,XX,-5,-5"),
            "44 chromosomes, female, loss of both copies of chromosome 5 (nullisomy 5)"
        );
        assert_eq!(
            read("46,XX,del(5)(q31q33)"),
            "46 chromosomes, female, a deletion of chromosome 5 between 5q31 and 5q33 (interstitial)"
        );
        assert_eq!(
            read("46,X,i(X)(q10)"),
            "46 chromosomes, one normal X chromosome, an isochromosome of chromosome X at Xq10"
        );
        assert!(read("mos 45,X[15]/46,XX[5]").starts_with("mosaic of: 45 chromosomes"));
        assert!(read("70<3n>,XXX,+8").ends_with("an extra chromosome 8"));
    }
}
