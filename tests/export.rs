//! Exports from the command line: the karyogram PNG and the ISCN report of a
//! case, failure on an unwritable path (nothing left behind), and the
//! de-identified training export (no patient data in any byte, signed cases
//! only by default, COCO masks that decode to the stored masks, checked in
//! Rust and with pycocotools).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::{accept_open_flags, ks, text};
#[path = "support/python.rs"]
mod python;

use karyostation::domain::ports::CaseRepo;
use karyostation::domain::synth::SynthConfig;
use karyostation::export::coco::CocoDataset;
use karyostation::export::training::case_key;
use karyostation::store::{OpenMode, SqliteCaseRepo};

const PATIENT_NAMES: [&str; 2] = ["Doe, Jane", "Roe, Richard"];
const PATIENT_IDS: [&str; 2] = ["PID-4711-XQ", "PID-0815-ZR"];
const ACCESSIONS: [&str; 2] = ["CG-SIGNED-1", "CG-OPEN-2"];

fn ok(o: Output) -> Output {
    assert!(o.status.success(), "{}", text(&o));
    o
}

/// A database with a signed case (two cells, corrected) and an open one.
fn database(dir: &Path) -> PathBuf {
    let db = dir.join("db/cases.sqlite");
    let spreads: Vec<PathBuf> = (0..2)
        .map(|k| {
            karyostation::demo::write_synthetic(
                &dir.join("spreads"),
                &format!("spread{k}"),
                &SynthConfig::new(512, 384, 3 + k),
            )
            .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    for (i, accession) in ACCESSIONS.iter().enumerate() {
        ok(ks(
            &db,
            &[
                "case",
                "new",
                "--accession",
                accession,
                "--patient-name",
                PATIENT_NAMES[i],
                "--patient-id",
                PATIENT_IDS[i],
                "--band-level",
                "550",
                "--user",
                "ann",
            ],
        ));
        let mut args = vec!["case", "import", accession];
        let paths: Vec<String> = spreads.iter().map(|p| p.display().to_string()).collect();
        args.extend(paths.iter().map(String::as_str));
        args.extend([
            "--user",
            "ann",
            "--classifier",
            "builtin",
            "--entropy-threshold",
            "100",
        ]);
        ok(ks(&db, &args));
    }
    let repo = SqliteCaseRepo::open(&db, OpenMode::Existing).unwrap_or_else(|e| panic!("{e}"));
    let m = repo.metaphase_ids(ACCESSIONS[0]).unwrap_or_default()[0]
        .0
        .to_string();
    drop(repo);
    // Corrections: a flip, a reclassification, a rejection.
    ok(ks(
        &db,
        &[
            "case",
            "edit",
            ACCESSIONS[0],
            r#"{"kind":"flip","object":0}"#,
            "--metaphase",
            &m,
            "--user",
            "ann",
        ],
    ));
    let show: serde_json::Value =
        serde_json::from_slice(&ok(ks(&db, &["case", "show", ACCESSIONS[0], "--json"])).stdout)
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(show["metaphases"].as_array().map(Vec::len), Some(2));
    ok(ks(
        &db,
        &[
            "case",
            "edit",
            ACCESSIONS[0],
            r#"{"kind":"reject","object":1,"reason":"Doe, Jane debris"}"#,
            "--metaphase",
            &m,
            "--user",
            "ann",
        ],
    ));
    accept_open_flags(&db, ACCESSIONS[0]);
    ok(ks(
        &db,
        &[
            "case",
            "sign",
            ACCESSIONS[0],
            "--user",
            "bob",
            "--reason",
            "limited material",
        ],
    ));
    db
}

#[test]
fn karyogram_and_report_of_a_case() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = database(tmp.path());
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap_or_else(|e| panic!("{e}"));
    let (png, txt, json) = (
        out.join("k.png"),
        out.join("report.txt"),
        out.join("report.json"),
    );
    let o = ok(ks(
        &db,
        &[
            "export",
            "--case",
            ACCESSIONS[0],
            "--karyogram",
            png.to_str().unwrap_or(""),
            "--report",
            txt.to_str().unwrap_or(""),
            "--report-json",
            json.to_str().unwrap_or(""),
        ],
    ));
    assert!(text(&o).contains("exported case"), "{}", text(&o));
    let img = image::open(&png).unwrap_or_else(|e| panic!("{e}"));
    assert!(img.width() > 400 && img.height() > 300);
    assert_eq!(png_dpi(&png), Some(3780));
    let report = std::fs::read_to_string(&txt).unwrap_or_default();
    for want in [
        ACCESSIONS[0],
        "Signed by bob",
        "limited material",
        "Cells counted: 2, analysed: 2",
        "cell 1",
        "Models:",
    ] {
        assert!(report.contains(want), "{want} missing from:\n{report}");
    }
    // The segmenter that cut the cells is named: the learned one when it
    // loads, the classical one otherwise.
    assert!(
        report.contains("segmenter chromosome-segmenter")
            || report.contains("segmenter builtin-classical"),
        "no segmenter named in:\n{report}"
    );
    let j: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).unwrap_or_default()).unwrap_or_default();
    assert_eq!(j["accession"], ACCESSIONS[0]);
    assert_eq!(j["cells_counted"], 2);
    assert_eq!(j["signed"]["by"], "bob");
    assert!(j.get("patient").is_none());
    for file in [&png, &txt, &json] {
        let bytes = std::fs::read(file).unwrap_or_default();
        for secret in PATIENT_NAMES.iter().chain(&PATIENT_IDS) {
            assert!(
                !contains(&bytes, secret.as_bytes()),
                "{secret} in {}",
                file.display()
            );
        }
    }

    // Print resolution, another cell, patient details on request.
    let print = out.join("print.png");
    let pjson = out.join("p.json");
    ok(ks(
        &db,
        &[
            "export",
            "--case",
            ACCESSIONS[0],
            "--karyogram",
            print.to_str().unwrap_or(""),
            "--report-json",
            pjson.to_str().unwrap_or(""),
            "--cell",
            "2",
            "--dpi",
            "300",
            "--include-patient",
        ],
    ));
    assert_eq!(png_dpi(&print), Some(11811));
    let big = image::open(&print).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        big.width() > 2 * img.width(),
        "{} vs {}",
        big.width(),
        img.width()
    );
    let j: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&pjson).unwrap_or_default()).unwrap_or_default();
    assert_eq!(j["patient"]["name"], PATIENT_NAMES[0]);

    let o = ks(
        &db,
        &[
            "export",
            "--case",
            ACCESSIONS[0],
            "--karyogram",
            print.to_str().unwrap_or(""),
            "--cell",
            "3",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("no cell 3"), "{}", text(&o));
}

