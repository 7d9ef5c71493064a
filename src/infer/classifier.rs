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
        let fail = |reason: String| ModelError::Inference {
            model: format!("{} {}", self.info.name, self.info.version),
            reason,
        };
        let mut images = Vec::with_capacity(n * INPUT_HEIGHT * INPUT_WIDTH);
        for f in batch {
            images.extend(classifier_input(&f.straightened_gband));
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
        let image = Tensor::from_array((
            vec![n as i64, 1, INPUT_HEIGHT as i64, INPUT_WIDTH as i64],
            images,
        ))
        .map_err(|e| fail(e.to_string()))?;
        let rel = Tensor::from_array((vec![n as i64, 1], rel)).map_err(|e| fail(e.to_string()))?;
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
        Ok((0..n)
            .map(|i| {
                let row = &logits[i * CLASS_COUNT..(i + 1) * CLASS_COUNT];
                let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let exp: Vec<f64> = row.iter().map(|v| f64::from(v - max).exp()).collect();
                let sum: f64 = exp.iter().sum();
                let mut probabilities = [0.0; CLASS_COUNT];
                for (k, class) in self.classes.iter().enumerate() {
                    probabilities[class.index()] = exp[k] / sum;
                }
                let p_up = 1.0 / (1.0 + (-f64::from(polarity[i])).exp());
                let (polarity, confidence) = Polarity::from_p_up(p_up);
                Prediction {
                    probabilities,
                    polarity,
                    polarity_confidence: confidence,
                    embedding: embedding[i * dim..(i + 1) * dim].to_vec(),
                }
            })
            .collect())
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
