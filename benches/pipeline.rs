//! Whole `analyze` of a spread, file to files: load, segment, measure,
//! classify, arrange, render the karyogram and write the outputs.
//!
//! Run with `cargo bench --bench pipeline` (release profile). Prints the
//! median, minimum and maximum wall-clock time per spread for a 768x576 and
//! a 2048x2048 synthetic G-band spread, and the stage breakdown of the
//! median run. A plain harness on purpose: these machines are shared, so the
//! figure is a median over repeated runs, never a timed unit test.

use std::time::Instant;

use karyostation::domain::modality::ModalityChoice;
use karyostation::domain::synth::SynthConfig;
use karyostation::pipeline::{ModelChoice, Pipeline, select_classifier, select_segmenter};

fn bench(label: &str, pipeline: &Pipeline, width: usize, height: usize, runs: usize) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let cfg = SynthConfig::new(width, height, 42);
    let png =
        karyostation::demo::write_synthetic(tmp.path(), "spread", &cfg).expect("write spread");
    let out = tmp.path().join("out");
    // Warm-up (page cache, band tables).
    let _ = pipeline.analyze_file(&png, ModalityChoice::Auto, &out);
    let mut runs_ms = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let report = pipeline
            .analyze_file(&png, ModalityChoice::Auto, &out)
            .expect("analyze");
        runs_ms.push((
            t.elapsed().as_secs_f64() * 1000.0,
            report.timings_ms,
            report.objects.len(),
        ));
    }
    runs_ms.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (median, stages, objects) = &runs_ms[runs_ms.len() / 2];
    println!(
        "{label} analyze {width}x{height}: median {median:.0} ms, min {:.0} ms, max {:.0} ms over {runs} runs ({objects} objects, {} threads)",
        runs_ms[0].0,
        runs_ms[runs_ms.len() - 1].0,
        rayon::current_num_threads()
    );
    let breakdown: Vec<String> = stages.iter().map(|(k, v)| format!("{k} {v:.0}")).collect();
    println!("  stages (ms): {}", breakdown.join(", "));
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this once, quickly.
    let quick = !std::env::args().any(|a| a == "--bench");
    let runs = if quick { 1 } else { 15 };
    let builtin = Pipeline::default();
    bench("built-in", &builtin, 768, 576, runs);
    bench("built-in", &builtin, 2048, 2048, if quick { 1 } else { 7 });
    let learned = select_segmenter(ModelChoice::Learned).and_then(|(segmenter, _)| {
        select_classifier(ModelChoice::Learned).map(|(classifier, _)| Pipeline {
            segmenter,
            classifier,
            ..Pipeline::default()
        })
    });
    match learned {
        Ok(p) => {
            let name = format!(
                "learned ({} + {})",
                p.segmenter.info().name,
                p.classifier.info().name
            );
            bench(&name, &p, 768, 576, runs);
            bench(&name, &p, 2048, 2048, if quick { 1 } else { 7 });
        }
        Err(e) => println!("learned models not measured: {e}"),
    }
}
