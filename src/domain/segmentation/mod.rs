//! Segmentation of a metaphase spread into chromosome objects.
//!
//! The built-in segmenter (`builtin`) is classical image processing; a learned
//! segmenter can replace it behind the `Segmenter` port (`domain::ports`).
//! Every connected object ends up either in `objects` or in `rejected` with a
//! reason: nothing is silently dropped.

pub mod builtin;
pub mod components;
pub mod concavity;
pub mod filters;
pub mod maps;

use serde::{Deserialize, Serialize};

use crate::domain::raster::Region;

/// Why an object was set aside rather than analysed as a chromosome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// Far smaller than the cell's chromosomes: dust, stain precipitate.
    Debris,
    /// Large, round and much thicker than a chromosome: an interphase nucleus.
    Nucleus,
    /// Cut by the image border and too small to be analysed.
    CutByBorder,
    /// Set aside by a technologist.
    Manual,
}

impl RejectReason {
    pub fn describe(self) -> &'static str {
        match self {
            Self::Debris => "too small for a chromosome (debris)",
            Self::Nucleus => "large, round and thick (interphase nucleus)",
            Self::CutByBorder => "cut by the image border",
            Self::Manual => "rejected by a technologist",
        }
    }
}

/// Remarks the segmenter attaches to an object it kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SegmentNote {
    /// Cut out of a larger cluster of touching chromosomes.
    SplitFromCluster,
    /// Large or branched like several chromosomes, but no safe cut was found.
    PossibleCluster,
    /// Touches the image border.
    TouchesBorder,
}

/// One object kept as a chromosome candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentedObject {
    pub region: Region,
    /// Segmentation confidence 0..=1.
    pub score: f64,
    pub notes: Vec<SegmentNote>,
}

/// One object set aside, with the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedObject {
    pub region: Region,
    pub reason: RejectReason,
}

/// The result of segmenting a spread. Objects are sorted top to bottom, then
/// left to right by bounding box.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Segmentation {
    pub objects: Vec<SegmentedObject>,
    pub rejected: Vec<RejectedObject>,
    pub warnings: Vec<String>,
}

impl Segmentation {
    /// Sorts objects and rejected objects into reading order.
    pub fn sort(&mut self) {
        self.objects
            .sort_by_key(|o| (o.region.bbox.y, o.region.bbox.x));
        self.rejected
            .sort_by_key(|o| (o.region.bbox.y, o.region.bbox.x));
    }
}
