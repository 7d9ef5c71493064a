//! The learned chromosome classifier (ONNX): identity, polarity and an
//! embedding per straightened crop, 46 crops as one batch.

use std::sync::Mutex;

use ort::session::Session;
use ort::value::Tensor;

use crate::domain::chromosome::{CLASS_COUNT, ChromosomeClass, Polarity};
use crate::domain::classify::{BatchContext, ChromosomeFeatures, Prediction};
use crate::domain::ports::{ChromosomeClassifier, ClassifyError, ModelInfo};

use super::manifest::{Manifest, ModelEntry, TASK_CLASSIFIER, shape_fits};
use super::preprocess::{INPUT_HEIGHT, INPUT_WIDTH, NORMALISATION, classifier_input};
use super::{ModelError, check_normalisation, open_session, signature_error};

const IN_IMAGE: &str = "image";
const IN_REL_LENGTH: &str = "rel_length";
const OUT_CLASSES: &str = "class_logits";
const OUT_POLARITY: &str = "polarity_logit";
const OUT_EMBEDDING: &str = "embedding";

/// A loaded, verified ONNX chromosome classifier.
pub struct OnnxClassifier {
    session: Mutex<Session>,
    info: ModelInfo,
    /// Output index -> class.
    classes: Vec<ChromosomeClass>,
}

impl std::fmt::Debug for OnnxClassifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxClassifier")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl OnnxClassifier {
    /// Loads the manifest's classifier: finds the runtime, verifies the file's
    /// sha256, opens a session and checks its inputs and outputs.
    ///
    /// # Errors
    /// Any `ModelError`; nothing panics on a missing, damaged or foreign model.
    pub fn load(manifest: &Manifest) -> Result<Self, ModelError> {
        let entry = manifest.entry(TASK_CLASSIFIER)?;
        check_normalisation(entry, NORMALISATION)?;
        let classes: Vec<ChromosomeClass> = entry
            .classes
            .iter()
            .filter_map(|c| ChromosomeClass::parse(c))
            .collect();
        let mut sorted = classes.clone();
        sorted.sort();
        sorted.dedup();
        if classes.len() != CLASS_COUNT
            || sorted.len() != CLASS_COUNT
            || entry.classes.len() != CLASS_COUNT
        {
            return Err(signature_error(
                entry,
                "the class list must name 1..22, X and Y once each",
            ));
        }
        let session = open_session(manifest, entry)?;
        check_signature(entry, &session)?;
        Ok(Self {
            session: Mutex::new(session),
            info: ModelInfo::new(&entry.name, &entry.version),
            classes,
        })
    }

    fn run(
        &self,
        batch: &[ChromosomeFeatures],
        context: BatchContext,
    ) -> Result<Vec<Prediction>, ModelError> {
        let n = batch.len();
        if n == 0 {
            return Ok(Vec::new());
        }
        let mut images = Vec::with_capacity(n * CROP);
        for f in batch {
            images.extend(classifier_input(&f.gband_crop));
        }
        let mean_length = batch.iter().map(|f| f.length_px).sum::<f64>() / n as f64;
        let rel: Vec<f32> = batch
            .iter()
            .map(|f| match context {
                BatchContext::Cell if n >= 10 && mean_length > 0.0 => {
                    (f.length_px / mean_length) as f32
                }
                _ => 0.0,
            })
            .collect();
        let first = self.forward(&images, &rel)?;
        let mut predictions: Vec<Prediction> = (0..n)
            .map(|i| {
                let p_up = 1.0 / (1.0 + (-f64::from(first.polarity[i])).exp());
                let (polarity, confidence) = Polarity::from_p_up(p_up);
                Prediction {
                    probabilities: self.probabilities(first.logits_of(i)),
                    polarity,
                    polarity_confidence: confidence,
                    embedding: first.embedding_of(i).to_vec(),
                }
            })
            .collect();
        // A second look at the uncertain crops: the class is the same in the
        // crop turned by 180 degrees, so the two probability vectors are
        // averaged.
        let uncertain: Vec<usize> = (0..n)
            .filter(|&i| {
                predictions[i]
                    .probabilities
                    .iter()
                    .copied()
                    .fold(0.0, f64::max)
                    < SECOND_LOOK_BELOW
            })
            .collect();
        if uncertain.is_empty() {
            return Ok(predictions);
        }
        let mut turned = Vec::with_capacity(uncertain.len() * CROP);
        for &i in &uncertain {
            turned.extend(images[i * CROP..(i + 1) * CROP].iter().rev());
        }
        let turned_rel: Vec<f32> = uncertain.iter().map(|&i| rel[i]).collect();
        let second = self.forward(&turned, &turned_rel)?;
        for (k, &i) in uncertain.iter().enumerate() {
            let q = self.probabilities(second.logits_of(k));
            for (a, b) in predictions[i].probabilities.iter_mut().zip(q) {
                *a = 0.5 * (*a + b);
            }
        }
        Ok(predictions)
    }

    /// Softmax of one row of class logits, in class order.
    fn probabilities(&self, logits: &[f32]) -> [f64; CLASS_COUNT] {
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let exp: Vec<f64> = logits.iter().map(|v| f64::from(v - max).exp()).collect();
        let sum: f64 = exp.iter().sum();
        let mut probabilities = [0.0; CLASS_COUNT];
        for (k, class) in self.classes.iter().enumerate() {
            probabilities[class.index()] = exp[k] / sum;
        }
        probabilities
    }

    /// One run of the network over `rel.len()` crops (`images` holds them
    /// one after another, [`CROP`] values each).
    fn forward(&self, images: &[f32], rel: &[f32]) -> Result<RawOutputs, ModelError> {
        let n = rel.len();
        let fail = |reason: String| ModelError::Inference {
            model: format!("{} {}", self.info.name, self.info.version),
            reason,
        };
        let image = Tensor::from_array((
            vec![n as i64, 1, INPUT_HEIGHT as i64, INPUT_WIDTH as i64],
            images.to_vec(),
        ))
        .map_err(|e| fail(e.to_string()))?;
        let rel = Tensor::from_array((vec![n as i64, 1], rel.to_vec()))
            .map_err(|e| fail(e.to_string()))?;
        let mut session = self
            .session
            .lock()
            .map_err(|_| fail("session lock poisoned".into()))?;
        let outputs = session
            .run(ort::inputs![IN_IMAGE => image, IN_REL_LENGTH => rel])
            .map_err(|e| fail(e.to_string()))?;
        let extract =
            |name: &str, per_row: Option<usize>| -> Result<(usize, Vec<f32>), ModelError> {
                let value = outputs
                    .get(name)
                    .ok_or_else(|| fail(format!("no output {name}")))?;
                let (shape, data) = value
                    .try_extract_tensor::<f32>()
                    .map_err(|e| fail(e.to_string()))?;
                let rows = usize::try_from(shape.first().copied().unwrap_or(0)).unwrap_or(0);
                let cols = data.len().checked_div(rows).unwrap_or(0);
                if rows != n
                    || per_row.is_some_and(|p| p != cols)
                    || data.iter().any(|v| !v.is_finite())
                {
                    return Err(fail(format!(
                        "output {name} has shape {shape:?} or non-finite values"
                    )));
                }
                Ok((cols, data.to_vec()))
            };
        let (_, logits) = extract(OUT_CLASSES, Some(CLASS_COUNT))?;
        let (_, polarity) = extract(OUT_POLARITY, Some(1))?;
        let (dim, embedding) = extract(OUT_EMBEDDING, None)?;
        Ok(RawOutputs {
            logits,
            polarity,
            embedding,
            dim,
        })
    }
}

