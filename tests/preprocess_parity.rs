//! The classifier's input as the app prepares it (`src/infer/preprocess.rs`)
//! against the training code's (`models/train/crop_preprocess.py`, run with
//! Python): the model only knows what training showed it, so the two must
//! agree crop for crop. Needs a Python with numpy and Pillow
//! (`support/python.rs` says which it takes).

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "support/python.rs"]
mod python;

use karyostation::domain::raster::GrayImage;
use karyostation::imageio::save_gray_png;
use karyostation::infer::preprocess::{INPUT_HEIGHT, INPUT_WIDTH, classifier_input, upright};

/// A dark rod `len` x 12 px on a `side` x `side` canvas of `background`,
/// leaning `lean` degrees (lower end to the right), with a darker band near
/// its upper end and a paler one below the middle.
fn rod(side: usize, len: f64, lean: f64, background: u8) -> GrayImage {
    let mut img = GrayImage::new(side, side, background);
    let (dx, dy) = (lean.to_radians().sin(), lean.to_radians().cos());
    let c = side as f64 / 2.0;
    for y in 0..side {
        for x in 0..side {
            let (px, py) = (x as f64 - c, y as f64 - c);
            let along = px * dx + py * dy;
            let across = px * dy - py * dx;
            if along.abs() <= len / 2.0 && across.abs() <= 6.0 {
                let t = along / len;
                let v = if t < -0.35 {
                    25
                } else if (0.1..0.2).contains(&t) {
                    150
                } else {
                    80
                };
                img.set(x as i64, y as i64, v);
            }
        }
    }
    img
}

/// Up to `n` crops of a shared-data crop folder, in G-band look.
fn real_crops(csv: &Path, n: usize, invert: bool) -> Vec<(String, GrayImage)> {
    let Ok(text) = std::fs::read_to_string(csv) else {
        return Vec::new();
    };
    let base = csv.parent().unwrap();
    let limits = karyostation::imageio::LoadLimits::default();
    text.lines()
        .skip(1)
        .step_by(97)
        .take(n)
        .filter_map(|line| {
            let rel = line.split(',').next()?;
            let loaded = karyostation::imageio::load_gray(&base.join(rel), &limits).ok()?;
            let mut img = loaded.gray;
            if invert {
                for v in img.data_mut() {
                    *v = 255 - *v;
                }
            }
            Some((rel.to_string(), img))
        })
        .collect()
}

#[test]
fn the_app_prepares_a_crop_as_training_did() {
    let Some(python) = python::python_with("numpy, PIL", "the preprocessing parity check") else {
        return;
    };
    let mut crops: Vec<(String, GrayImage)> = vec![
        ("upright rod".into(), rod(120, 80.0, 0.0, 255)),
        ("rod leaning 8 degrees".into(), rod(120, 80.0, 8.0, 250)),
        ("rod leaning 30 degrees".into(), rod(120, 80.0, 30.0, 255)),
        ("rod leaning -55 degrees".into(), rod(140, 90.0, -55.0, 245)),
        ("short rod, upscaled".into(), rod(40, 20.0, 0.0, 255)),
        ("rod on a padded canvas".into(), rod(200, 40.0, 0.0, 255)),
        ("rod on a grey background".into(), rod(100, 60.0, 0.0, 200)),
    ];
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    crops.extend(real_crops(&data.join("pki3/crops.csv"), 12, false));
    crops.extend(real_crops(&data.join("bioimlab/crops.csv"), 12, true));

    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<PathBuf> = (0..crops.len())
        .map(|i| dir.path().join(format!("crop{i}.png")))
        .collect();
    for ((_, img), path) in crops.iter().zip(&paths) {
        save_gray_png(path, img).unwrap();
    }
    let out = dir.path().join("inputs.f32");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/train/crop_preprocess.py");
    let o = Command::new(&python)
        .arg(&script)
        .arg(&out)
        .args(&paths)
        .output()
        .unwrap_or_else(|e| panic!("run {python}: {e}"));
    assert!(
        o.status.success(),
        "crop_preprocess.py failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let bytes = std::fs::read(&out).unwrap();
    let per_crop = INPUT_HEIGHT * INPUT_WIDTH;
    assert_eq!(bytes.len(), crops.len() * per_crop * 4);
    let python_inputs: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();

    for (k, (name, img)) in crops.iter().enumerate() {
        let ours = classifier_input(img);
        let theirs = &python_inputs[k * per_crop..(k + 1) * per_crop];
        let diffs: Vec<f32> = ours
            .iter()
            .zip(theirs)
            .map(|(a, b)| (a - b).abs())
            .collect();
        let mean = diffs.iter().sum::<f32>() / per_crop as f32;
        let max = diffs.iter().copied().fold(0.0, f32::max);
        // How much chromosome each input holds (its scale).
        let mass = |v: &[f32]| v.iter().sum::<f32>();
        let share = (mass(&ours) - mass(theirs)).abs() / mass(theirs).max(1.0);
        if upright(img).is_some() {
            // Turned: the two rotations round the turned canvas differently
            // (Pillow from the corners' floor and ceiling, the app from the
            // turned extent), so the cut can differ by a pixel and a small
            // crop's scale with it. Measured on these crops: mean difference
            // up to 0.022, chromosome mass up to 9.6% apart (a 23 x 18 crop).
            // A turn the wrong way, or about another centre, is far beyond.
            assert!(
                mean < 0.03 && share < 0.15,
                "{name}: mean {mean} share {share}"
            );
        } else {
            // Same pixels, resized the way Pillow does (one level of rounding).
            assert!(
                max <= 1.5 / 255.0,
                "{name}: max difference {max}, mean {mean}"
            );
        }
    }
}
