use super::*;
use crate::domain::geometry::{medial_axis, straighten, width_profile};
use crate::domain::synth::{Abnormality, SynthConfig, SynthSpread, generate_spread};

fn class(n: u8) -> ChromosomeClass {
    ChromosomeClass::autosome(n).unwrap()
}

/// Straightened G-band-look crop of a truth instance, p arm up (the same
/// geometry as `crop::straightened_crop`).
fn truth_crop(spread: &SynthSpread, index: usize) -> GrayImage {
    let inst = &spread.instances[index];
    let axis = medial_axis(&inst.region);
    let widest = width_profile(&inst.region, &axis)
        .into_iter()
        .fold(1.0_f64, f64::max);
    let half = (widest / 2.0 + 2.0).ceil() as usize;
    let crop = straighten(&spread.image, &inst.region, &axis, half, 255.0, true);
    let dist = |p: (f64, f64), q: (f64, f64)| (p.0 - q.0).hypot(p.1 - q.1);
    let pter = inst.axis.first().copied().unwrap_or_default();
    let (top, bottom) = (axis[0], axis[axis.len() - 1]);
    if dist(pter, bottom) < dist(pter, top) {
        crop.rotated_180()
    } else {
        crop
    }
}

/// Profiles of every instance, and their members (slot = order within class).
fn truth_profiles(spread: &SynthSpread) -> Vec<(ChromosomeClass, u32, Vec<f64>)> {
    let mut out: Vec<(ChromosomeClass, u32, Vec<f64>)> = Vec::new();
    for (i, inst) in spread.instances.iter().enumerate() {
        let slot = out.iter().filter(|m| m.0 == inst.class).count() as u32;
        out.push((inst.class, slot, banding_profile(&truth_crop(spread, i))));
    }
    out
}

fn rank_truth(spread: &SynthSpread, level: BandLevel) -> Vec<PairDifference> {
    let profiles = truth_profiles(spread);
    let members: Vec<HomologMember<'_>> = profiles
        .iter()
        .enumerate()
        .map(|(i, (c, slot, p))| HomologMember {
            id: ObjectId(i as u32),
            class: *c,
            slot: *slot,
            profile: p,
        })
        .collect();
    rank_pairs(&members, level)
}

fn spread(seed: u64, abnormalities: Vec<Abnormality>) -> SynthSpread {
    let mut cfg = SynthConfig::new(1024, 1024, seed);
    cfg.abnormalities = abnormalities;
    generate_spread(&cfg)
}

fn del5() -> Abnormality {
    Abnormality::Deletion {
        class: class(5),
        from_band: "q31".into(),
        to_band: "q33".into(),
    }
}

fn t922() -> Abnormality {
    Abnormality::Translocation {
        a: class(9),
        a_band: "q34".into(),
        b: class(22),
        b_band: "q11.2".into(),
    }
}

#[test]
#[ignore = "calibration printout"]
fn explore() {
    for seed in 0..4 {
        for (name, ab) in [
            ("normal", vec![]),
            ("del5", vec![del5()]),
            ("t922", vec![t922()]),
        ] {
            let s = spread(100 + seed, ab);
            let ranked = rank_truth(&s, BandLevel::B400);
            let top: Vec<String> = ranked
                .iter()
                .take(5)
                .map(|p| {
                    format!(
                        "{}:{:.1}[{}]",
                        p.class,
                        p.score,
                        p.segments.first().map_or("", |s| s.bands.as_str())
                    )
                })
                .collect();
            println!("seed {seed} {name}: {}", top.join(" "));
        }
    }
}
