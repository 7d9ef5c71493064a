//! Learned-model loading: a damaged, truncated or foreign model and a wrong
//! manifest are refused with a clear error, never a crash; the shipped
//! classifier (when present) runs a batch of 46 crops.
//!
//! These tests need the ONNX Runtime library (`packaging/fetch-onnxruntime.sh`,
//! which `tests/run-all.sh` runs). Without it they check the "not found"
//! message instead, and fail when `KARYOSTATION_REQUIRE_ORT=1`.

use std::path::{Path, PathBuf};

use karyostation::domain::chromosome::ChromosomeClass;
use karyostation::domain::classify::{BatchContext, ChromosomeFeatures};
use karyostation::domain::modality::Modality;
use karyostation::domain::ports::ChromosomeClassifier;
use karyostation::domain::ports::Segmenter;
use karyostation::domain::raster::GrayImage;
use karyostation::infer::ModelError;
use karyostation::infer::classifier::OnnxClassifier;
use karyostation::infer::manifest::{
    Manifest, ModelEntry, TASK_CLASSIFIER, TASK_SEGMENTER, TensorSpec, sha256_hex,
};
use karyostation::infer::runtime::environment;
use karyostation::infer::segmenter::OnnxSegmenter;

fn runtime_available() -> bool {
    match environment() {
        Ok(_) => true,
        Err(e) => {
            assert!(matches!(e, ModelError::RuntimeNotFound { .. }), "{e}");
            assert!(e.to_string().contains("fetch-onnxruntime.sh"), "{e}");
            assert!(
                std::env::var("KARYOSTATION_REQUIRE_ORT").is_err(),
                "ONNX Runtime is required here but missing: {e}"
            );
            eprintln!("skipped: {e}");
            false
        }
    }
}

fn bad(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/bad")
        .join(name)
}

fn classifier_entry(file: &str, sha256: String) -> ModelEntry {
    ModelEntry {
        name: "test-classifier".into(),
        version: "0".into(),
        task: TASK_CLASSIFIER.into(),
        file: file.into(),
        sha256,
        inputs: vec![
            TensorSpec {
                name: "image".into(),
                shape: vec![-1, 1, 128, 64],
            },
            TensorSpec {
                name: "rel_length".into(),
                shape: vec![-1, 1],
            },
        ],
        outputs: vec![
            TensorSpec {
                name: "class_logits".into(),
                shape: vec![-1, 24],
            },
            TensorSpec {
                name: "polarity_logit".into(),
                shape: vec![-1, 1],
            },
            TensorSpec {
                name: "embedding".into(),
                shape: vec![-1, 128],
            },
        ],
        normalisation: "gband_upright15_trim20_fit_128x64".into(),
        classes: ChromosomeClass::all()
            .map(|c| c.label().to_string())
            .collect(),
        card: None,
    }
}

fn manifest_for(
    source: &Path,
    tweak: impl FnOnce(&mut ModelEntry),
) -> (tempfile::TempDir, Manifest) {
    let dir = tempfile::tempdir().unwrap();
    let name = source.file_name().unwrap().to_str().unwrap();
    let bytes = std::fs::read(source).unwrap();
    std::fs::write(dir.path().join(name), &bytes).unwrap();
    let mut entry = classifier_entry(name, sha256_hex(&bytes));
    tweak(&mut entry);
    let manifest = Manifest {
        models: vec![entry],
        dir: dir.path().to_path_buf(),
    };
    std::fs::write(
        dir.path().join("models.json"),
        serde_json::to_string_pretty(&manifest).unwrap(),
    )
    .unwrap();
    (dir, manifest)
}

#[test]
fn a_foreign_model_is_refused_for_its_signature() {
    if !runtime_available() {
        return;
    }
    let (_dir, manifest) = manifest_for(&bad("foreign.onnx"), |_| {});
    let err = OnnxClassifier::load(&manifest).unwrap_err();
    assert!(matches!(err, ModelError::Signature { .. }), "{err}");
    assert!(err.to_string().contains("image"), "{err}");
}

#[test]
fn a_truncated_model_is_refused_naming_the_file() {
    if !runtime_available() {
        return;
    }
    let (_dir, manifest) = manifest_for(&bad("truncated.onnx"), |_| {});
    let err = OnnxClassifier::load(&manifest).unwrap_err();
    assert!(matches!(err, ModelError::Session { .. }), "{err}");
    assert!(err.to_string().contains("truncated.onnx"), "{err}");
}

#[test]
fn a_replaced_model_and_a_wrong_manifest_are_refused_before_loading() {
    let (_dir, manifest) = manifest_for(&bad("foreign.onnx"), |e| {
        e.sha256 = sha256_hex(b"something else")
    });
    let err = OnnxClassifier::load(&manifest).unwrap_err();
    assert!(matches!(err, ModelError::HashMismatch { .. }), "{err}");
    let (_dir, manifest) = manifest_for(&bad("foreign.onnx"), |e| e.classes.truncate(20));
    assert!(matches!(
        OnnxClassifier::load(&manifest).unwrap_err(),
        ModelError::Signature { .. }
    ));
    let (_dir, manifest) = manifest_for(&bad("foreign.onnx"), |e| {
        e.normalisation = "imagenet".into()
    });
    assert!(matches!(
        OnnxClassifier::load(&manifest).unwrap_err(),
        ModelError::Signature { .. }
    ));
    let (dir, _) = manifest_for(&bad("foreign.onnx"), |_| {});
    std::fs::write(dir.path().join("models.json"), "{\"models\": 3}").unwrap();
    let err = Manifest::read(dir.path()).unwrap_err();
    assert!(err.to_string().contains("models.json"), "{err}");
}

