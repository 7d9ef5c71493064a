//! ISCN band tables (ideograms) and the density profiles derived from them.
//!
//! The tables are the CC0 NCBI ideogram tables shipped in `assets/bands/`
//! (see `assets/bands/README.md`), compiled into the binary so the domain never
//! touches the file system. Coordinates are ISCN ideogram units, comparable
//! between chromosomes of one table; rows run pter to qter.

use std::sync::OnceLock;

use super::chromosome::{CLASS_COUNT, ChromosomeClass};

/// Band resolution (bands per haploid set).
///
/// The 400-, 550- and 850-band tables are CC0 and compiled in. The 300- and
/// 700-band tables are derived with an LGPL band list and are not shipped:
/// the application installs them at start-up when it finds them
/// ([`BandTable::install`]); until then those levels fall back to the nearest
/// shipped level ([`BandTable::get`] says which table it gave).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BandLevel {
    B300,
    B400,
    B550,
    B700,
    B850,
}

impl BandLevel {
    /// Every level, coarsest first.
    pub fn all() -> [Self; 5] {
        [Self::B300, Self::B400, Self::B550, Self::B700, Self::B850]
    }

    /// The levels whose tables are compiled in.
    pub fn shipped() -> [Self; 3] {
        [Self::B400, Self::B550, Self::B850]
    }

    pub fn bands_per_set(self) -> u32 {
        match self {
            Self::B300 => 300,
            Self::B400 => 400,
            Self::B550 => 550,
            Self::B700 => 700,
            Self::B850 => 850,
        }
    }

    /// The level with this many bands per haploid set.
    pub fn from_bands(bands: u32) -> Option<Self> {
        Self::all().into_iter().find(|l| l.bands_per_set() == bands)
    }

    /// The shipped level used while this one's table is not installed.
    pub fn fallback(self) -> Self {
        match self {
            Self::B300 => Self::B400,
            Self::B700 => Self::B850,
            other => other,
        }
    }

    /// The file name of the table (as in the shared band tables).
    pub fn file_name(self) -> &'static str {
        match self {
            Self::B300 => "hs_GRCh38_iscn300_derived.tsv",
            Self::B400 => "hs_GRCh38_iscn400.tsv",
            Self::B550 => "hs_GRCh38_iscn550.gapfixed.tsv",
            Self::B700 => "hs_GRCh38_iscn700_derived.tsv",
            Self::B850 => "hs_GRCh38_iscn850.tsv",
        }
    }

    fn table_text(self) -> Option<&'static str> {
        match self {
            Self::B400 => Some(include_str!("../../assets/bands/hs_GRCh38_iscn400.tsv")),
            Self::B550 => Some(include_str!(
                "../../assets/bands/hs_GRCh38_iscn550.gapfixed.tsv"
            )),
            Self::B850 => Some(include_str!("../../assets/bands/hs_GRCh38_iscn850.tsv")),
            Self::B300 | Self::B700 => None,
        }
    }
}

/// Giemsa staining category of a band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stain {
    Gneg,
    Gpos(u8),
    Acen,
    Gvar,
    Stalk,
}

impl Stain {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "gneg" => Self::Gneg,
            "gpos25" => Self::Gpos(25),
            "gpos50" => Self::Gpos(50),
            "gpos75" => Self::Gpos(75),
            "gpos100" | "gpos" => Self::Gpos(100),
            "acen" => Self::Acen,
            "gvar" => Self::Gvar,
            "stalk" => Self::Stalk,
            _ => return None,
        })
    }

    /// Relative G-band darkness 0 (pale) ..= 1 (darkest).
    pub fn darkness(self) -> f64 {
        match self {
            Self::Gneg => 0.08,
            Self::Gpos(p) => 0.15 + 0.85 * f64::from(p) / 100.0,
            Self::Acen => 0.45,
            Self::Gvar => 0.8,
            Self::Stalk => 0.1,
        }
    }
}

/// One band of an ideogram.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    /// Band name without the chromosome, e.g. `q31.1`.
    pub name: String,
    pub arm: Arm,
    pub start: f64,
    pub stop: f64,
    pub stain: Stain,
}

/// Chromosome arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arm {
    P,
    Q,
}

/// The ideogram of one chromosome at one band level.
#[derive(Debug, Clone, PartialEq)]
pub struct Ideogram {
    pub class: ChromosomeClass,
    pub bands: Vec<Band>,
}

impl Ideogram {
    /// Total length in ISCN units.
    pub fn length(&self) -> f64 {
        self.bands.last().map_or(0.0, |b| b.stop)
    }

    /// Position of the centromere (the p/q boundary) in ISCN units.
    pub fn centromere(&self) -> f64 {
        self.bands
            .iter()
            .find(|b| b.arm == Arm::Q)
            .map_or(0.0, |b| b.start)
    }

