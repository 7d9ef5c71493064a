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
            let y = list.len() - x;
            match (x, y) {
                (2, 0) => "female".to_string(),
                (1, 1) => "male".to_string(),
                (1, 0) => "a single X chromosome".to_string(),
                _ => format!("sex chromosomes {}", "X".repeat(x) + &"Y".repeat(y)),
            }
        }
        Base::Ref(CloneRef::Idem | CloneRef::Stemline) => "the changes of the stemline".to_string(),
        Base::Ref(CloneRef::Sideline(None)) => "the changes of the previous sideline".to_string(),
        Base::Ref(CloneRef::Sideline(Some(n))) => format!("the changes of sideline {n}"),
    });
    for c in &line.changes {
        let gains = line
            .changes
            .iter()
            .filter(|o| o.sign == c.sign && o.item == c.item)
            .count();
        out.push(explain_change(c, gains));
    }
    let mut text = out.join(", ");
    if let Some(cells) = line.cells {
        let cp = if cells.composite { "composite of " } else { "" };
        let s = if cells.cells == 1 { "" } else { "s" };
        text.push_str(&format!(" [{cp}{} cell{s}]", cells.cells));
    }
    text
}

fn explain_change(c: &Change, same: usize) -> String {
    let mut text = match (&c.item, c.sign) {
        (Item::Whole(ch), Some(Sign::Gain)) => {
            let mut t = format!("an extra {}", chrom_name(*ch));
            if let Chrom::Class(cl) = ch
                && !cl.is_sex()
                && same == 1
            {
                t.push_str(&format!(" (trisomy {cl})"));
            }
            t
        }
        (Item::Whole(ch), Some(Sign::Loss)) => {
            let mut t = format!("loss of {}", chrom_name(*ch));
            if let Chrom::Class(cl) = ch
                && !cl.is_sex()
                && same == 1
            {
                t.push_str(&format!(" (monosomy {cl})"));
            }
            t
        }
        (Item::Whole(ch), None) => chrom_name(*ch),
        (Item::Heteromorphism { chrom, arm, sign }, _) => format!(
            "{} heterochromatin on {chrom}{arm} (a heteromorphism)",
            if *sign == Sign::Gain { "more" } else { "less" }
        ),
        (Item::Marker { copies, .. }, _) => {
            if *copies > 1 {
                format!("{copies} marker chromosomes of unknown origin")
            } else {
                "a marker chromosome of unknown origin".to_string()
            }
        }
        (Item::UnknownRing, _) => "a ring chromosome of unknown origin".to_string(),
        (Item::Rearrangement(r), sign) => {
            let t = rearrangement(r);
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
            let mut t = format!("a derivative {}", chrom_list(chroms));
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
    if let Some(b) = &r.breakpoints {
        let sep = if r.kind == Kind::Del
            && matches!(b, Breakpoints::Short(g) if g.first().is_some_and(|g| g.len() == 1))
        {
            " from "
        } else {
            " at "
        };
        t.push_str(sep);
        t.push_str(&breakpoint_text(&r.chroms, b));
        if sep == " from " {
            t.push_str(" to the end (terminal)");
        }
    }
    t
}
