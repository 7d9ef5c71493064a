//! The built-in demo case and synthetic data files: synthetic G-band
//! spreads written as PNG with their ground truth as JSON.

use std::path::{Path, PathBuf};

use crate::domain::synth::{Abnormality, Sex, SynthConfig, generate_spread};
use crate::imageio::save_gray_png;
use crate::pipeline::PipelineError;

/// The demo case: one normal cell of each sex, a trisomy 21, a deletion
/// del(5)(q31q33) and a translocation t(9;22)(q34;q11.2).
pub fn demo_case() -> Vec<(&'static str, SynthConfig)> {
    let cell = |seed: u64, sex: Sex, abnormalities: &[&str]| {
        let mut cfg = SynthConfig::new(768, 576, seed);
        cfg.sex = sex;
        cfg.abnormalities = abnormalities
            .iter()
            .filter_map(|a| Abnormality::parse(a).ok())
            .collect();
        cfg
    };
    vec![
        ("demo_01_normal_female", cell(101, Sex::Female, &[])),
        ("demo_02_normal_male", cell(102, Sex::Male, &[])),
        ("demo_03_trisomy_21", cell(103, Sex::Male, &["+21"])),
        ("demo_04_del5q", cell(104, Sex::Female, &["del(5)(q31q33)"])),
        (
            "demo_05_t9_22",
            cell(105, Sex::Male, &["t(9;22)(q34;q11.2)"]),
        ),
    ]
}

/// Writes `DIR/NAME.png` and `DIR/NAME.truth.json` for a synthetic spread and
/// returns the PNG path.
///
/// # Errors
/// When the directory or files cannot be written.
pub fn write_synthetic(
    dir: &Path,
    name: &str,
    cfg: &SynthConfig,
) -> Result<PathBuf, PipelineError> {
    std::fs::create_dir_all(dir).map_err(|source| PipelineError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let spread = generate_spread(cfg);
    let png = dir.join(format!("{name}.png"));
    save_gray_png(&png, &spread.image)?;
    let truth_path = dir.join(format!("{name}.truth.json"));
    let json = serde_json::to_vec_pretty(&spread.truth()).map_err(|e| PipelineError::Write {
        path: truth_path.clone(),
        source: std::io::Error::other(e),
    })?;
    std::fs::write(&truth_path, json).map_err(|source| PipelineError::Write {
        path: truth_path,
        source,
    })?;
    Ok(png)
}
