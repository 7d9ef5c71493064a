//! Analysis of one metaphase: the stages after segmentation, as pure
//! functions the pipeline calls (and times) in order:
//! `measure_objects` -> classifier -> `arrange_cell`.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::bands::{BandLevel, BandTable};
use super::chromosome::{CLASS_COUNT, ChromosomeClass, Polarity};
use super::classify::assign::{AssignParams, Placement, assign_cell, class_counts};
use super::classify::{ChromosomeFeatures, Prediction};
use super::geometry::{self, ChromosomeGeometry};
use super::ids::ObjectId;
use super::iscn::NumericalKaryotype;
use super::karyogram::homolog;
use super::modality::Modality;
use super::ports::ModelInfo;
use super::raster::{GrayImage, Region};
use super::refine::FitCheckParams;
use super::segmentation::{RejectedObject, SegmentNote, Segmentation};

/// Thresholds for the per-object flags.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisParams {
    /// Flag objects whose class entropy (nats) is above this.
    pub entropy_threshold: f64,
    /// Flag objects whose polarity confidence is below this.
    pub polarity_confidence_threshold: f64,
    /// Flag objects whose length differs from their class's expected
    /// relative length by more than this fraction.
    pub length_tolerance: f64,
    /// Flag both members of a homolog pair whose difference score (see
    /// `karyogram::homolog`) is above this. The default, 8, was calibrated
    /// on synthetic 1024x1024 cells and holds at 768x576: see the homolog
    /// module's tests for the measured false-flag rate on normal pairs and
    /// the detection rate of deletions and translocations.
    pub homolog_threshold: f64,
    pub assign: AssignParams,
    /// The segmentation's check against the ideogram (`domain::refine`).
    pub fit_check: FitCheckParams,
}

impl Default for AnalysisParams {
    fn default() -> Self {
        Self {
            entropy_threshold: 1.0,
            polarity_confidence_threshold: 0.8,
            length_tolerance: 0.35,
            homolog_threshold: 8.0,
            assign: AssignParams::default(),
            fit_check: FitCheckParams::default(),
        }
    }
}

/// Why an object deserves a technologist's look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectFlag {
    /// Class probabilities too spread out (entropy above the threshold).
    HighEntropy,
    /// Polarity decision not confident.
    PolarityUncertain,
    /// Unusually long for its class.
    LongForClass,
    /// Unusually short for its class.
    ShortForClass,
    /// An extra copy of its class (trisomy candidate).
    Surplus,
    /// Fits no class.
    Unassigned,
    /// Cut out of a cluster by the segmenter.
    SplitFromCluster,
    /// May hold more than one chromosome.
    PossibleCluster,
    /// Touches the image border.
    TouchesBorder,
    /// Its banding differs from its homolog's (deletion, translocation or
    /// a poorly straightened chromosome); both members of the pair carry it.
    HomologDiffers,
}

/// One measured object before classification.
#[derive(Debug, Clone)]
pub struct MeasuredObject {
    pub region: Region,
    pub score: f64,
    pub notes: Vec<SegmentNote>,
    pub geometry: ChromosomeGeometry,
    pub features: ChromosomeFeatures,
}

/// One analysed chromosome object.
#[derive(Debug, Clone)]
pub struct AnalyzedObject {
    pub id: ObjectId,
    pub region: Region,
    pub score: f64,
    pub geometry: ChromosomeGeometry,
    pub features: ChromosomeFeatures,
    pub prediction: Prediction,
    pub placement: Placement,
    pub flags: Vec<ObjectFlag>,
}

impl AnalyzedObject {
    pub fn class(&self) -> Option<ChromosomeClass> {
        self.placement.class()
    }

    /// The straightened crop as the spread looks (G-band look for
    /// brightfield, bright on dark for fluorescence), p arm up.
    pub fn upright_crop(&self, modality: Modality) -> GrayImage {
        let crop = match self.prediction.polarity {
            Polarity::PUp => self.features.gband_crop.clone(),
            Polarity::PDown => self.features.gband_crop.rotated_180(),
        };
        match modality {
            Modality::Brightfield => crop,
            Modality::Fluorescence => crop.inverted(),
        }
    }
}

