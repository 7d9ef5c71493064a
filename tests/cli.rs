//! End-to-end tests of the `karyostation` binary: outputs, JSON contract,
//! bad input handling and exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use karyostation::domain::chromosome::ChromosomeClass;
use karyostation::domain::synth::{SynthConfig, render_single};
use karyostation::imageio::save_gray_png;

fn karyostation(args: &[&str]) -> Output {
    karyostation_env(args, &[])
}

/// Runs the binary with extra environment variables.
fn karyostation_env(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_karyostation"));
    cmd.args(args);
    for (key, value) in env {
        cmd.env(key, value);
    }
    cmd.output().expect("run karyostation")
}

fn synthetic_spread(dir: &Path, seed: u64) -> PathBuf {
    let cfg = SynthConfig::new(768, 576, seed);
    karyostation::demo::write_synthetic(dir, &format!("spread_{seed}"), &cfg).expect("write spread")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn analyze_writes_the_three_outputs_with_the_documented_fields() {
    let tmp = tempfile::tempdir().unwrap();
    let png = synthetic_spread(tmp.path(), 7);
    let out = tmp.path().join("out");
    let o = karyostation(&[
        "analyze",
        png.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let dir = out.join("spread_7");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("analysis.json")).unwrap()).unwrap();
    for key in [
        "image",
        "width",
        "height",
        "modality",
        "objects",
        "rejected",
        "karyotype",
        "timings_ms",
        "segmenter",
        "classifier",
    ] {
        assert!(json.get(key).is_some(), "missing {key}");
    }
    assert_eq!(json["width"], 768);
    assert_eq!(json["modality"], "brightfield");
    assert!(json["segmenter"]["name"].is_string() && json["classifier"]["version"].is_string());
    let objects = json["objects"].as_array().unwrap();
    assert!(
        (38..=56).contains(&objects.len()),
        "{} objects",
        objects.len()
    );
    for o in objects {
        for key in [
            "id",
            "polygon",
            "bbox",
            "score",
            "class",
            "probabilities",
            "entropy",
            "polarity",
            "flags",
        ] {
            assert!(o.get(key).is_some(), "object missing {key}");
        }
        let probs = o["probabilities"].as_object().unwrap();
        let keys: Vec<&String> = probs.keys().collect();
        assert_eq!(keys.len(), 24);
        assert!(ChromosomeClass::all().all(|c| probs.contains_key(c.label())));
        let sum: f64 = probs.values().map(|v| v.as_f64().unwrap()).sum();
        assert!((sum - 1.0).abs() < 1e-4);
        assert!(o["polarity"] == "p_up" || o["polarity"] == "p_down");
        let score = o["score"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&score));
        let poly = o["polygon"].as_array().unwrap();
        assert!(poly.len() >= 3 && poly[0].as_array().unwrap().len() == 2);
        assert_eq!(o["bbox"].as_array().unwrap().len(), 4);
        assert!(
            o["class"].is_null() || ChromosomeClass::parse(o["class"].as_str().unwrap()).is_some()
        );
    }
    // The nucleus and debris are kept, with reasons.
    let rejected = json["rejected"].as_array().unwrap();
    assert!(
        rejected.iter().any(|r| r["reason"] == "nucleus"),
        "{rejected:?}"
    );
    assert!(rejected.iter().all(|r| r["polygon"].is_array()));
    let timings = json["timings_ms"].as_object().unwrap();
    for stage in [
        "load", "segment", "measure", "refine", "classify", "arrange", "render", "total",
    ] {
        assert!(timings.contains_key(stage), "timing {stage}");
    }
    let karyotype = std::fs::read_to_string(dir.join("karyotype.txt")).unwrap();
    assert_eq!(karyotype.trim(), json["karyotype"].as_str().unwrap());
    let kg =
        karyostation::imageio::load_gray(&dir.join("karyogram.png"), &Default::default()).unwrap();
    assert!(kg.gray.width() > 300 && kg.gray.height() > 300);
}

#[test]
fn each_bad_file_is_reported_by_name_and_the_rest_are_processed() {
    let tmp = tempfile::tempdir().unwrap();
    let good = synthetic_spread(tmp.path(), 8);
    let bad_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bad");
    let mut bad: Vec<PathBuf> = std::fs::read_dir(&bad_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e != "md"))
        .collect();
    bad.sort();
    assert!(bad.len() >= 7);
    let missing = tmp.path().join("does_not_exist.png");
    let mut args = vec!["analyze".to_string()];
    args.extend(bad.iter().map(|p| p.display().to_string()));
    args.push(missing.display().to_string());
    args.push(tmp.path().display().to_string()); // a directory
    args.push(good.display().to_string());
    args.push("--out".into());
    args.push(tmp.path().join("out").display().to_string());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = karyostation(&refs);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    for p in bad.iter().chain([&missing]) {
        let name = p.file_name().unwrap().to_str().unwrap();
        assert!(
            err.lines()
                .any(|l| l.starts_with("error:") && l.contains(name)),
            "no error naming {name}:\n{err}"
        );
    }
    assert!(!err.contains("panicked"), "{err}");
    assert!(tmp.path().join("out/spread_8/analysis.json").exists());
}

#[test]
fn an_empty_spread_gives_an_empty_result_with_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let blank = tmp.path().join("blank.png");
    save_gray_png(
        &blank,
        &karyostation::domain::raster::GrayImage::new(300, 200, 230),
    )
    .unwrap();
    let out = tmp.path().join("out");
    let o = karyostation(&[
        "analyze",
        blank.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("warning"), "{}", stderr(&o));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("blank/analysis.json")).unwrap())
            .unwrap();
    assert_eq!(json["objects"].as_array().unwrap().len(), 0);
    assert!(!json["warnings"].as_array().unwrap().is_empty());
}

