//! Corrections to one cell, as data: every edit a technologist makes is an
//! [`Edit`] applied to a small [`CellState`], and every edit has an exact
//! inverse. The case store records them (one transaction each); undo and redo
//! are edits too.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::domain::analysis::{AnalysisParams, MetaphaseAnalysis, ObjectFlag};
use crate::domain::chromosome::{ChromosomeClass, Polarity};
use crate::domain::classify::Prediction;
use crate::domain::ids::{EditId, ObjectId};
use crate::domain::ports::ModelInfo;
use crate::domain::rng::Rng;

/// Which segmenter and classifier produced an object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Producer {
    pub segmenter: ModelInfo,
    pub classifier: ModelInfo,
}

/// One chromosome object of a cell as the reviewer sees and edits it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellObject {
    pub id: ObjectId,
    /// The class it is placed in now (`None`: unassigned).
    pub class: Option<ChromosomeClass>,
    /// The class the classifier proposed.
    pub proposed: Option<ChromosomeClass>,
    /// Position within its class (0 = first homologue, 1 = second, 2.. surplus).
    pub slot: u32,
    pub polarity: Polarity,
    /// The polarity the analysis proposed (`None` in cells stored before it
    /// was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposed_polarity: Option<Polarity>,
    /// Extra rotation in the karyogram, degrees in 0..360.
    pub rotation_deg: i32,
    /// Image pixels `(x, y)`.
    pub pixels: BTreeSet<(u32, u32)>,
    /// Set aside by the reviewer, with the reason.
    pub rejected: Option<String>,
    /// A flagged object the reviewer explicitly accepted as it is.
    pub accepted: bool,
    pub flags: Vec<ObjectFlag>,
    /// Class probabilities, indexed by class.
    pub probabilities: Vec<f64>,
    pub producer: Producer,
}

impl CellObject {
    /// An object of `pixels` as a reviewer or a test starts it: unassigned,
    /// p arm up, unrotated, unflagged, no probabilities yet. Set the rest
    /// with struct update syntax (`CellObject { class, ..CellObject::new(..) }`).
    pub fn new(id: ObjectId, pixels: BTreeSet<(u32, u32)>, producer: Producer) -> Self {
        Self {
            id,
            class: None,
            proposed: None,
            slot: 0,
            polarity: Polarity::PUp,
            proposed_polarity: None,
            rotation_deg: 0,
            pixels,
            rejected: None,
            accepted: false,
            flags: Vec::new(),
            probabilities: Vec::new(),
            producer,
        }
    }

    /// Outline of the current mask in image coordinates (pixel corners,
    /// simplified), derived so it can never go stale after a mask edit.
    pub fn outline(&self) -> Vec<(f64, f64)> {
        use crate::domain::geometry::contour::{simplify_closed, trace_outline};
        let pixels: Vec<(usize, usize)> = self
            .pixels
            .iter()
            .map(|&(x, y)| (x as usize, y as usize))
            .collect();
        simplify_closed(
            &trace_outline(&crate::domain::raster::Region::from_pixels(&pixels)),
            0.5,
        )
    }

    /// True when the object needs a decision before sign-off: it is flagged
    /// for class entropy, not rejected, not accepted and not reclassified.
    pub fn entropy_unresolved(&self) -> bool {
        self.open_flags().contains(&ObjectFlag::HighEntropy)
    }

    /// The review flags still waiting for a decision. A flag is resolved by
    /// an explicit accept, by rejecting the object, or by the correction it
    /// asks for: a class flag (entropy, homolog difference) by a new class,
    /// a polarity flag by a flip.
    pub fn open_flags(&self) -> Vec<ObjectFlag> {
        if self.rejected.is_some() || self.accepted {
            return Vec::new();
        }
        let reclassified = self.class != self.proposed;
        let flipped = self.proposed_polarity.is_some_and(|p| p != self.polarity);
        self.flags
            .iter()
            .copied()
            .filter(|f| match f {
                ObjectFlag::HighEntropy | ObjectFlag::HomologDiffers => !reclassified,
                ObjectFlag::PolarityUncertain => !flipped,
                _ => false,
            })
            .collect()
    }
}

/// The flags that ask the reviewer for a decision before sign-off.
pub const REVIEW_FLAGS: [ObjectFlag; 3] = [
    ObjectFlag::HighEntropy,
    ObjectFlag::PolarityUncertain,
    ObjectFlag::HomologDiffers,
];

/// The flags a classification of the object on its own decides (the
/// others come from segmentation, the whole-cell placement or the homolog
/// comparison and are kept when an object is classified again).
const CLASSIFIER_FLAGS: [ObjectFlag; 2] = [ObjectFlag::HighEntropy, ObjectFlag::PolarityUncertain];