#[test]
fn the_shipped_classifier_runs_a_cell_sized_batch() {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let Ok(manifest) = Manifest::read(&models) else {
        eprintln!("skipped: no models/models.json yet");
        return;
    };
    if !runtime_available() {
        return;
    }
    let classifier = OnnxClassifier::load(&manifest).expect("the shipped classifier loads");
    let mut batch = Vec::new();
    for k in 0..46 {
        let class = ChromosomeClass::from_index(k % 23).unwrap();
        let (img, _) = karyostation::domain::synth::render_single(
            class,
            karyostation::domain::bands::BandLevel::B400,
            40.0 + k as f64,
            8.0,
            k as u64,
        );
        batch.push(karyostation::pipeline::single_chromosome_features(
            &img,
            Default::default(),
        ));
    }
    // Images unlike anything in training still give valid predictions.
    for value in [0u8, 255] {
        batch.push(ChromosomeFeatures {
            length_px: 10.0,
            width_px: 5.0,
            centromere_from_top: 0.5,
            banding_profile: vec![],
            gband_crop: GrayImage::new(20, 60, value),
        });
    }
    let preds = classifier.classify(&batch, BatchContext::Cell).unwrap();
    assert_eq!(preds.len(), 48);
    for p in &preds {
        assert!((p.probabilities.iter().sum::<f64>() - 1.0).abs() < 1e-6);
        assert!((0.5..=1.0).contains(&p.polarity_confidence));
        assert!(!p.embedding.is_empty());
    }
    assert!(
        classifier
            .classify(&[], BatchContext::Cell)
            .unwrap()
            .is_empty()
    );
}

fn segmenter_entry(entry: &mut ModelEntry) {
    entry.name = "test-segmenter".into();
    entry.task = TASK_SEGMENTER.into();
    entry.inputs = vec![TensorSpec {
        name: "image".into(),
        shape: vec![1, 1, -1, -1],
    }];
    entry.outputs = vec![TensorSpec {
        name: "maps".into(),
        shape: vec![1, 3, -1, -1],
    }];
    entry.normalisation = "density_p0.5_p99.5_pad16".into();
    entry.classes.clear();
}

#[test]
fn a_foreign_or_classifier_model_is_refused_as_a_segmenter() {
    if !runtime_available() {
        return;
    }
    let (_dir, manifest) = manifest_for(&bad("foreign.onnx"), segmenter_entry);
    let err = OnnxSegmenter::load(&manifest).unwrap_err();
    assert!(matches!(err, ModelError::Signature { .. }), "{err}");
    let (_dir, manifest) = manifest_for(&bad("truncated.onnx"), segmenter_entry);
    let err = OnnxSegmenter::load(&manifest).unwrap_err();
    assert!(matches!(err, ModelError::Session { .. }), "{err}");
    assert!(err.to_string().contains("truncated.onnx"), "{err}");
    let classifier =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("models/chromosome_classifier.onnx");
    let (_dir, manifest) = manifest_for(&classifier, segmenter_entry);
    let err = OnnxSegmenter::load(&manifest).unwrap_err();
    assert!(matches!(err, ModelError::Signature { .. }), "{err}");
    assert!(err.to_string().contains("maps"), "{err}");
    let (_dir, manifest) = manifest_for(&bad("foreign.onnx"), |e| {
        segmenter_entry(e);
        e.normalisation = "gband_upright15_trim20_fit_128x64".into();
    });
    assert!(matches!(
        OnnxSegmenter::load(&manifest).unwrap_err(),
        ModelError::Signature { .. }
    ));
}

#[test]
fn the_shipped_segmenter_finds_a_synthetic_cell_and_survives_odd_images() {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let Ok(manifest) = Manifest::read(&models) else {
        eprintln!("skipped: no models/models.json yet");
        return;
    };
    if manifest.entry(TASK_SEGMENTER).is_err() {
        eprintln!("skipped: no segmenter in models/models.json");
        return;
    }
    if !runtime_available() {
        return;
    }
    let segmenter = OnnxSegmenter::load(&manifest).expect("the shipped segmenter loads");
    let spread = karyostation::domain::synth::generate_spread(
        &karyostation::domain::synth::SynthConfig::new(768, 576, 7),
    );
    let seg = segmenter
        .segment(&spread.image, Modality::Brightfield)
        .unwrap();
    let truth = spread.instances.len();
    assert!(
        seg.objects.len() * 10 >= truth * 8 && seg.objects.len() <= truth * 12 / 10,
        "{} objects for {truth} chromosomes",
        seg.objects.len()
    );
    // All black, all white, one huge bright disc, odd sizes: a result, never a panic.
    for (w, h, value) in [
        (64usize, 48usize, 0u8),
        (64, 48, 255),
        (5, 3, 128),
        (1, 1, 0),
    ] {
        let seg = segmenter
            .segment(&GrayImage::new(w, h, value), Modality::Fluorescence)
            .unwrap();
        assert!(seg.objects.is_empty(), "{w}x{h} of {value}: {seg:?}");
    }
    let mut disc = GrayImage::new(300, 240, 10);
    for y in 0..240i64 {
        for x in 0..300i64 {
            if (x - 150).pow(2) + (y - 120).pow(2) < 100 * 100 {
                disc.set(x, y, 200);
            }
        }
    }
    let seg = segmenter.segment(&disc, Modality::Fluorescence).unwrap();
    for o in &seg.objects {
        assert!(
            o.score < 0.9 || !o.notes.is_empty(),
            "a huge disc must not pass as a confident chromosome: {:?}",
            o.notes
        );
    }
}