/// Values of one network input crop.
const CROP: usize = INPUT_HEIGHT * INPUT_WIDTH;

/// Crops whose most probable class has less than this probability get a
/// second look, turned by 180 degrees (the row-major crop reversed). On the
/// validation crops of classifier 0.3.0 that is 7% of Pki-3, 25% of
/// BioImLab and 53% of M-FISH crops; averaging raised top-1 from 96.1% to
/// 96.3% (Pki-3), 83.8% to 84.8% (BioImLab) and 55.9% to 56.6% (M-FISH)
/// (`models/train/evaluate_classifier.py` reports both). Mirrored and
/// flipped views as well gained 0.1 point more on Pki-3 at three times the
/// cost.
const SECOND_LOOK_BELOW: f64 = 0.6;

/// The network's outputs for a batch, row after row.
struct RawOutputs {
    logits: Vec<f32>,
    polarity: Vec<f32>,
    embedding: Vec<f32>,
    dim: usize,
}

impl RawOutputs {
    fn logits_of(&self, i: usize) -> &[f32] {
        &self.logits[i * CLASS_COUNT..(i + 1) * CLASS_COUNT]
    }

    fn embedding_of(&self, i: usize) -> &[f32] {
        &self.embedding[i * self.dim..(i + 1) * self.dim]
    }
}

/// Checks that the session has the manifest's inputs and outputs with fitting shapes.
fn check_signature(entry: &ModelEntry, session: &Session) -> Result<(), ModelError> {
    for (kind, promised, actual) in [
        ("input", &entry.inputs, session.inputs()),
        ("output", &entry.outputs, session.outputs()),
    ] {
        for spec in promised.iter() {
            let Some(outlet) = actual.iter().find(|o| o.name() == spec.name) else {
                return Err(signature_error(
                    entry,
                    format!("the model has no {kind} named {:?}", spec.name),
                ));
            };
            let shape: Vec<i64> = outlet
                .dtype()
                .tensor_shape()
                .map(|s| s.iter().copied().collect())
                .unwrap_or_default();
            if !shape_fits(&spec.shape, &shape) {
                return Err(signature_error(
                    entry,
                    format!(
                        "{kind} {:?} has shape {shape:?}, the manifest says {:?}",
                        spec.name, spec.shape
                    ),
                ));
            }
        }
    }
    let required = [
        (
            "input",
            IN_IMAGE,
            vec![-1, 1, INPUT_HEIGHT as i64, INPUT_WIDTH as i64],
        ),
        ("input", IN_REL_LENGTH, vec![-1, 1]),
        ("output", OUT_CLASSES, vec![-1, CLASS_COUNT as i64]),
        ("output", OUT_POLARITY, vec![-1, 1]),
        ("output", OUT_EMBEDDING, vec![-1, -1]),
    ];
    for (kind, name, shape) in required {
        let list = if kind == "input" {
            &entry.inputs
        } else {
            &entry.outputs
        };
        if !list
            .iter()
            .any(|s| s.name == name && shape_fits(&shape, &s.shape))
        {
            return Err(signature_error(
                entry,
                format!("the classifier needs {kind} {name:?} with shape {shape:?}"),
            ));
        }
    }
    Ok(())
}

impl ChromosomeClassifier for OnnxClassifier {
    fn info(&self) -> ModelInfo {
        self.info.clone()
    }

    fn classify(
        &self,
        batch: &[ChromosomeFeatures],
        context: BatchContext,
    ) -> Result<Vec<Prediction>, ClassifyError> {
        self.run(batch, context).map_err(|e| ClassifyError::Failed {
            model: format!("{} {}", self.info.name, self.info.version),
            reason: e.to_string(),
        })
    }
}