/// What the classifier says about an object and where that puts it: the
/// fields a fresh classification replaces when the object's mask changes
/// (a cut, a merge, a mask stroke). [`Edit::Reassess`] records one before
/// and after, so that the change is exactly invertible.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub class: Option<ChromosomeClass>,
    pub proposed: Option<ChromosomeClass>,
    pub slot: u32,
    pub polarity: Polarity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposed_polarity: Option<Polarity>,
    pub accepted: bool,
    pub flags: Vec<ObjectFlag>,
    pub probabilities: Vec<f64>,
    /// The classifier that gave `probabilities`.
    pub classifier: ModelInfo,
}

impl Assessment {
    /// The assessment `o` carries now.
    pub fn of(o: &CellObject) -> Self {
        Self {
            class: o.class,
            proposed: o.proposed,
            slot: o.slot,
            polarity: o.polarity,
            proposed_polarity: o.proposed_polarity,
            accepted: o.accepted,
            flags: o.flags.clone(),
            probabilities: o.probabilities.clone(),
            classifier: o.producer.classifier.clone(),
        }
    }

    /// Gives `o` this assessment (its mask, id, rotation and rejection
    /// stay).
    pub fn set_on(&self, o: &mut CellObject) {
        o.class = self.class;
        o.proposed = self.proposed;
        o.slot = self.slot;
        o.polarity = self.polarity;
        o.proposed_polarity = self.proposed_polarity;
        o.accepted = self.accepted;
        o.flags.clone_from(&self.flags);
        o.probabilities.clone_from(&self.probabilities);
        o.producer.classifier = self.classifier.clone();
    }

    /// A fresh assessment of an object of `state` from its classification
    /// on its own (`prediction`; `None`: the piece could not be measured
    /// and goes unassigned). `previous` is the object as it was before its
    /// mask changed (`None` for a new piece); `classifier` made `prediction`.
    ///
    /// - Class: the top class of the prediction, unless the reviewer had set
    ///   the class by hand (`class != proposed`): a manual class is kept and
    ///   only the proposal is renewed. The same holds for a manual flip
    ///   (`polarity != proposed_polarity`).
    /// - Flags: entropy and polarity flags from the prediction with
    ///   `params`' thresholds; the other flags of `previous` are kept.
    /// - An explicit accept is withdrawn: it was given to another mask.
    /// - Slot: kept while the class stays, else after the last member of
    ///   the new class.
    pub fn fresh(
        prediction: Option<&Prediction>,
        previous: Option<&CellObject>,
        state: &CellState,
        params: &AnalysisParams,
        classifier: &ModelInfo,
    ) -> Self {
        let manual_class = previous.filter(|p| p.class != p.proposed).map(|p| p.class);
        let manual_polarity = previous
            .filter(|p| p.proposed_polarity.is_some_and(|q| q != p.polarity))
            .map(|p| p.polarity);
        let proposed = prediction.map(Prediction::top_class);
        let class = manual_class.unwrap_or(proposed);
        let proposed_polarity = match (prediction, previous) {
            (Some(p), _) => Some(p.polarity),
            (None, Some(p)) => p.proposed_polarity,
            (None, None) => Some(Polarity::PUp),
        };
        let polarity = manual_polarity
            .or(proposed_polarity)
            .or(previous.map(|p| p.polarity))
            .unwrap_or(Polarity::PUp);
        let mut flags: Vec<ObjectFlag> = previous
            .map(|p| {
                p.flags
                    .iter()
                    .copied()
                    .filter(|f| !CLASSIFIER_FLAGS.contains(f))
                    .collect()
            })
            .unwrap_or_default();
        if let Some(p) = prediction {
            if p.entropy() > params.entropy_threshold {
                flags.push(ObjectFlag::HighEntropy);
            }
            if p.polarity_confidence < params.polarity_confidence_threshold {
                flags.push(ObjectFlag::PolarityUncertain);
            }
        }
        flags.sort();
        flags.dedup();
        let slot = match previous {
            Some(p) if p.class == class => p.slot,
            _ => class.map_or(0, |c| {
                state
                    .active()
                    .filter(|o| o.class == Some(c) && previous.is_none_or(|p| p.id != o.id))
                    .map(|o| o.slot + 1)
                    .max()
                    .unwrap_or(0)
            }),
        };
        let classifier = match (prediction, previous) {
            (None, Some(p)) => p.producer.classifier.clone(),
            _ => classifier.clone(),
        };
        Self {
            class,
            proposed,
            slot,
            polarity,
            proposed_polarity,
            accepted: false,
            flags,
            probabilities: prediction.map_or_else(Vec::new, |p| p.probabilities.to_vec()),
            classifier,
        }
    }
}

/// The editable state of one cell (or, with no objects, of a case-level
/// karyotype).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CellState {
    pub objects: BTreeMap<ObjectId, CellObject>,
    pub karyotype: String,
}

