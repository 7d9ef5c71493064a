//! Which objects the segmentation's check against the ideogram
//! (`domain::refine`) cuts, against the truth: one line per cut, then a
//! tally of single and merged objects (two truth chromosomes each at least
//! half inside) kept and cut, with each merged object kept and its fit. `KS_UNGATED=1` runs the check in every cell,
//! whatever the cell's median fit.
//!
//! `cargo run --release --example diag_fit -- synthetic [COUNT] [SEED]` or
//! `... -- bioimlab DATA_DIR`.
use karyostation::domain::analysis::measure_objects;
use karyostation::domain::classify::builtin::BuiltinClassifier;
use karyostation::domain::modality::{ModalityChoice, density, resolve};
use karyostation::domain::raster::{GrayImage, Region};
use karyostation::domain::refine::{FitCheckParams, plan_cuts};
use karyostation::domain::synth::{Sex, SynthConfig, generate_spread};
use karyostation::eval::bioimlab_truth;
use karyostation::imageio::{LoadLimits, load_gray};
use karyostation::pipeline::Pipeline;

fn report(
    name: &str,
    pipeline: &Pipeline,
    gray: &GrayImage,
    truth: &[Region],
    tally: &mut [usize; 4],
) {
    let modality = resolve(ModalityChoice::Auto, gray);
    let Ok(seg) = pipeline.segmenter.segment(gray, modality) else {
        return;
    };
    let measured = measure_objects(gray, modality, &seg);
    let dens = density(gray, modality);
    let mut params = FitCheckParams::default();
    if std::env::var_os("KS_UNGATED").is_some() {
        params.min_cell_fit = f64::NEG_INFINITY;
    }
    let plan = plan_cuts(&BuiltinClassifier::default(), &dens, &measured, &params);
    for (m, cut) in measured.iter().zip(&plan) {
        let covered = truth
            .iter()
            .filter(|t| t.intersection(&m.region) as f64 >= 0.5 * t.area() as f64)
            .count();
        let merged = covered >= 2;
        tally[usize::from(merged) * 2 + usize::from(cut.is_some())] += 1;
        if merged && cut.is_none() {
            let mean =
                measured.iter().map(|m| m.geometry.length_px).sum::<f64>() / measured.len() as f64;
            let fit =
                BuiltinClassifier::default().fit(&m.features, Some(m.geometry.length_px / mean));
            println!(
                "{name} KEPT merged covered={covered} area={} fit={fit:.2} rel_len={:.2}",
                m.region.area(),
                m.geometry.length_px / mean
            );
        }
        if let Some(c) = cut {
            // Are the parts each matched to a truth at IoU >= 0.5?
            let good = c
                .regions
                .iter()
                .filter(|r| truth.iter().any(|t| t.iou(r) >= 0.5))
                .count();
            let whole_ok = truth.iter().any(|t| t.iou(&m.region) >= 0.5);
            println!(
                "{name} CUT merged={} covered={covered} whole_ok={whole_ok} parts_ok={good} bbox={:?} worse={:.2}",
                u8::from(merged),
                m.region.bbox,
                c.worse()
            );
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let pipeline = Pipeline::default();
    let mut tally = [0usize; 4];
    if args.get(1).map(String::as_str) == Some("bioimlab") {
        let dir = std::path::Path::new(&args[2]).join("bioimlab/metaphases");
        let mut jsons: Vec<_> = std::fs::read_dir(&dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        jsons.sort();
        for json in jsons {
            let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json)?)?;
            let Ok(loaded) = load_gray(&json.with_extension("png"), &LoadLimits::default()) else {
                continue;
            };
            let (w, h) = (loaded.gray.width(), loaded.gray.height());
            let truth = bioimlab_truth(&doc, w, h);
            let name = json.file_stem().unwrap().to_string_lossy().into_owned();
            report(&name, &pipeline, &loaded.gray, &truth, &mut tally);
        }
    } else {
        let count: usize = args.get(2).map_or(Ok(40), |s| s.parse())?;
        let seed: u64 = args.get(3).map_or(Ok(1000), |s| s.parse())?;
        for k in 0..count {
            let mut cfg = SynthConfig::new(768, 576, seed + k as u64);
            cfg.sex = if k % 2 == 0 { Sex::Female } else { Sex::Male };
            let spread = generate_spread(&cfg);
            let truth: Vec<Region> = spread.instances.iter().map(|i| i.region.clone()).collect();
            report(
                &format!("syn{k}"),
                &pipeline,
                &spread.image,
                &truth,
                &mut tally,
            );
        }
    }
    println!(
        "single kept {} single cut {} merged kept {} merged cut {}",
        tally[0], tally[1], tally[2], tally[3]
    );
    Ok(())
}