/// The analysis of one metaphase spread.
#[derive(Debug, Clone)]
pub struct MetaphaseAnalysis {
    pub width: usize,
    pub height: usize,
    pub modality: Modality,
    /// Sorted by id.
    pub objects: Vec<AnalyzedObject>,
    pub rejected: Vec<RejectedObject>,
    pub karyotype: NumericalKaryotype,
    pub warnings: Vec<String>,
    pub segmenter: ModelInfo,
    pub classifier: ModelInfo,
}

impl MetaphaseAnalysis {
    /// Objects per class in karyogram order: regular places first, then
    /// surplus, each by decreasing length.
    pub fn arrangement(&self) -> Vec<(ChromosomeClass, Vec<ObjectId>)> {
        ChromosomeClass::all()
            .map(|c| {
                let mut members: Vec<&AnalyzedObject> = self
                    .objects
                    .iter()
                    .filter(|o| o.class() == Some(c))
                    .collect();
                members.sort_by(|a, b| {
                    let surplus = |o: &AnalyzedObject| matches!(o.placement, Placement::Surplus(_));
                    surplus(a)
                        .cmp(&surplus(b))
                        .then(b.geometry.length_px.total_cmp(&a.geometry.length_px))
                        .then(a.id.cmp(&b.id))
                });
                (c, members.into_iter().map(|o| o.id).collect())
            })
            .collect()
    }
}

/// The image in G-band look: dark chromosomes on a light background.
pub fn gband_look(gray: &GrayImage, modality: Modality) -> GrayImage {
    match modality {
        Modality::Brightfield => gray.clone(),
        Modality::Fluorescence => gray.inverted(),
    }
}

/// Measures every segmented object (in parallel). `gray` is the spread as
/// acquired.
pub fn measure_objects(
    gray: &GrayImage,
    modality: Modality,
    segmentation: &Segmentation,
) -> Vec<MeasuredObject> {
    let density = super::modality::density(gray, modality);
    measure_objects_on(&density, &gband_look(gray, modality), segmentation)
}

/// [`measure_objects`] on the spread's stain `density` and its G-band look
/// `gband`, already worked out.
pub fn measure_objects_on(
    density: &GrayImage,
    gband: &GrayImage,
    segmentation: &Segmentation,
) -> Vec<MeasuredObject> {
    segmentation
        .objects
        .par_iter()
        .filter_map(|object| {
            measure_object(
                density,
                gband,
                object.region.clone(),
                object.score,
                object.notes.clone(),
            )
        })
        .collect()
}

/// Measures one object on the stain `density` and cuts its crop from the
/// spread in G-band look (`gband`); `None` when it has no axis.
pub fn measure_object(
    density: &GrayImage,
    gband: &GrayImage,
    region: Region,
    score: f64,
    notes: Vec<SegmentNote>,
) -> Option<MeasuredObject> {
    let geometry = geometry::measure(density, &region)?;
    let half = (geometry.straightened.width() - 1) / 2;
    let crop = geometry::straighten(gband, &region, &geometry.axis, half, 255.0, true);
    let features = ChromosomeFeatures::from_geometry(&geometry, crop);
    Some(MeasuredObject {
        region,
        score,
        notes,
        geometry,
        features,
    })
}

/// Expected length of each class relative to the mean chromosome of a cell.
pub fn expected_relative_lengths() -> [f64; CLASS_COUNT] {
    let rl = BandTable::get(BandLevel::B400).relative_lengths();
    let mut out = [0.0; CLASS_COUNT];
    for (o, r) in out.iter_mut().zip(rl) {
        *o = r * 23.0;
    }
    out
}