impl CellState {
    /// The state of a freshly analysed cell.
    pub fn from_analysis(analysis: &MetaphaseAnalysis) -> Self {
        let producer = Producer {
            segmenter: analysis.segmenter.clone(),
            classifier: analysis.classifier.clone(),
        };
        let mut slots: BTreeMap<ChromosomeClass, u32> = BTreeMap::new();
        let mut slot_of = BTreeMap::new();
        for (class, members) in analysis.arrangement() {
            for id in members {
                let s = slots.entry(class).or_insert(0);
                slot_of.insert(id, *s);
                *s += 1;
            }
        }
        let objects = analysis
            .objects
            .iter()
            .map(|o| {
                let pixels = o
                    .region
                    .pixels()
                    .into_iter()
                    .map(|(x, y)| (x as u32, y as u32))
                    .collect();
                let object = CellObject {
                    id: o.id,
                    class: o.class(),
                    proposed: o.class(),
                    slot: slot_of.get(&o.id).copied().unwrap_or(0),
                    polarity: o.prediction.polarity,
                    proposed_polarity: Some(o.prediction.polarity),
                    rotation_deg: 0,
                    pixels,
                    rejected: None,
                    accepted: false,
                    flags: o.flags.clone(),
                    probabilities: o.prediction.probabilities.to_vec(),
                    producer: producer.clone(),
                };
                (o.id, object)
            })
            .collect();
        Self {
            objects,
            karyotype: analysis.karyotype.to_iscn(),
        }
    }

    /// Objects not rejected.
    pub fn active(&self) -> impl Iterator<Item = &CellObject> {
        self.objects.values().filter(|o| o.rejected.is_none())
    }

    /// The next unused object id.
    pub fn next_object_id(&self) -> ObjectId {
        ObjectId(self.objects.keys().next_back().map_or(0, |k| k.0 + 1))
    }

    fn object_mut(&mut self, id: ObjectId) -> Result<&mut CellObject, EditError> {
        self.objects.get_mut(&id).ok_or(EditError::NoSuchObject(id))
    }
}

/// One correction. Each has an exact inverse ([`Edit::invert`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Edit {
    /// Place an object in another class (`None`: unassigned).
    Reclassify {
        object: ObjectId,
        from: Option<ChromosomeClass>,
        to: Option<ChromosomeClass>,
    },
    /// Move an object to another position within its class.
    Move {
        object: ObjectId,
        from: u32,
        to: u32,
    },
    /// Turn the object end over end (p arm up <-> down).
    Flip { object: ObjectId },
    /// Rotate the object in the karyogram.
    Rotate { object: ObjectId, degrees: i32 },
    /// Cut pixels out of `object` into a new object.
    Split { object: ObjectId, new: CellObject },
    /// Merge `absorbed` (kept whole here, so that the merge can be undone)
    /// into `into`.
    Merge {
        into: ObjectId,
        absorbed: CellObject,
    },
    /// A new object drawn by the reviewer (its pixels belong to no other
    /// object).
    Create { new: CellObject },
    /// Remove an object entirely (the inverse of `Create`; kept whole so
    /// that it can be undone).
    Delete { removed: CellObject },
    /// A fresh classification of an object whose mask changed, made in
    /// the same batch as the cut, merge or stroke: what it replaced and
    /// what it set.
    Reassess {
        object: ObjectId,
        before: Assessment,
        after: Assessment,
    },
    /// A mask stroke: the pixels it added and removed (a sparse diff).
    MaskStroke {
        object: ObjectId,
        added: Vec<(u32, u32)>,
        removed: Vec<(u32, u32)>,
    },
    /// Set an object aside.
    Reject { object: ObjectId, reason: String },
    /// Bring a rejected object back; `reason` is the one it was rejected with.
    Restore { object: ObjectId, reason: String },
    /// Accept (or withdraw acceptance of) a flagged object as it is.
    Accept { object: ObjectId, accepted: bool },
    /// Replace the karyotype text.
    KaryotypeText { before: String, after: String },
    /// Several edits made as one (a drop that relabels and places a
    /// chromosome, a swap of two): all apply or none.
    Batch { edits: Vec<Edit> },
    /// Undo of edit `edit`: applies `inverse`.
    Undo { edit: EditId, inverse: Box<Edit> },
    /// Redo of edit `edit` (after its undo): applies `edit_again`.
    Redo { edit: EditId, edit_again: Box<Edit> },
}

/// An edit that does not fit the state it is applied to; the state is left
/// unchanged.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EditError {
    #[error("object {0} does not exist")]
    NoSuchObject(ObjectId),
    #[error("object {0} already exists")]
    ObjectExists(ObjectId),
    #[error("the edit is based on a different state of object {0}")]
    Mismatch(ObjectId),
    #[error("the karyotype text has changed since the edit was made")]
    KaryotypeMismatch,
    #[error("the mask edit of object {0} does not fit its pixels")]
    Pixels(ObjectId),
}