#[test]
fn over_limit_images_and_bad_options_are_refused_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let png = synthetic_spread(tmp.path(), 9);
    let o = karyostation(&[
        "analyze",
        png.to_str().unwrap(),
        "--out",
        tmp.path().to_str().unwrap(),
        "--max-pixels",
        "1000",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("spread_9.png") && stderr(&o).contains("1000"),
        "{}",
        stderr(&o)
    );
    let o = karyostation(&[
        "analyze",
        png.to_str().unwrap(),
        "--out",
        "x",
        "--modality",
        "sepia",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("brightfield"), "{}", stderr(&o));
}

#[test]
fn classify_reports_polarity_relative_to_the_image() {
    let tmp = tempfile::tempdir().unwrap();
    let five = ChromosomeClass::autosome(5).unwrap();
    let (img, _) = render_single(
        five,
        karyostation::domain::bands::BandLevel::B400,
        120.0,
        10.0,
        3,
    );
    let up = tmp.path().join("up.png");
    let down = tmp.path().join("down.png");
    save_gray_png(&up, &img).unwrap();
    save_gray_png(&down, &img.rotated_180()).unwrap();
    let o = karyostation(&[
        "classify",
        up.to_str().unwrap(),
        down.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for l in &lines {
        for key in [
            "path",
            "class",
            "probabilities",
            "entropy",
            "polarity",
            "polarity_confidence",
        ] {
            assert!(l.get(key).is_some(), "missing {key}");
        }
    }
    assert_eq!(lines[0]["polarity"], "p_up");
    assert_eq!(lines[1]["polarity"], "p_down");
}

#[test]
fn synth_writes_images_with_truth_and_rejects_unknown_abnormalities() {
    let tmp = tempfile::tempdir().unwrap();
    let o = karyostation(&[
        "synth",
        "--out",
        tmp.path().to_str().unwrap(),
        "--count",
        "1",
        "--abnormality",
        "+21",
        "--sex",
        "male",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let truth: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("synth_1.truth.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(truth["karyotype"], "47,XY,+21");
    assert_eq!(truth["instances"].as_array().unwrap().len(), 47);
    let o = karyostation(&[
        "synth",
        "--out",
        tmp.path().to_str().unwrap(),
        "--abnormality",
        "inv(9)(p11q13)",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("inv(9)"), "{}", stderr(&o));
}

#[test]
fn version_names_the_commit_the_models_and_the_runtime_and_flags_damage() {
    let tmp = tempfile::tempdir().unwrap();
    let models = tmp.path().join("models");
    std::fs::create_dir(&models).unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let manifest = karyostation::infer::manifest::Manifest::read(&shipped).unwrap();
    std::fs::copy(shipped.join("models.json"), models.join("models.json")).unwrap();
    for entry in &manifest.models {
        std::fs::copy(shipped.join(&entry.file), models.join(&entry.file)).unwrap();
    }
    let data = tmp.path().join("data");
    // The library as this process finds it (the data directory is moved away below).
    let library = karyostation::infer::runtime::library_candidates()
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| tmp.path().join("no-library"));
    let env = [
        ("KARYOSTATION_MODELS", models.as_path()),
        ("XDG_DATA_HOME", data.as_path()),
        ("KARYOSTATION_ORT_LIB", library.as_path()),
    ];

    let o = karyostation_env(&["--version"], &env);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let first = text.lines().next().unwrap_or_default();
    let prefix = format!("karyostation {} (git ", env!("CARGO_PKG_VERSION"));
    assert!(first.starts_with(&prefix), "{text}");
    let hash = first[prefix.len()..].split(',').next().unwrap_or_default();
    assert!(
        hash == "unknown" || (hash.len() >= 7 && hash.chars().all(|c| c.is_ascii_hexdigit())),
        "{text}"
    );
    assert!(
        text.contains(&format!("models: {}", models.join("models.json").display())),
        "{text}"
    );
    for entry in &manifest.models {
        assert!(
            text.contains(&format!(
                "{} {} ({}): {} [sha256 verified]",
                entry.name,
                entry.version,
                entry.task,
                models.join(&entry.file).display()
            )),
            "{text}"
        );
    }
    let runtime = text
        .lines()
        .find(|l| l.starts_with("ONNX Runtime: "))
        .unwrap_or_default();
    if std::env::var("KARYOSTATION_REQUIRE_ORT").as_deref() == Ok("1") {
        let version = runtime["ONNX Runtime: ".len()..].split(' ').next();
        assert!(
            version.is_some_and(
                |v| v.split('.').count() == 3 && v.split('.').all(|p| p.parse::<u32>().is_ok())
            ),
            "{text}"
        );
    } else {
        assert!(!runtime.is_empty(), "{text}");
    }
    // Asking for the version creates nothing in the data directory.
    assert!(!data.exists());

    // A damaged model is named with its path; --version still succeeds.
    let entry = &manifest.models[0];
    let model = models.join(&entry.file);
    let mut bytes = std::fs::read(&model).unwrap();
    bytes[4096] ^= 0xff;
    std::fs::write(&model, bytes).unwrap();
    let o = karyostation_env(&["--version"], &env);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        text.contains(&format!(
            "{} [NOT USABLE: model file {}",
            model.display(),
            model.display()
        )),
        "{text}"
    );

    // A file that is not the ONNX Runtime library is refused with its path.
    let fake = tmp.path().join("libonnxruntime.so");
    std::fs::write(&fake, b"not a shared library").unwrap();
    let o = karyostation_env(&["--version"], &[("KARYOSTATION_ORT_LIB", fake.as_path())]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        text.contains(&format!(
            "ONNX Runtime: not available (the ONNX Runtime library {} could not be loaded",
            fake.display()
        )),
        "{text}"
    );
}
