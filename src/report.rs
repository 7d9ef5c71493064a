//! The JSON documents the CLI writes (`analysis.json`, `classify` lines).
//! Field names and meanings are a public contract, described in the README
//! ("Output formats"); a change bumps `SCHEMA_VERSION`.

use serde::Serialize;
use serde::ser::SerializeMap;

use crate::domain::analysis::{AnalyzedObject, MetaphaseAnalysis, ObjectFlag};
use crate::domain::chromosome::{CLASS_COUNT, ChromosomeClass, Polarity};
use crate::domain::classify::Prediction;
use crate::domain::classify::assign::Placement;
use crate::domain::geometry::contour::{simplify_closed, trace_outline};
use crate::domain::modality::Modality;
use crate::domain::ports::ModelInfo;
use crate::domain::segmentation::RejectReason;

/// Version of the analysis.json layout.
pub const SCHEMA_VERSION: u32 = 1;

/// Class probabilities serialised as a map in karyogram order ("1".."22","X","Y").
#[derive(Debug, Clone, PartialEq)]
pub struct ClassProbabilities(pub [f64; CLASS_COUNT]);

impl Serialize for ClassProbabilities {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(CLASS_COUNT))?;
        for c in ChromosomeClass::all() {
            map.serialize_entry(c.label(), &round6(self.0[c.index()]))?;
        }
        map.end()
    }
}

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

#[derive(Debug, Serialize)]
pub struct AnalysisReport {
    pub schema_version: u32,
    pub image: String,
    pub width: usize,
    pub height: usize,
    pub modality: Modality,
    pub segmenter: ModelInfo,
    pub classifier: ModelInfo,
    pub karyotype: String,
    pub count: usize,
    pub objects: Vec<ObjectReport>,
    pub rejected: Vec<RejectedReport>,
    pub warnings: Vec<String>,
    pub timings_ms: std::collections::BTreeMap<String, f64>,
}

#[derive(Debug, Serialize)]
pub struct ObjectReport {
    pub id: u32,
    pub polygon: Vec<[f64; 2]>,
    pub bbox: [usize; 4],
    pub area_px: usize,
    pub score: f64,
    pub class: Option<ChromosomeClass>,
    pub placement: &'static str,
    pub probabilities: ClassProbabilities,
    pub entropy: f64,
    pub polarity: Polarity,
    pub polarity_confidence: f64,
    pub length_px: f64,
    pub width_px: f64,
    pub centromeric_index: f64,
    /// Medial axis in image coordinates from the straightened crop's top
    /// (row 0) to its bottom, sampled every 4 px.
    pub axis: Vec<[f64; 2]>,
    pub flags: Vec<ObjectFlag>,
}

#[derive(Debug, Serialize)]
pub struct RejectedReport {
    pub polygon: Vec<[f64; 2]>,
    pub bbox: [usize; 4],
    pub area_px: usize,
    pub reason: RejectReason,
    pub description: &'static str,
}

fn polygon_json(poly: &[(f64, f64)]) -> Vec<[f64; 2]> {
    poly.iter().map(|&(x, y)| [round2(x), round2(y)]).collect()
}

impl ObjectReport {
    pub fn new(o: &AnalyzedObject) -> Self {
        let b = o.region.bbox;
        let axis = o
            .geometry
            .axis
            .iter()
            .step_by(4)
            .chain(o.geometry.axis.last());
        Self {
            id: o.id.0,
            polygon: polygon_json(&o.geometry.outline),
            bbox: [b.x, b.y, b.w, b.h],
            area_px: o.region.area(),
            score: round6(o.score),
            class: o.class(),
            placement: match o.placement {
                Placement::Regular(_) => "regular",
                Placement::Surplus(_) => "surplus",
                Placement::Unassigned => "unassigned",
            },
            probabilities: ClassProbabilities(o.prediction.probabilities),
            entropy: round6(o.prediction.entropy()),
            polarity: o.prediction.polarity,
            polarity_confidence: round6(o.prediction.polarity_confidence),
            length_px: round2(o.geometry.length_px),
            width_px: round2(o.geometry.width_px),
            centromeric_index: round6(o.geometry.centromeric_index),
            // Pixel centres are at +0.5 in the polygon convention.
            axis: axis
                .map(|&(x, y)| [round2(x + 0.5), round2(y + 0.5)])
                .collect(),
            flags: o.flags.clone(),
        }
    }
}

impl AnalysisReport {
    pub fn new(image: &str, analysis: &MetaphaseAnalysis, timings_ms: Vec<(String, f64)>) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            image: image.to_string(),
            width: analysis.width,
            height: analysis.height,
            modality: analysis.modality,
            segmenter: analysis.segmenter.clone(),
            classifier: analysis.classifier.clone(),
            karyotype: analysis.karyotype.to_iscn(),
            count: analysis.karyotype.count,
            objects: analysis.objects.iter().map(ObjectReport::new).collect(),
            rejected: analysis
                .rejected
                .iter()
                .map(|r| {
                    let b = r.region.bbox;
                    RejectedReport {
                        polygon: polygon_json(&simplify_closed(&trace_outline(&r.region), 0.5)),
                        bbox: [b.x, b.y, b.w, b.h],
                        area_px: r.region.area(),
                        reason: r.reason,
                        description: r.reason.describe(),
                    }
                })
                .collect(),
            warnings: analysis.warnings.clone(),
            timings_ms: timings_ms
                .into_iter()
                .map(|(k, v)| (k, round2(v)))
                .collect(),
        }
    }
}

/// One line of `karyostation classify` output.
#[derive(Debug, Serialize)]
pub struct ClassifyReport {
    pub path: String,
    pub class: ChromosomeClass,
    pub probabilities: ClassProbabilities,
    pub entropy: f64,
    pub polarity: Polarity,
    pub polarity_confidence: f64,
}

impl ClassifyReport {
    pub fn new(path: &str, p: &Prediction) -> Self {
        Self {
            path: path.to_string(),
            class: p.top_class(),
            probabilities: ClassProbabilities(p.probabilities),
            entropy: round6(p.entropy()),
            polarity: p.polarity,
            polarity_confidence: round6(p.polarity_confidence),
        }
    }
}
