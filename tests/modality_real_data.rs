//! Modality detection on the real data in `../shared/data` (skipped, with a
//! message, when that folder is absent). Prints the accuracy per set.

use std::fs;
use std::path::{Path, PathBuf};

use karyostation::domain::modality::{Modality, detect_modality};
use karyostation::imageio::{LoadLimits, load_gray};

fn shared_data() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: real data folder {} is absent", dir.display());
        None
    }
}

/// PNG files directly in `dir` (depth 0) or in its subfolders (depth 1) whose
/// name ends with `suffix`, sorted.
fn pngs(dir: &Path, depth: usize, suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if depth > 0 && path.is_dir() {
            out.extend(pngs(&path, depth - 1, suffix));
        } else if depth == 0 && path.to_string_lossy().ends_with(suffix) {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// Fraction of `files` detected as `expected`; prints the misses.
fn accuracy(set: &str, files: &[PathBuf], expected: Modality) -> f64 {
    let mut right = 0usize;
    for path in files {
        let img = load_gray(path, &LoadLimits::default()).unwrap_or_else(|e| panic!("{e}"));
        if detect_modality(&img.gray) == expected {
            right += 1;
        } else {
            eprintln!("  {set}: {} detected wrongly", path.display());
        }
    }
    let acc = right as f64 / files.len().max(1) as f64;
    eprintln!(
        "{set}: {right}/{} detected as {expected} ({:.2}%)",
        files.len(),
        100.0 * acc
    );
    acc
}

#[test]
fn detects_modality_of_real_images() {
    let Some(data) = shared_data() else {
        return;
    };
    let sets = [
        (
            "bioimlab metaphases",
            pngs(&data.join("bioimlab/metaphases"), 0, ".png"),
            Modality::Fluorescence,
        ),
        (
            "mfish dapi",
            pngs(&data.join("mfish"), 1, "_dapi.png"),
            Modality::Fluorescence,
        ),
        (
            "bioimlab crops",
            pngs(&data.join("bioimlab/crops"), 1, ".png"),
            Modality::Fluorescence,
        ),
        (
            "pki3 karyograms",
            pngs(&data.join("pki3/karyograms"), 0, ".png"),
            Modality::Brightfield,
        ),
        (
            "pki3 crops",
            pngs(&data.join("pki3/crops"), 1, ".png"),
            Modality::Brightfield,
        ),
    ];
    for (set, files, expected) in &sets {
        if files.is_empty() {
            eprintln!("skipping {set}: no files");
            continue;
        }
        let acc = accuracy(set, files, *expected);
        assert!(acc >= 0.99, "{set}: accuracy {acc}");
    }
}