impl Edit {
    /// Short name of the kind of edit.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Reclassify { .. } => "reclassify",
            Self::Move { .. } => "move",
            Self::Flip { .. } => "flip",
            Self::Rotate { .. } => "rotate",
            Self::Split { .. } => "split",
            Self::Merge { .. } => "merge",
            Self::Create { .. } => "create",
            Self::Delete { .. } => "delete",
            Self::MaskStroke { .. } => "mask_stroke",
            Self::Reassess { .. } => "reassess",
            Self::Reject { .. } => "reject",
            Self::Restore { .. } => "restore",
            Self::Accept { .. } => "accept",
            Self::KaryotypeText { .. } => "karyotype_text",
            Self::Batch { .. } => "batch",
            Self::Undo { .. } => "undo",
            Self::Redo { .. } => "redo",
        }
    }

    /// The objects whose stored state this edit changes (created, changed
    /// or removed).
    pub fn touched(&self) -> Vec<ObjectId> {
        match self {
            Self::Reclassify { object, .. }
            | Self::Move { object, .. }
            | Self::Flip { object }
            | Self::Rotate { object, .. }
            | Self::MaskStroke { object, .. }
            | Self::Reassess { object, .. }
            | Self::Reject { object, .. }
            | Self::Restore { object, .. }
            | Self::Accept { object, .. } => vec![*object],
            Self::Split { object, new } => vec![*object, new.id],
            Self::Merge { into, absorbed } => vec![*into, absorbed.id],
            Self::Create { new: o } | Self::Delete { removed: o } => vec![o.id],
            Self::KaryotypeText { .. } => Vec::new(),
            Self::Batch { edits } => {
                let mut ids: Vec<ObjectId> = edits.iter().flat_map(Edit::touched).collect();
                ids.sort_unstable();
                ids.dedup();
                ids
            }
            Self::Undo { inverse: e, .. } | Self::Redo { edit_again: e, .. } => e.touched(),
        }
    }

    /// The edit that undoes this one.
    pub fn invert(&self) -> Edit {
        match self.clone() {
            Self::Reclassify { object, from, to } => Self::Reclassify {
                object,
                from: to,
                to: from,
            },
            Self::Move { object, from, to } => Self::Move {
                object,
                from: to,
                to: from,
            },
            Self::Flip { object } => Self::Flip { object },
            Self::Rotate { object, degrees } => Self::Rotate {
                object,
                degrees: -degrees,
            },
            Self::Split { object, new } => Self::Merge {
                into: object,
                absorbed: new,
            },
            Self::Merge { into, absorbed } => Self::Split {
                object: into,
                new: absorbed,
            },
            Self::Create { new } => Self::Delete { removed: new },
            Self::Delete { removed } => Self::Create { new: removed },
            Self::MaskStroke {
                object,
                added,
                removed,
            } => Self::MaskStroke {
                object,
                added: removed,
                removed: added,
            },
            Self::Reassess {
                object,
                before,
                after,
            } => Self::Reassess {
                object,
                before: after,
                after: before,
            },
            Self::Reject { object, reason } => Self::Restore { object, reason },
            Self::Restore { object, reason } => Self::Reject { object, reason },
            Self::Accept { object, accepted } => Self::Accept {
                object,
                accepted: !accepted,
            },
            Self::KaryotypeText { before, after } => Self::KaryotypeText {
                before: after,
                after: before,
            },
            Self::Batch { edits } => Self::Batch {
                edits: edits.iter().rev().map(Edit::invert).collect(),
            },
            Self::Undo { edit, inverse } => Self::Redo {
                edit,
                edit_again: Box::new(inverse.invert()),
            },
            Self::Redo { edit, edit_again } => Self::Undo {
                edit,
                inverse: Box::new(edit_again.invert()),
            },
        }
    }

    /// Applies the edit. On error the state is unchanged.
    ///
    /// # Errors
    /// When the edit was made on a different state (stale or invalid).
    pub fn apply(&self, state: &mut CellState) -> Result<(), EditError> {
        match self {
            Self::Reclassify { object, from, to } => {
                let o = state.object_mut(*object)?;
                if o.class != *from {
                    return Err(EditError::Mismatch(*object));
                }
                o.class = *to;
            }
            Self::Move { object, from, to } => {
                let o = state.object_mut(*object)?;
                if o.slot != *from {
                    return Err(EditError::Mismatch(*object));
                }
                o.slot = *to;
            }
            Self::Flip { object } => {
                let o = state.object_mut(*object)?;
                o.polarity = o.polarity.flipped();
            }
            Self::Rotate { object, degrees } => {
                let o = state.object_mut(*object)?;
                o.rotation_deg = (o.rotation_deg + degrees).rem_euclid(360);
            }
            Self::Split { object, new } => {
                if state.objects.contains_key(&new.id) {
                    return Err(EditError::ObjectExists(new.id));
                }
                let o = state.object_mut(*object)?;
                if !new.pixels.is_subset(&o.pixels) {
                    return Err(EditError::Pixels(*object));
                }
                o.pixels = o.pixels.difference(&new.pixels).copied().collect();
                state.objects.insert(new.id, new.clone());
            }
            Self::Merge { into, absorbed } => {
                if state.objects.get(&absorbed.id) != Some(absorbed) || *into == absorbed.id {
                    return Err(EditError::Mismatch(absorbed.id));
                }
                let o = state.object_mut(*into)?;
                if !o.pixels.is_disjoint(&absorbed.pixels) {
                    return Err(EditError::Pixels(*into));
                }
                o.pixels.extend(absorbed.pixels.iter().copied());
                state.objects.remove(&absorbed.id);
            }
            Self::Create { new } => {
                if state.objects.contains_key(&new.id) {
                    return Err(EditError::ObjectExists(new.id));
                }
                if new.pixels.is_empty()
                    || state
                        .objects
                        .values()
                        .any(|o| !o.pixels.is_disjoint(&new.pixels))
                {
                    return Err(EditError::Pixels(new.id));
                }
                state.objects.insert(new.id, new.clone());
            }
            Self::Delete { removed } => {
                if state.objects.get(&removed.id) != Some(removed) {
                    return Err(EditError::Mismatch(removed.id));
                }
                state.objects.remove(&removed.id);
            }
            Self::MaskStroke {
                object,
                added,
                removed,
            } => {
                let o = state.object_mut(*object)?;
                let added_set: BTreeSet<_> = added.iter().copied().collect();
                let removed_set: BTreeSet<_> = removed.iter().copied().collect();
                let fits = added_set.len() == added.len()
                    && removed_set.len() == removed.len()
                    && added_set.is_disjoint(&o.pixels)
                    && removed_set.is_subset(&o.pixels);
                if !fits {
                    return Err(EditError::Pixels(*object));
                }
                for p in removed {
                    o.pixels.remove(p);
                }
                o.pixels.extend(added_set);
            }
            Self::Reassess {
                object,
                before,
                after,
            } => {
                let o = state.object_mut(*object)?;
                if Assessment::of(o) != *before {
                    return Err(EditError::Mismatch(*object));
                }
                after.set_on(o);
            }
            Self::Reject { object, reason } => {
                let o = state.object_mut(*object)?;
                if o.rejected.is_some() {
                    return Err(EditError::Mismatch(*object));
                }
                o.rejected = Some(reason.clone());
            }
            Self::Restore { object, reason } => {
                let o = state.object_mut(*object)?;
                if o.rejected.as_ref() != Some(reason) {
                    return Err(EditError::Mismatch(*object));
                }
                o.rejected = None;
            }
            Self::Accept { object, accepted } => {
                let o = state.object_mut(*object)?;
                if o.accepted == *accepted {
                    return Err(EditError::Mismatch(*object));
                }
                o.accepted = *accepted;
            }
            Self::KaryotypeText { before, after } => {
                if state.karyotype != *before {
                    return Err(EditError::KaryotypeMismatch);
                }
                state.karyotype = after.clone();
            }
            Self::Batch { edits } => {
                // Apply to a copy of the objects touched, so that a failing
                // member leaves the state exactly as it was.
                let touched = self.touched();
                let saved: Vec<(ObjectId, Option<CellObject>)> = touched
                    .iter()
                    .map(|id| (*id, state.objects.get(id).cloned()))
                    .collect();
                let karyotype = state.karyotype.clone();
                for e in edits {
                    if let Err(err) = e.apply(state) {
                        for (id, o) in saved {
                            match o {
                                Some(o) => state.objects.insert(id, o),
                                None => state.objects.remove(&id),
                            };
                        }
                        state.karyotype = karyotype;
                        return Err(err);
                    }
                }
            }
            Self::Undo { inverse: e, .. } | Self::Redo { edit_again: e, .. } => e.apply(state)?,
        }
        Ok(())
    }

    /// A random edit that fits `state` (for property and crash tests).
    pub fn random(rng: &mut Rng, state: &CellState) -> Edit {
        let ids: Vec<ObjectId> = state.objects.keys().copied().collect();
        if ids.is_empty() {
            return Self::KaryotypeText {
                before: state.karyotype.clone(),
                after: format!("46,XX[{}]", rng.next_u64() % 100),
            };
        }
        let pick = |rng: &mut Rng| ids[(rng.next_u64() % ids.len() as u64) as usize];
        let object = pick(rng);
        let Some(o) = state.objects.get(&object) else {
            return Self::Flip { object };
        };
        match rng.next_u64() % 13 {
            0 => Self::Reclassify {
                object,
                from: o.class,
                to: ChromosomeClass::from_index((rng.next_u64() % 25) as usize),
            },
            1 => Self::Move {
                object,
                from: o.slot,
                to: (rng.next_u64() % 3) as u32,
            },
            2 => Self::Flip { object },
            3 => Self::Rotate {
                object,
                degrees: (rng.next_u64() % 720) as i32 - 360,
            },
            4 if o.pixels.len() >= 2 => {
                let mut new = o.clone();
                new.id = state.next_object_id();
                new.pixels = o.pixels.iter().copied().take(o.pixels.len() / 2).collect();
                Self::Split { object, new }
            }
            5 if ids.len() >= 2 => {
                let other = ids.iter().copied().find(|&i| i != object);
                match other.and_then(|i| state.objects.get(&i)) {
                    Some(absorbed) if absorbed.pixels.is_disjoint(&o.pixels) => Self::Merge {
                        into: object,
                        absorbed: absorbed.clone(),
                    },
                    _ => Self::Flip { object },
                }
            }
            6 => {
                let removed: Vec<(u32, u32)> = o.pixels.iter().copied().take(1).collect();
                let mut added = Vec::new();
                for _ in 0..3 {
                    let p = (
                        1000 + (rng.next_u64() % 500) as u32,
                        (rng.next_u64() % 500) as u32,
                    );
                    if !o.pixels.contains(&p) && !added.contains(&p) {
                        added.push(p);
                    }
                }
                Self::MaskStroke {
                    object,
                    added,
                    removed,
                }
            }
            7 => match &o.rejected {
                Some(reason) => Self::Restore {
                    object,
                    reason: reason.clone(),
                },
                None => Self::Reject {
                    object,
                    reason: "debris".into(),
                },
            },
            8 => Self::Accept {
                object,
                accepted: !o.accepted,
            },
            10 => Self::Delete { removed: o.clone() },
            11 => {
                let mut new = o.clone();
                new.id = state.next_object_id();
                let x = 5000 + (rng.next_u64() % 1000) as u32;
                new.pixels = [(x, 1), (x, 2)].into_iter().collect();
                if state
                    .objects
                    .values()
                    .any(|o| !o.pixels.is_disjoint(&new.pixels))
                {
                    Self::Flip { object }
                } else {
                    Self::Create { new }
                }
            }
            9 => Self::KaryotypeText {
                before: state.karyotype.clone(),
                after: format!("46,XY,+{}", rng.next_u64() % 22 + 1),
            },
            12 => {
                let before = Assessment::of(o);
                let mut after = before.clone();
                after.class = ChromosomeClass::from_index((rng.next_u64() % 25) as usize);
                after.proposed = after.class;
                after.slot = (rng.next_u64() % 3) as u32;
                after.polarity = after.polarity.flipped();
                after.accepted = !after.accepted;
                after.probabilities = (0..3).map(|_| rng.f64()).collect();
                after.flags = vec![ObjectFlag::PolarityUncertain];
                after.classifier = ModelInfo::new("reclassified", "2");
                Self::Reassess {
                    object,
                    before,
                    after,
                }
            }
            _ => Self::Rotate {
                object,
                degrees: 90,
            },
        }
    }
}