    /// Centromeric index: p arm length / total length.
    pub fn centromeric_index(&self) -> f64 {
        let len = self.length();
        if len > 0.0 {
            self.centromere() / len
        } else {
            0.0
        }
    }

    /// The band at ideogram position `pos` (clamped to the chromosome).
    pub fn band_at(&self, pos: f64) -> Option<&Band> {
        let pos = pos.clamp(0.0, self.length());
        self.bands
            .iter()
            .find(|b| pos >= b.start && pos < b.stop)
            .or(self.bands.last())
    }

    /// G-band darkness sampled at `n` evenly spaced points from pter to qter,
    /// smoothed with a Gaussian of `sigma` (as a fraction of the length).
    pub fn density_profile(&self, n: usize, sigma: f64) -> Vec<f64> {
        let len = self.length();
        let raw: Vec<f64> = (0..n)
            .map(|i| {
                let pos = (i as f64 + 0.5) / n as f64 * len;
                self.band_at(pos).map_or(0.0, |b| b.stain.darkness())
            })
            .collect();
        gaussian_smooth(&raw, sigma * n as f64)
    }

    /// The position (ISCN units from pter) of a band's start and stop, by name.
    pub fn band_span(&self, name: &str) -> Option<(f64, f64)> {
        // Exact match first, then a prefix match for coarser names (q31 -> q31.1..q31.3).
        if let Some(b) = self.bands.iter().find(|b| b.name == name) {
            return Some((b.start, b.stop));
        }
        let matching: Vec<&Band> = self
            .bands
            .iter()
            .filter(|b| b.name.starts_with(name) && b.name[name.len()..].starts_with('.'))
            .collect();
        let first = matching.first()?;
        let last = matching.last()?;
        Some((first.start, last.stop))
    }
}

/// All 24 ideograms of one band level.
#[derive(Debug, Clone, PartialEq)]
pub struct BandTable {
    pub level: BandLevel,
    ideograms: Vec<Ideogram>,
}

static INSTALLED_300: OnceLock<BandTable> = OnceLock::new();
static INSTALLED_700: OnceLock<BandTable> = OnceLock::new();

impl BandTable {
    /// The table for `level`, parsed once and cached. For a level whose
    /// table is not installed this is the fallback level's table: compare
    /// `.level` with the level asked for.
    pub fn get(level: BandLevel) -> &'static BandTable {
        static TABLES: OnceLock<Vec<BandTable>> = OnceLock::new();
        let installed = match level {
            BandLevel::B300 => INSTALLED_300.get(),
            BandLevel::B700 => INSTALLED_700.get(),
            _ => None,
        };
        if let Some(t) = installed {
            return t;
        }
        let tables = TABLES.get_or_init(|| {
            BandLevel::shipped()
                .into_iter()
                .map(|l| {
                    // The shipped tables are checked by a unit test; an error here
                    // would be a build defect, not user input.
                    Self::parse(l, l.table_text().unwrap_or_default())
                        .unwrap_or_else(|e| panic!("bundled band table {l:?}: {e}"))
                })
                .collect()
        });
        let wanted = level.fallback();
        &tables[BandLevel::shipped()
            .iter()
            .position(|l| *l == wanted)
            .unwrap_or(0)]
    }

    /// Installs the table of a level that is not compiled in (300 or 700
    /// bands) from its text. Returns `Ok(false)` when one was installed
    /// before (the first stays).
    ///
    /// # Errors
    /// When the level is a shipped one, or the text does not parse.
    pub fn install(level: BandLevel, text: &str) -> Result<bool, String> {
        let slot = match level {
            BandLevel::B300 => &INSTALLED_300,
            BandLevel::B700 => &INSTALLED_700,
            other => {
                return Err(format!(
                    "the {}-band table is built in",
                    other.bands_per_set()
                ));
            }
        };
        let table = Self::parse(level, text)?;
        Ok(slot.set(table).is_ok())
    }

    /// True when `level`'s own table is available (not a fallback).
    pub fn available(level: BandLevel) -> bool {
        Self::get(level).level == level
    }

    /// Parses a band table (tab separated, header row, columns
    /// `chrom arm band iscn_start iscn_stop bp_start bp_stop stain`).
    ///
    /// # Errors
    /// A line number and reason when a row is malformed or a class is missing.
    pub fn parse(level: BandLevel, text: &str) -> Result<Self, String> {
        let mut ideograms: Vec<Ideogram> = ChromosomeClass::all()
            .map(|class| Ideogram {
                class,
                bands: Vec::new(),
            })
            .collect();
        for (line_no, line) in text.lines().enumerate().skip(1) {
            if line.trim().is_empty() {
                continue;
            }
            let cols: Vec<&str> = line.split('\t').collect();
            if cols.len() < 8 {
                return Err(format!("line {}: expected 8 columns", line_no + 1));
            }
            let class = ChromosomeClass::parse(cols[0])
                .ok_or_else(|| format!("line {}: unknown chromosome {:?}", line_no + 1, cols[0]))?;
            let arm = match cols[1] {
                "p" => Arm::P,
                "q" => Arm::Q,
                other => return Err(format!("line {}: unknown arm {other:?}", line_no + 1)),
            };
            let start: f64 = cols[3]
                .parse()
                .map_err(|_| format!("line {}: bad start", line_no + 1))?;
            let stop: f64 = cols[4]
                .parse()
                .map_err(|_| format!("line {}: bad stop", line_no + 1))?;
            let stain = Stain::parse(cols[7].trim())
                .ok_or_else(|| format!("line {}: unknown stain {:?}", line_no + 1, cols[7]))?;
            ideograms[class.index()].bands.push(Band {
                name: cols[2].to_string(),
                arm,
                start,
                stop,
                stain,
            });
        }
        for ideo in &mut ideograms {
            if ideo.bands.is_empty() {
                return Err(format!("chromosome {} has no bands", ideo.class));
            }
            ideo.bands.sort_by(|a, b| a.start.total_cmp(&b.start));
        }
        Ok(Self { level, ideograms })
    }

    pub fn ideogram(&self, class: ChromosomeClass) -> &Ideogram {
        &self.ideograms[class.index()]
    }

    /// Relative length of each class: its length / the haploid autosome + X total.
    pub fn relative_lengths(&self) -> [f64; CLASS_COUNT] {
        self.relative_lengths_by(Ideogram::length)
    }

    fn relative_lengths_by(&self, length: impl Fn(&Ideogram) -> f64) -> [f64; CLASS_COUNT] {
        let total: f64 = ChromosomeClass::all()
            .filter(|c| *c != ChromosomeClass::Y)
            .map(|c| length(self.ideogram(c)))
            .sum();
        let mut out = [0.0; CLASS_COUNT];
        for c in ChromosomeClass::all() {
            out[c.index()] = length(self.ideogram(c)) / total.max(1.0);
        }
        out
    }
}

