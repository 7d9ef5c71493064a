//! Regression guards for the figures reported in the README (measured on
//! more data by `karyostation eval ...`). Thresholds sit below the measured
//! values with a margin for the smaller sample; they are never loosened to
//! make a change pass.

use std::path::{Path, PathBuf};

use karyostation::eval::{
    SplitList, ValSplit, eval_bioimlab, eval_bioimlab_crops, eval_pki3, eval_synthetic,
};
use karyostation::pipeline::{ModelChoice, Pipeline, select_classifier, select_segmenter};

#[test]
fn synthetic_spreads_are_found_classified_and_oriented() {
    let s = eval_synthetic(&Pipeline::default(), 6, 1000, 768, 576);
    assert_eq!(s.segmentation.spreads, 6);
    // Measured on these 6 spreads: found 98.9%, precision 97.8%, classified
    // 97.5%, cut cleanly 97.1%, classified of those 99.6%.
    assert!(s.segmentation.recall >= 0.97, "{s:#?}");
    assert!(s.segmentation.precision >= 0.95, "{s:#?}");
    assert!(s.classified_correctly >= 0.95, "{s:#?}");
    // The classifier itself, on the chromosomes the segmenter cut cleanly.
    assert!(s.well_cut >= 0.95, "{s:#?}");
    assert!(s.classified_correctly_of_well_cut >= 0.97, "{s:#?}");
    assert!(s.polarity_correct_of_found >= 0.90, "{s:#?}");
}

/// A learned model from `select_*`, or `None` (skip) when ONNX Runtime or
/// the model cannot be had here; with `KARYOSTATION_REQUIRE_ORT` set (CI)
/// that is a failure instead.
fn learned<T, E: std::fmt::Display>(selected: Result<(T, Option<String>), E>) -> Option<T> {
    match selected {
        Ok((model, _)) => Some(model),
        Err(e) => {
            assert!(
                std::env::var("KARYOSTATION_REQUIRE_ORT").is_err(),
                "the learned model must load here: {e}"
            );
            eprintln!("skipped: {e}");
            None
        }
    }
}

/// A split file of `models/train/`.
fn split(name: &str) -> ValSplit {
    ValSplit::read(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("models/train")
            .join(name),
    )
    .unwrap()
}

fn shared_data() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: {} is absent", dir.display());
        None
    }
}

#[test]
fn bioimlab_segmentation_baseline() {
    let Some(data) = shared_data() else { return };
    let s = eval_bioimlab(&Pipeline::default(), &data, Some(12), None).unwrap();
    assert_eq!(s.spreads, 12);
    assert!(s.recall >= 0.80 && s.precision >= 0.70, "{s:#?}");
}

#[test]
fn pki3_builtin_classification_baseline() {
    let Some(data) = shared_data() else { return };
    let s = eval_pki3(&Pipeline::default(), &data, Some(12), None).unwrap();
    assert!(s.crops > 500);
    assert!(s.accuracy_cell_assigned >= 0.40, "{s:#?}");
    assert!(s.polarity_accuracy.unwrap() >= 0.65, "{s:#?}");
}

#[test]
fn mfish_training_crops_are_cut_labelled_and_listed() {
    let Some(data) = shared_data() else { return };
    let mut slides: Vec<String> = std::fs::read_dir(data.join("mfish"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    slides.sort();
    let keep = slides.remove(0);
    let out = tempfile::tempdir().unwrap();
    let n = karyostation::eval::write_mfish_crops(
        &data,
        out.path(),
        &slides,
        &karyostation::imageio::LoadLimits::default(),
    )
    .unwrap();
    let csv = std::fs::read_to_string(out.path().join("mfish_crops.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), n);
    assert!(n >= 30, "{n} crops from slide {keep}");
    for row in rows {
        let cols: Vec<&str> = row.split(',').collect();
        assert_eq!(cols.len(), 5, "{row}");
        assert_eq!(cols[2], keep);
        assert!(karyostation::domain::chromosome::ChromosomeClass::parse(cols[1]).is_some());
        let crop = karyostation::imageio::load_gray(
            &out.path().join(cols[0]),
            &karyostation::imageio::LoadLimits::default(),
        )
        .unwrap();
        assert!(crop.gray.height() >= crop.gray.width() / 2, "{row}");
    }
}

#[test]
fn learned_segmenter_on_the_held_out_bioimlab_spreads() {
    let Some(data) = shared_data() else { return };
    let Some(segmenter) = learned(select_segmenter(ModelChoice::Learned)) else {
        return;
    };
    let split = split("segmenter_splits.json");
    let spreads = split.list(SplitList::Bioimlab).unwrap();
    let p = Pipeline {
        segmenter,
        ..Pipeline::default()
    };
    let s = eval_bioimlab(&p, &data, None, Some(spreads)).unwrap();
    assert_eq!(s.spreads, spreads.len());
    // Measured 0.960 AP50, recall 98.0%, precision 95.4% (model card).
    assert!(
        s.ap50 >= 0.93 && s.recall >= 0.95 && s.precision >= 0.92,
        "{s:#?}"
    );
}

/// The shared data, a pipeline with the learned classifier and the
/// classifier's training split; `None` (the test skips) without the data or,
/// outside CI, without the model.
fn learned_classifier_and_split() -> Option<(PathBuf, Pipeline, ValSplit)> {
    let data = shared_data()?;
    let classifier = learned(select_classifier(ModelChoice::Learned))?;
    let p = Pipeline {
        classifier,
        ..Pipeline::default()
    };
    Some((data, p, split("splits.json")))
}

/// The learned classifier through the path `classify` takes (one image per
/// chromosome, kept as given), on the Pki-3 cases held out from its
/// training. Measured with 0.8.0: 97.55% crop by crop, 99.2% when each
/// karyogram is assigned as one cell, polarity 99.2% (the 99% target is
/// asserted; 0.7.0: 97.3 / 99.1 / 99.2%).
#[test]
fn learned_classifier_on_the_held_out_pki3_cases() {
    let Some((data, p, split)) = learned_classifier_and_split() else {
        return;
    };
    let s = eval_pki3(&p, &data, None, Some(split.list(SplitList::Pki3).unwrap())).unwrap();
    assert!(s.crops > 3000, "{}", s.crops);
    assert!(
        s.accuracy_independent >= 0.97
            && s.accuracy_cell_assigned >= 0.985
            && s.polarity_accuracy.unwrap() >= 0.99,
        "{s:#?}"
    );
}

/// The learned classifier through the path `classify` takes, on the BioImLab
/// karyotypes held out from its training (Q-band crops, inverted; some
/// karyotypes come as padded 200x100 canvases). Measured with 0.8.0: 97.1%
/// crop by crop (the 96% target is asserted), 99.0% when each karyotype is
/// assigned as one cell (0.7.0: 96.7 / 98.8%; 0.6.0 scored 91.9% crop by
/// crop before padded canvases were trimmed).
#[test]
fn learned_classifier_on_the_held_out_bioimlab_crops() {
    let Some((data, p, split)) = learned_classifier_and_split() else {
        return;
    };
    let karyotypes = split.list(SplitList::BioimlabKaryotypes).unwrap();
    let s = eval_bioimlab_crops(&p, &data, None, Some(karyotypes)).unwrap();
    assert!(s.crops > 600, "{}", s.crops);
    assert!(s.polarity_accuracy.is_none());
    assert!(
        s.accuracy_independent >= 0.96 && s.accuracy_cell_assigned >= 0.975,
        "{s:#?}"
    );
}
