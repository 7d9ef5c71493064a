//! Chromosome classes (1-22, X, Y) and polarity.

use serde::{Deserialize, Serialize};

/// Number of chromosome classes: 22 autosomes, X and Y.
pub const CLASS_COUNT: usize = 24;

/// One of the 24 human chromosome classes. Stored as an index 0..24
/// (0 = chromosome 1, 21 = chromosome 22, 22 = X, 23 = Y).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChromosomeClass(u8);

impl ChromosomeClass {
    pub const X: Self = Self(22);
    pub const Y: Self = Self(23);

    /// All classes in karyogram order.
    pub fn all() -> impl Iterator<Item = Self> {
        (0..CLASS_COUNT as u8).map(Self)
    }

    /// Class from its index 0..24.
    pub fn from_index(index: usize) -> Option<Self> {
        (index < CLASS_COUNT).then_some(Self(index as u8))
    }

    /// Autosome by number 1..=22.
    pub fn autosome(number: u8) -> Option<Self> {
        (1..=22).contains(&number).then(|| Self(number - 1))
    }

    pub fn index(self) -> usize {
        self.0 as usize
    }

    pub fn is_sex(self) -> bool {
        self.0 >= 22
    }

    /// The ISCN name: `"1"`..`"22"`, `"X"`, `"Y"`.
    pub fn label(self) -> &'static str {
        const LABELS: [&str; CLASS_COUNT] = [
            "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16",
            "17", "18", "19", "20", "21", "22", "X", "Y",
        ];
        LABELS[self.index()]
    }

    /// Parses `"1"`..`"22"`, `"X"`/`"x"`, `"Y"`/`"y"`, also `"23"`/`"24"` for X/Y.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "X" | "x" => Some(Self::X),
            "Y" | "y" => Some(Self::Y),
            t => match t.parse::<u8>().ok()? {
                n @ 1..=22 => Self::autosome(n),
                23 => Some(Self::X),
                24 => Some(Self::Y),
                _ => None,
            },
        }
    }
}

impl std::fmt::Display for ChromosomeClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

impl Serialize for ChromosomeClass {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.label())
    }
}

impl<'de> Deserialize<'de> for ChromosomeClass {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown chromosome class {text:?}")))
    }
}

/// Where the p arm points along the straightened axis (row 0 = "up").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Polarity {
    /// The p arm is at the top (row 0) of the straightened crop.
    PUp,
    /// The p arm is at the bottom.
    PDown,
}

impl Polarity {
    pub fn flipped(self) -> Self {
        match self {
            Self::PUp => Self::PDown,
            Self::PDown => Self::PUp,
        }
    }

    /// The decision and its confidence (0.5..=1) from the probability that
    /// the p arm is up.
    pub fn from_p_up(p_up: f64) -> (Self, f64) {
        if p_up >= 0.5 {
            (Self::PUp, p_up)
        } else {
            (Self::PDown, 1.0 - p_up)
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::PUp => "p_up",
            Self::PDown => "p_down",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip() {
        for c in ChromosomeClass::all() {
            assert_eq!(ChromosomeClass::parse(c.label()), Some(c));
        }
        assert_eq!(ChromosomeClass::parse("0"), None);
        assert_eq!(ChromosomeClass::parse("25"), None);
        assert_eq!(ChromosomeClass::parse("q"), None);
        assert_eq!(serde_json::to_string(&ChromosomeClass::X).unwrap(), "\"X\"");
    }
}