/// Edits with the ids they were stored under, oldest first.
pub type History = Vec<(EditId, Edit)>;

/// The undo and redo stacks implied by a history of edits (oldest first):
/// each entry is the original edit's id and the edit as it was made.
pub fn undo_redo_stacks(history: &[(EditId, Edit)]) -> (History, History) {
    let mut done: Vec<(EditId, Edit)> = Vec::new();
    let mut undone: Vec<(EditId, Edit)> = Vec::new();
    for (id, edit) in history {
        match edit {
            Edit::Undo { .. } => {
                if let Some(top) = done.pop() {
                    undone.push(top);
                }
            }
            Edit::Redo { .. } => {
                if let Some(top) = undone.pop() {
                    done.push(top);
                }
            }
            other => {
                done.push((*id, other.clone()));
                undone.clear();
            }
        }
    }
    (done, undone)
}

/// The edit that undoes the latest effective edit of `history`.
pub fn next_undo(history: &[(EditId, Edit)]) -> Option<Edit> {
    let (done, _) = undo_redo_stacks(history);
    done.last().map(|(id, e)| Edit::Undo {
        edit: *id,
        inverse: Box::new(e.invert()),
    })
}

/// The edit that redoes the latest undone edit of `history`.
pub fn next_redo(history: &[(EditId, Edit)]) -> Option<Edit> {
    let (_, undone) = undo_redo_stacks(history);
    undone.last().map(|(id, e)| Edit::Redo {
        edit: *id,
        edit_again: Box::new(e.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample_state(rng: &mut Rng) -> CellState {
        let mut state = CellState {
            karyotype: "46,XX".into(),
            ..CellState::default()
        };
        for i in 0..6u32 {
            let pixels = (0..(rng.next_u64() % 20 + 1) as u32)
                .map(|k| (i * 100 + k, k))
                .collect();
            state.objects.insert(
                ObjectId(i),
                CellObject {
                    class: ChromosomeClass::from_index(i as usize),
                    proposed: ChromosomeClass::from_index(i as usize),
                    flags: vec![ObjectFlag::HighEntropy],
                    probabilities: vec![0.5; 2],
                    ..CellObject::new(
                        ObjectId(i),
                        pixels,
                        Producer {
                            segmenter: ModelInfo::new("s", "1"),
                            classifier: ModelInfo::new("c", "1"),
                        },
                    )
                },
            );
        }
        state
    }

    #[test]
    fn the_outline_follows_mask_strokes() {
        let mut rng = Rng::new(3);
        let mut state = sample_state(&mut rng);
        let id = ObjectId(0);
        if let Some(o) = state.objects.get_mut(&id) {
            o.pixels = (0..3u32)
                .flat_map(|y| (0..3u32).map(move |x| (x, y)))
                .collect();
        }
        let area = |s: &CellState| {
            crate::domain::geometry::contour::polygon_area(&s.objects[&id].outline())
        };
        assert_eq!(area(&state), 9.0);
        let stroke = Edit::MaskStroke {
            object: id,
            added: vec![(3, 0), (3, 1), (3, 2)],
            removed: vec![(0, 0)],
        };
        stroke.apply(&mut state).unwrap();
        assert_eq!(area(&state), 11.0);
        stroke.invert().apply(&mut state).unwrap();
        assert_eq!(area(&state), 9.0);
    }

    #[test]
    fn invert_after_apply_restores_the_state() {
        let mut rng = Rng::new(7);
        for round in 0..300 {
            let mut state = sample_state(&mut rng);
            // Walk a random history so the states are varied.
            for step in 0..20 {
                let edit = Edit::random(&mut rng, &state);
                let before = state.clone();
                edit.apply(&mut state)
                    .unwrap_or_else(|e| panic!("round {round} step {step}: {edit:?}: {e}"));
                let mut undone = state.clone();
                edit.invert()
                    .apply(&mut undone)
                    .unwrap_or_else(|e| panic!("invert of {edit:?}: {e}"));
                assert_eq!(undone, before, "round {round} step {step}: {edit:?}");
                assert_eq!(edit.invert().invert(), edit);
                // Undo and redo are edits too.
                let undo = Edit::Undo {
                    edit: EditId(step),
                    inverse: Box::new(edit.invert()),
                };
                let mut u = state.clone();
                undo.apply(&mut u).unwrap_or_else(|e| panic!("undo: {e}"));
                assert_eq!(u, before);
                undo.invert()
                    .apply(&mut u)
                    .unwrap_or_else(|e| panic!("redo: {e}"));
                assert_eq!(u, state);
            }
        }
    }

    #[test]
    fn undo_and_redo_walk_the_history() {
        let mut rng = Rng::new(3);
        let start = sample_state(&mut rng);
        let mut state = start.clone();
        let mut history = Vec::new();
        for k in 0..5 {
            let e = Edit::random(&mut rng, &state);
            e.apply(&mut state).unwrap_or_else(|err| panic!("{err}"));
            history.push((EditId(k), e));
        }
        let end = state.clone();
        for k in 5..10 {
            let undo = next_undo(&history).unwrap_or_else(|| panic!("nothing to undo"));
            undo.apply(&mut state).unwrap_or_else(|err| panic!("{err}"));
            history.push((EditId(k), undo));
        }
        assert_eq!(state, start);
        assert!(next_undo(&history).is_none());
        for k in 10..15 {
            let redo = next_redo(&history).unwrap_or_else(|| panic!("nothing to redo"));
            redo.apply(&mut state).unwrap_or_else(|err| panic!("{err}"));
            history.push((EditId(k), redo));
        }
        assert_eq!(state, end);
        assert!(next_redo(&history).is_none());
    }

    #[test]
    fn a_stale_edit_is_refused_and_changes_nothing() {
        let mut rng = Rng::new(1);
        let mut state = sample_state(&mut rng);
        let before = state.clone();
        let edit = Edit::Reclassify {
            object: ObjectId(0),
            from: ChromosomeClass::from_index(5),
            to: None,
        };
        assert_eq!(
            edit.apply(&mut state),
            Err(EditError::Mismatch(ObjectId(0)))
        );
        assert_eq!(state, before);
        let missing = Edit::Flip {
            object: ObjectId(99),
        };
        assert!(missing.apply(&mut state).is_err());
        let serialized = serde_json::to_string(&edit).unwrap_or_default();
        assert!(serialized.contains("\"kind\":\"reclassify\""));
    }

    #[test]
    fn a_batch_applies_all_or_nothing_and_inverts_in_reverse() {
        let mut rng = Rng::new(3);
        let state = sample_state(&mut rng);
        let ids: Vec<ObjectId> = state.objects.keys().copied().collect();
        let (a, b) = (&state.objects[&ids[0]], &state.objects[&ids[1]]);
        let swap = Edit::Batch {
            edits: vec![
                Edit::Reclassify {
                    object: a.id,
                    from: a.class,
                    to: b.class,
                },
                Edit::Reclassify {
                    object: b.id,
                    from: b.class,
                    to: a.class,
                },
                Edit::Move {
                    object: a.id,
                    from: a.slot,
                    to: b.slot + 7,
                },
            ],
        };
        let mut s1 = state.clone();
        swap.apply(&mut s1).unwrap();
        assert_eq!(s1.objects[&a.id].class, b.class);
        assert_eq!(s1.objects[&b.id].class, a.class);
        assert_eq!(swap.touched(), {
            let mut t = vec![a.id, b.id];
            t.sort_unstable();
            t
        });
        swap.invert().apply(&mut s1).unwrap();
        assert_eq!(s1, state);
        // A failing member leaves the state untouched.
        let bad = Edit::Batch {
            edits: vec![
                Edit::Reclassify {
                    object: a.id,
                    from: a.class,
                    to: None,
                },
                Edit::Flip {
                    object: ObjectId(999),
                },
            ],
        };
        let mut s2 = state.clone();
        assert_eq!(
            bad.apply(&mut s2),
            Err(EditError::NoSuchObject(ObjectId(999)))
        );
        assert_eq!(s2, state);
    }

    fn prediction(top: usize, polarity: Polarity, confidence: f64) -> Prediction {
        let mut probabilities = [0.001; crate::domain::chromosome::CLASS_COUNT];
        probabilities[top] = 1.0 - 0.001 * 23.0;
        Prediction {
            probabilities,
            polarity,
            polarity_confidence: confidence,
            embedding: Vec::new(),
        }
    }

    #[test]
    fn a_fresh_assessment_renews_the_proposal_and_keeps_manual_decisions() {
        let mut rng = Rng::new(11);
        let mut state = sample_state(&mut rng);
        let params = AnalysisParams::default();
        let model = ModelInfo::new("cnn", "7");
        let id = ObjectId(2);
        let old = state.objects[&id].clone();
        // Automatic class: the new top class, placed after the members of
        // that class; classifier flags renewed, other flags kept, the
        // accept withdrawn.
        if let Some(o) = state.objects.get_mut(&id) {
            o.flags = vec![ObjectFlag::HighEntropy, ObjectFlag::TouchesBorder];
            o.accepted = true;
            o.proposed_polarity = Some(o.polarity);
        }
        let previous = state.objects[&id].clone();
        let p = prediction(4, Polarity::PDown, 0.6);
        let a = Assessment::fresh(Some(&p), Some(&previous), &state, &params, &model);
        assert_eq!(a.class, ChromosomeClass::from_index(4));
        assert_eq!(a.proposed, a.class);
        assert_eq!(a.slot, state.objects[&ObjectId(4)].slot + 1);
        assert_eq!(a.polarity, Polarity::PDown);
        assert_eq!(a.proposed_polarity, Some(Polarity::PDown));
        assert_eq!(
            a.flags,
            vec![ObjectFlag::PolarityUncertain, ObjectFlag::TouchesBorder]
        );
        assert!(!a.accepted);
        assert_eq!(a.probabilities, p.probabilities.to_vec());
        assert_eq!(a.classifier, model);

        // A class and a flip set by hand stay; only the proposals change.
        if let Some(o) = state.objects.get_mut(&id) {
            o.class = ChromosomeClass::from_index(20);
            o.polarity = Polarity::PDown;
            o.proposed_polarity = Some(Polarity::PUp);
        }
        let manual = state.objects[&id].clone();
        let a = Assessment::fresh(
            Some(&prediction(4, Polarity::PUp, 0.99)),
            Some(&manual),
            &state,
            &params,
            &model,
        );
        assert_eq!(a.class, ChromosomeClass::from_index(20));
        assert_eq!(a.slot, manual.slot);
        assert_eq!(a.proposed, ChromosomeClass::from_index(4));
        assert_eq!(a.polarity, Polarity::PDown);
        assert_eq!(a.proposed_polarity, Some(Polarity::PUp));

        // Unmeasurable: unassigned, no probabilities, the old classifier.
        let a = Assessment::fresh(None, Some(&old), &state, &params, &model);
        assert_eq!((a.class, a.proposed), (None, None));
        assert!(a.probabilities.is_empty());
        assert_eq!(a.classifier, old.producer.classifier);

        // As an edit it is exactly invertible and refuses a stale base.
        let edit = Edit::Reassess {
            object: id,
            before: Assessment::of(&manual),
            after: a.clone(),
        };
        let before = state.clone();
        edit.apply(&mut state).unwrap();
        assert_eq!(Assessment::of(&state.objects[&id]), a);
        assert_eq!(state.objects[&id].pixels, manual.pixels);
        assert_eq!(
            edit.apply(&mut state),
            Err(EditError::Mismatch(id)),
            "a second apply is stale"
        );
        edit.invert().apply(&mut state).unwrap();
        assert_eq!(state, before);
    }

    #[test]
    fn flags_close_by_the_correction_they_ask_for_or_by_accepting() {
        let mut rng = Rng::new(5);
        let state = sample_state(&mut rng);
        let mut o = state.objects.values().next().unwrap().clone();
        o.flags = REVIEW_FLAGS.to_vec();
        o.proposed_polarity = Some(o.polarity);
        assert_eq!(o.open_flags(), REVIEW_FLAGS.to_vec());
        o.polarity = o.polarity.flipped();
        assert_eq!(
            o.open_flags(),
            vec![ObjectFlag::HighEntropy, ObjectFlag::HomologDiffers]
        );
        o.class = ChromosomeClass::autosome(22).filter(|c| Some(*c) != o.proposed);
        assert!(o.open_flags().is_empty());
        o.class = o.proposed;
        o.accepted = true;
        assert!(o.open_flags().is_empty());
        o.accepted = false;
        o.rejected = Some("debris".into());
        assert!(o.open_flags().is_empty());
    }
}