/// Gaussian smoothing of a 1-D signal with edge clamping; `sigma` in samples.
pub fn gaussian_smooth(values: &[f64], sigma: f64) -> Vec<f64> {
    if sigma < 0.3 || values.is_empty() {
        return values.to_vec();
    }
    let radius = (3.0 * sigma).ceil() as i64;
    let kernel: Vec<f64> = (-radius..=radius)
        .map(|k| (-(k * k) as f64 / (2.0 * sigma * sigma)).exp())
        .collect();
    let n = values.len() as i64;
    (0..n)
        .map(|i| {
            let mut acc = 0.0;
            let mut wsum = 0.0;
            for (k, w) in (-radius..=radius).zip(&kernel) {
                let j = (i + k).clamp(0, n - 1) as usize;
                acc += values[j] * w;
                wsum += w;
            }
            acc / wsum
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_tables_parse_and_are_consistent() {
        for level in BandLevel::shipped() {
            let table = BandTable::get(level);
            for c in ChromosomeClass::all() {
                let ideo = table.ideogram(c);
                assert!(ideo.length() > 1000.0, "{c} at {level:?}");
                let ci = ideo.centromeric_index();
                assert!((0.1..0.55).contains(&ci), "{c} ci {ci}");
                for w in ideo.bands.windows(2) {
                    assert!(w[0].stop <= w[1].start + 1e-6, "{c} bands overlap");
                }
            }
            let rl = table.relative_lengths();
            assert!(rl[0] > rl[20], "chromosome 1 is longer than 21");
        }
        let five = BandTable::get(BandLevel::B400).ideogram(ChromosomeClass::autosome(5).unwrap());
        let (s, e) = five.band_span("q31").unwrap();
        assert!(s < e && s > five.centromere());
    }

    #[test]
    fn uninstalled_levels_fall_back_and_install_checks_its_input() {
        assert_eq!(BandLevel::from_bands(700), Some(BandLevel::B700));
        assert_eq!(BandLevel::from_bands(500), None);
        // 700 is never installed by the unit tests: it falls back to 850.
        assert_eq!(BandTable::get(BandLevel::B700).level, BandLevel::B850);
        assert!(!BandTable::available(BandLevel::B700));
        assert!(BandTable::install(BandLevel::B400, "x").is_err());
        assert!(BandTable::install(BandLevel::B700, "header\n1\tp\n").is_err());
        assert!(!BandTable::available(BandLevel::B700));
    }

    #[test]
    fn malformed_tables_are_errors() {
        assert!(BandTable::parse(BandLevel::B400, "header\n1\tp\n").is_err());
        assert!(BandTable::parse(BandLevel::B400, "header\n").is_err());
    }
}