/// Assigns the whole cell, flags objects and proposes the karyotype.
#[allow(clippy::too_many_arguments)]
pub fn arrange_cell(
    width: usize,
    height: usize,
    modality: Modality,
    measured: Vec<MeasuredObject>,
    predictions: Vec<Prediction>,
    segmentation_rejected: Vec<RejectedObject>,
    mut warnings: Vec<String>,
    models: (ModelInfo, ModelInfo),
    params: &AnalysisParams,
) -> MetaphaseAnalysis {
    let placements = assign_cell(&predictions, &params.assign);
    let counts = class_counts(&placements);
    let unassigned = placements
        .iter()
        .filter(|p| **p == Placement::Unassigned)
        .count();
    let expected = expected_relative_lengths();
    let mean_length = if measured.is_empty() {
        1.0
    } else {
        measured.iter().map(|m| m.geometry.length_px).sum::<f64>() / measured.len() as f64
    };
    let objects: Vec<AnalyzedObject> = measured
        .into_iter()
        .zip(predictions)
        .zip(placements)
        .enumerate()
        .map(|(i, ((m, prediction), placement))| {
            let mut flags = Vec::new();
            if prediction.entropy() > params.entropy_threshold {
                flags.push(ObjectFlag::HighEntropy);
            }
            if prediction.polarity_confidence < params.polarity_confidence_threshold {
                flags.push(ObjectFlag::PolarityUncertain);
            }
            match placement {
                Placement::Surplus(_) => flags.push(ObjectFlag::Surplus),
                Placement::Unassigned => flags.push(ObjectFlag::Unassigned),
                Placement::Regular(_) => {}
            }
            // Lengths only compare within a reasonably complete cell.
            if let Some(c) = placement
                .class()
                .filter(|_| counts.iter().sum::<usize>() >= 30)
            {
                let ratio = m.geometry.length_px / mean_length / expected[c.index()];
                if ratio > 1.0 + params.length_tolerance {
                    flags.push(ObjectFlag::LongForClass);
                } else if ratio < 1.0 - params.length_tolerance {
                    flags.push(ObjectFlag::ShortForClass);
                }
            }
            for note in &m.notes {
                flags.push(match note {
                    SegmentNote::SplitFromCluster => ObjectFlag::SplitFromCluster,
                    SegmentNote::PossibleCluster => ObjectFlag::PossibleCluster,
                    SegmentNote::TouchesBorder => ObjectFlag::TouchesBorder,
                });
            }
            flags.sort();
            AnalyzedObject {
                id: ObjectId(i as u32),
                region: m.region,
                score: m.score,
                geometry: m.geometry,
                features: m.features,
                prediction,
                placement,
                flags,
            }
        })
        .collect();
    let objects = flag_homolog_differences(objects, params.homolog_threshold);
    if objects.is_empty() && !warnings.iter().any(|w| w.contains("no chromosomes")) {
        warnings.push("no chromosomes found in the image".into());
    }
    MetaphaseAnalysis {
        width,
        height,
        modality,
        objects,
        rejected: segmentation_rejected,
        karyotype: NumericalKaryotype::from_counts(&counts, unassigned),
        warnings,
        segmenter: models.0,
        classifier: models.1,
    }
}

/// Flags both members of every homolog pair whose banding profiles differ by
/// more than `threshold` (pairs as the karyogram shows them: the two first
/// objects of each class in [`MetaphaseAnalysis::arrangement`] order).
/// Profiles come from the straightened G-band-look crop turned p arm up.
fn flag_homolog_differences(
    mut objects: Vec<AnalyzedObject>,
    threshold: f64,
) -> Vec<AnalyzedObject> {
    let profiles: Vec<Vec<f64>> = objects
        .iter()
        .map(|o| {
            if o.class().is_some() {
                homolog::banding_profile(&o.upright_crop(Modality::Brightfield))
            } else {
                Vec::new()
            }
        })
        .collect();
    // Slots in arrangement order: regular places first, then by length.
    let mut order: Vec<usize> = (0..objects.len())
        .filter(|&i| objects[i].class().is_some())
        .collect();
    order.sort_by(|&x, &y| {
        let (a, b) = (&objects[x], &objects[y]);
        let surplus = |o: &AnalyzedObject| matches!(o.placement, Placement::Surplus(_));
        surplus(a)
            .cmp(&surplus(b))
            .then(b.geometry.length_px.total_cmp(&a.geometry.length_px))
            .then(a.id.cmp(&b.id))
    });
    let members: Vec<homolog::HomologMember<'_>> = order
        .iter()
        .enumerate()
        .filter_map(|(slot, &i)| {
            let o = &objects[i];
            Some(homolog::HomologMember {
                id: o.id,
                class: o.class()?,
                slot: slot as u32,
                profile: &profiles[i],
            })
        })
        .collect();
    // The score does not depend on the band level; naming is not needed here.
    let flagged: Vec<ObjectId> = homolog::rank_pairs(&members, BandLevel::B400)
        .into_iter()
        .filter(|p| p.score > threshold)
        .flat_map(|p| [p.a, p.b])
        .collect();
    for o in &mut objects {
        if flagged.contains(&o.id) {
            o.flags.push(ObjectFlag::HomologDiffers);
            o.flags.sort();
        }
    }
    objects
}
