//! The homolog-difference flag in the full pipeline (built-in segmenter and
//! classifier) on a synthetic cell, and what it costs per cell.
//!
//! The timing is printed (run with `--nocapture`), and only bounded loosely
//! here so that a slow CI machine does not fail: the figure that matters is
//! the printed one.

use std::path::Path;
use std::time::Instant;

use karyostation::domain::analysis::ObjectFlag;
use karyostation::domain::bands::BandLevel;
use karyostation::domain::karyogram::homolog::{HomologMember, banding_profile, rank_pairs};
use karyostation::domain::modality::{Modality, ModalityChoice};
use karyostation::domain::synth::{SynthConfig, generate_spread};
use karyostation::pipeline::Pipeline;

#[test]
fn homolog_ranking_of_a_46_chromosome_cell_takes_a_few_ms() {
    let spread = generate_spread(&SynthConfig::new(1024, 1024, 7));
    let pipeline = Pipeline::default();
    let (analysis, timings) = pipeline
        .analyze_gray(
            Path::new("synthetic"),
            &spread.image,
            ModalityChoice::Brightfield,
        )
        .expect("analysis");
    assert!(analysis.objects.len() >= 40, "{}", analysis.objects.len());
    // The same work `arrange_cell` does for the flag: profiles of the
    // upright crops, then the ranking of the pairs.
    let runs = 5;
    let t = Instant::now();
    let mut pairs = 0;
    for _ in 0..runs {
        let profiles: Vec<Vec<f64>> = analysis
            .objects
            .iter()
            .map(|o| banding_profile(&o.upright_crop(Modality::Brightfield)))
            .collect();
        let members: Vec<HomologMember<'_>> = analysis
            .objects
            .iter()
            .zip(&profiles)
            .enumerate()
            .filter_map(|(slot, (o, p))| {
                Some(HomologMember {
                    id: o.id,
                    class: o.class()?,
                    slot: slot as u32,
                    profile: p,
                })
            })
            .collect();
        pairs = rank_pairs(&members, BandLevel::B400).len();
    }
    let ms = t.elapsed().as_secs_f64() * 1000.0 / f64::from(runs);
    let flagged = analysis
        .objects
        .iter()
        .filter(|o| o.flags.contains(&ObjectFlag::HomologDiffers))
        .count();
    println!(
        "homolog profiles + ranking: {ms:.2} ms per cell ({} objects, {pairs} pairs); \
         arrange stage {:?}; {flagged} objects flagged",
        analysis.objects.len(),
        timings.iter().find(|(s, _)| s == "arrange").map(|t| t.1),
    );
    assert!(pairs >= 20, "{pairs}");
    assert!(ms < 200.0, "{ms} ms");
}