#[test]
fn an_unwritable_path_fails_naming_it_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = database(tmp.path());
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap_or_else(|e| panic!("{e}"));
    // A path under a regular file cannot be created, even by root.
    let blocker = out.join("not-a-folder");
    std::fs::write(&blocker, b"x").unwrap_or_else(|e| panic!("{e}"));
    let bad = blocker.join("k.png");
    let report = out.join("report.txt");
    let o = ks(
        &db,
        &[
            "export",
            "--case",
            ACCESSIONS[0],
            "--report",
            report.to_str().unwrap_or(""),
            "--karyogram",
            bad.to_str().unwrap_or(""),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains(bad.to_str().unwrap_or("?")),
        "{}",
        text(&o)
    );
    let left: Vec<_> = std::fs::read_dir(&out)
        .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert_eq!(left, vec![std::ffi::OsString::from("not-a-folder")]);

    let o = ks(
        &db,
        &[
            "export-training",
            "--out",
            blocker.join("training").to_str().unwrap_or(""),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("not-a-folder"), "{}", text(&o));
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn png_dpi(path: &Path) -> Option<u32> {
    let file = std::fs::File::open(path).ok()?;
    let reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .ok()?;
    reader.info().pixel_dims.map(|d| d.xppu)
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn training_export_is_deidentified_signed_only_and_its_masks_are_the_stored_ones() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = database(tmp.path());
    let out = tmp.path().join("training");
    let o = ok(ks(
        &db,
        &["export-training", "--out", out.to_str().unwrap_or("")],
    ));
    assert!(text(&o).contains("corrected"), "{}", text(&o));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap_or_default())
            .unwrap_or_default();
    let cases = |m: &serde_json::Value| {
        m["summary"]["train"]["cases"].as_u64().unwrap_or(0)
            + m["summary"]["val"]["cases"].as_u64().unwrap_or(0)
    };
    assert_eq!(cases(&manifest), 1, "{manifest}");

    // No patient data, accession, source file name or free text anywhere.
    let files = files_under(&out);
    assert!(files.len() > 50, "{} files", files.len());
    for f in &files {
        let bytes = std::fs::read(f).unwrap_or_default();
        for secret in PATIENT_NAMES
            .iter()
            .chain(&PATIENT_IDS)
            .chain(&ACCESSIONS)
            .chain(&["spread0", "debris", "limited material"])
        {
            assert!(
                !contains(&bytes, secret.as_bytes()),
                "{secret:?} found in {}",
                f.display()
            );
        }
    }
    assert!(
        !files_under(tmp.path())
            .iter()
            .any(|p| p.to_string_lossy().ends_with(".tmp")),
        "temporary files left"
    );

    // The corrections are marked, with their edit ids.
    let labels: Vec<serde_json::Value> = ["train", "val"]
        .iter()
        .flat_map(|s| {
            std::fs::read_to_string(out.join(s).join("labels.jsonl"))
                .unwrap_or_default()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap_or_default())
                .collect::<Vec<_>>()
        })
        .collect();
    let corrected: Vec<&serde_json::Value> =
        labels.iter().filter(|l| l["corrected"] == true).collect();
    assert_eq!(corrected.len(), 2, "{corrected:?}");
    assert!(
        corrected
            .iter()
            .any(|l| l["class"] == "rejected" && l["edit"] == 2)
    );
    assert!(corrected.iter().any(|l| l["corrections"][0] == "polarity"));

    // Masks: decode in Rust and compare with the store; write what pycocotools must find.
    let conn = rusqlite::Connection::open(&db).unwrap_or_else(|e| panic!("{e}"));
    let salt: String = conn
        .query_row("SELECT salt FROM export_salt", [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{e}"));
    drop(conn);
    let repo = SqliteCaseRepo::open(&db, OpenMode::Existing).unwrap_or_else(|e| panic!("{e}"));
    let by_key: BTreeMap<String, &str> = ACCESSIONS
        .iter()
        .map(|a| (case_key(&salt, a), *a))
        .collect();
    let mut expected: BTreeMap<String, BTreeMap<u64, Vec<[u32; 2]>>> = BTreeMap::new();
    let mut checked = 0;
    for split in ["train", "val"] {
        let coco: CocoDataset = serde_json::from_slice(
            &std::fs::read(out.join(split).join("annotations.json")).unwrap_or_default(),
        )
        .unwrap_or_else(|e| panic!("{split}: {e}"));
        for l in labels.iter().filter(|l| {
            std::fs::metadata(out.join(split).join(l["crop"].as_str().unwrap_or("-"))).is_ok()
        }) {
            let accession = by_key[l["case"].as_str().unwrap_or("")];
            let cell = l["cell"].as_u64().unwrap_or(0) as usize;
            let object = l["object"].as_u64().unwrap_or(0) as u32;
            let m = repo.metaphase_ids(accession).unwrap_or_default()[cell - 1];
            let stored = &repo.cell(m).unwrap_or_else(|e| panic!("{e}")).objects
                [&karyostation::domain::ids::ObjectId(object)]
                .pixels;
            let id = l["annotation"].as_u64().unwrap_or(0);
            let ann = coco
                .annotations
                .iter()
                .find(|a| a.id == id)
                .unwrap_or_else(|| panic!("annotation {id}"));
            let decoded: BTreeSet<(u32, u32)> = ann.segmentation.decode().unwrap_or_default();
            assert_eq!(&decoded, stored, "annotation {id}");
            assert_eq!(ann.area, stored.len() as u64);
            expected
                .entry(split.to_string())
                .or_default()
                .insert(id, stored.iter().map(|&(x, y)| [x, y]).collect());
            checked += 1;
        }
    }
    assert!(checked > 50, "{checked}");
    let expected_path = tmp.path().join("expected.json");
    std::fs::write(
        &expected_path,
        serde_json::to_vec(&expected).unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    pycocotools_check(&out, &expected_path);

    // Unsigned cases on request; --since filters; an existing folder is refused.
    let all = tmp.path().join("all");
    ok(ks(
        &db,
        &[
            "export-training",
            "--out",
            all.to_str().unwrap_or(""),
            "--include-unsigned",
        ],
    ));
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(all.join("manifest.json")).unwrap_or_default())
            .unwrap_or_default();
    assert_eq!(cases(&m), 2);
    let o = ks(
        &db,
        &["export-training", "--out", all.to_str().unwrap_or("")],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("already exists"), "{}", text(&o));
    let later = tmp.path().join("later");
    ok(ks(
        &db,
        &[
            "export-training",
            "--out",
            later.to_str().unwrap_or(""),
            "--since",
            "2999-01-01",
        ],
    ));
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(later.join("manifest.json")).unwrap_or_default())
            .unwrap_or_default();
    assert_eq!(cases(&m), 0);
    let o = ks(
        &db,
        &["export-training", "--out", "x", "--since", "last week"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("YYYY-MM-DD"), "{}", text(&o));
}

/// Runs tests/coco_check.py with a Python that has pycocotools
/// (`support/python.rs` says which it takes).
fn pycocotools_check(export: &Path, expected: &Path) {
    let Some(python) = python::python_with("pycocotools.coco, numpy", "the COCO check") else {
        return;
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/coco_check.py");
    let o = Command::new(&python)
        .arg(script)
        .arg(export)
        .arg(expected)
        .output()
        .unwrap_or_else(|e| panic!("run {python}: {e}"));
    assert!(o.status.success(), "coco_check.py failed: {}", text(&o));
    assert!(text(&o).contains("masks match"), "{}", text(&o));
}
