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
    spread_of_size((1024, 1024), seed, abnormalities)
}

fn spread_of_size(
    (w, h): (usize, usize),
    seed: u64,
    abnormalities: Vec<Abnormality>,
) -> SynthSpread {
    let mut cfg = SynthConfig::new(w, h, seed);
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

fn del11() -> Abnormality {
    Abnormality::Deletion {
        class: class(11),
        from_band: "q14".into(),
        to_band: "q22".into(),
    }
}

/// Seeds of the synthetic cells (1024 x 1024, chromosome 1 about 107 px).
const SEEDS: std::ops::Range<u64> = 100..108;

/// Per seed: the 1-based rank of each affected class's pair and whether its
/// top segment's named bands overlap the truth span (ISCN units).
fn measure(
    abnormality: &Abnormality,
    truth: &[(ChromosomeClass, &str, &str)],
) -> Vec<Vec<(usize, bool)>> {
    let ideo = |c| BandTable::get(BandLevel::B400).ideogram(c);
    SEEDS
        .map(|seed| {
            let ranked = rank_truth(&spread(seed, vec![abnormality.clone()]), BandLevel::B400);
            truth
                .iter()
                .map(|&(c, from, to)| {
                    let rank = ranked.iter().position(|p| p.class == c).unwrap() + 1;
                    let (t0, t1) = (
                        ideo(c).band_span(from).unwrap().0,
                        ideo(c).band_span(to).unwrap().1,
                    );
                    let overlap = ranked[rank - 1].segments.first().is_some_and(|s| {
                        let (n0, n1) = (
                            ideo(c).band_span(&s.first_band).unwrap().0,
                            ideo(c).band_span(&s.last_band).unwrap().1,
                        );
                        n0 < t1 && t0 < n1
                    });
                    (rank, overlap)
                })
                .collect()
        })
        .collect()
}

fn count(results: &[Vec<(usize, bool)>], pick: impl Fn(&[(usize, bool)]) -> bool) -> usize {
    results.iter().filter(|r| pick(r)).count()
}

// Measured over seeds 100..108 (the floors below are these rates):
// del(5)(q31q33): rank 1 in 8/8, named bands overlap the truth in 8/8;
// del(11)(q14q22): rank 1 in 7/8, bands overlap in 0/8 (found, but the
// segment lands next to the centromere: 11q12-q13 look much like the
// deleted q14-q22 at this resolution, so the placement is ambiguous);
// t(9;22): 9 and 22 the top two in 7/8, 22's bands overlap q11.2 in 8/8,
// 9's overlap q34 in 8/8 (named 9q34 in 5/8, 9q32-q34 or 9q33-q34 in 3/8;
// 3/8 before the der(9)'s foreign tail was named on the normal 9's scale:
// its 22q12-q13 band like 9q33-q34, so the ideogram alignment of the der
// put the breakpoint at 9q32).
#[test]
fn deletion_of_5q31_q33_ranks_first_and_is_named() {
    let r = measure(&del5(), &[(class(5), "q31", "q33")]);
    println!("del(5)(q31q33): {r:?}");
    assert!(count(&r, |r| r[0].0 == 1) >= 8, "{r:?}");
    assert!(count(&r, |r| r[0].1) >= 7, "{r:?}");
}

#[test]
fn deletion_of_11q14_q22_ranks_first() {
    let r = measure(&del11(), &[(class(11), "q14", "q22")]);
    println!("del(11)(q14q22): {r:?}");
    assert!(count(&r, |r| r[0].0 == 1) >= 7, "{r:?}");
}

#[test]
fn translocation_9_22_ranks_its_pairs_on_top() {
    let r = measure(
        &t922(),
        &[(class(9), "q34", "q34"), (class(22), "q11.2", "q11.2")],
    );
    println!("t(9;22)(q34;q11.2): {r:?}");
    assert!(count(&r, |r| r[0].0 <= 2 && r[1].0 <= 2) >= 7, "{r:?}");
    assert!(count(&r, |r| r[1].1) >= 7, "{r:?}");
    assert!(count(&r, |r| r[0].1) >= 7, "{r:?}");
}

#[test]
fn normal_cells_rarely_pass_the_flag_threshold() {
    let threshold = crate::domain::analysis::AnalysisParams::default().homolog_threshold;
    let mut scores: Vec<f64> = Vec::new();
    for seed in SEEDS {
        let ranked = rank_truth(&spread(seed, Vec::new()), BandLevel::B400);
        assert_eq!(ranked.len(), 23, "22 autosome pairs and XX");
        scores.extend(ranked.iter().map(|p| p.score));
    }
    let flagged = scores.iter().filter(|&&s| s > threshold).count();
    let max = scores.iter().copied().fold(0.0, f64::max);
    println!(
        "normal pairs: {flagged} of {} above {threshold}; max {max:.1}",
        scores.len()
    );
    // Measured: 0 of 184 pairs, max 6.1.
    assert!(flagged <= 1, "{flagged}");
    // And an abnormal pair is above it.
    let ranked = rank_truth(&spread(100, vec![del5()]), BandLevel::B400);
    let five = ranked.iter().find(|p| p.class == class(5)).unwrap();
    assert!(five.score > threshold, "{}", five.score);
}

#[test]
fn profiles_of_degenerate_crops_are_safe() {
    assert!(banding_profile(&GrayImage::new(0, 0, 255)).is_empty());
    assert!(banding_profile(&GrayImage::new(5, 0, 255)).is_empty());
    assert!(
        banding_profile(&GrayImage::new(9, 9, 255)).is_empty(),
        "no foreground"
    );
    let one = banding_profile(&GrayImage::new(1, 1, 40));
    assert_eq!(one.len(), 1);
    assert!(one[0].is_finite());
    // One dark row among empty ones: the empty rows take its value.
    let mut img = GrayImage::new(7, 5, 255);
    img.set(3, 2, 30);
    let p = banding_profile(&img);
    assert_eq!(p.len(), 5);
    assert!(p.iter().all(|v| v.is_finite()));
    // Dark top, pale bottom, gap in the middle: interpolated, top darker.
    let mut rod = GrayImage::new(9, 40, 255);
    for y in 0..40 {
        if (18..22).contains(&y) {
            continue;
        }
        for x in 2..7 {
            rod.set(x, y, if y < 20 { 60 } else { 200 });
        }
    }
    let p = banding_profile(&rod);
    assert_eq!(p.len(), 40);
    assert!(p[0] > p[39] && p[19] < p[0] && p[19] > p[39], "{p:?}");
}

#[test]
fn comparisons_of_odd_inputs_are_finite() {
    let five = class(5);
    for (a, b) in [
        (vec![], vec![]),
        (vec![1.0], vec![1.0, 2.0]),
        (vec![0.0; 2], vec![0.0; 300]),
        (vec![0.0; 40], vec![0.0; 40]),
        (vec![f64::NAN, 1.0, 2.0], vec![1.0, f64::INFINITY, 0.0]),
        (
            (0..500).map(|i| f64::from(i % 7)).collect(),
            vec![3.0, -1.0, 2.0],
        ),
    ] {
        let (score, segments) = compare_pair(five, BandLevel::B850, &a, &b);
        assert!(score.is_finite() && score >= 0.0, "{a:?} {b:?}: {score}");
        for s in &segments {
            assert!(s.strength.is_finite());
            assert!(
                (0.0..=1.0).contains(&s.a.0) && s.a.0 <= s.a.1 && s.a.1 <= 1.0,
                "{s:?}"
            );
            assert!(
                (0.0..=1.0).contains(&s.b.0) && s.b.0 <= s.b.1 && s.b.1 <= 1.0,
                "{s:?}"
            );
            assert!(s.bands.starts_with('5'), "{s:?}");
        }
    }
    // Identical profiles do not differ; a terminal loss or a changed
    // stretch does.
    let p: Vec<f64> = (0..80).map(|i| (f64::from(i) * 0.4).sin()).collect();
    assert_eq!(compare_pair(five, BandLevel::B400, &p, &p).0, 0.0);
    let mut changed = p.clone();
    changed[30..50].iter_mut().for_each(|v| *v = 2.0);
    let mut half = p.clone();
    half.truncate(45);
    assert!(compare_pair(five, BandLevel::B400, &p, &half).0 > 0.0);
    let (score, segments) = compare_pair(five, BandLevel::B400, &p, &changed);
    assert!(score > 0.0);
    let s = &segments[0];
    assert!(s.a.0 < 50.0 / 80.0 && s.a.1 > 30.0 / 80.0, "{s:?}");
}

#[test]
fn ranking_handles_single_members_and_crowded_classes() {
    let profile: Vec<f64> = (0..60).map(|i| (f64::from(i) * 0.5).cos()).collect();
    let other: Vec<f64> = (0..50).map(|i| (f64::from(i) * 0.9).sin()).collect();
    let empty: Vec<f64> = Vec::new();
    let member = |id: u32, c: ChromosomeClass, slot: u32, p: &'static [f64]| HomologMember {
        id: ObjectId(id),
        class: c,
        slot,
        profile: p,
    };
    let leak = |v: &Vec<f64>| -> &'static [f64] { Box::leak(v.clone().into_boxed_slice()) };
    let (p, o, e) = (leak(&profile), leak(&other), leak(&empty));
    let members = vec![
        // Five copies of 7: the two lowest slots (3 and 1) are the pair.
        member(0, class(7), 4, o),
        member(1, class(7), 3, p),
        member(2, class(7), 9, o),
        member(3, class(7), 1, p),
        member(4, class(7), 5, e),
        // A single X and Y: no pair.
        member(5, ChromosomeClass::X, 0, p),
        member(6, ChromosomeClass::Y, 0, o),
        // 21 with an empty profile against a real one.
        member(7, class(21), 0, e),
        member(8, class(21), 1, p),
        // 2: two different profiles.
        member(9, class(2), 0, p),
        member(10, class(2), 1, o),
    ];
    let ranked = rank_pairs(&members, BandLevel::B400);
    assert_eq!(ranked.len(), 3, "{ranked:?}");
    let seven = ranked.iter().find(|r| r.class == class(7)).unwrap();
    assert_eq!((seven.a, seven.b), (ObjectId(3), ObjectId(1)));
    assert_eq!(seven.score, 0.0, "identical profiles");
    let twentyone = ranked.iter().find(|r| r.class == class(21)).unwrap();
    assert_eq!(twentyone.score, 0.0);
    assert_eq!(ranked[0].class, class(2), "{ranked:?}");
    assert!(ranked[0].score > 0.0);
    assert!(ranked.windows(2).all(|w| w[0].score >= w[1].score));
    assert!(rank_pairs(&[], BandLevel::B400).is_empty());
}

/// The flag threshold was calibrated on 1024 x 1024 cells; at 768 x 576
/// (chromosome 1 about 70 px) it still holds. Measured: normal pairs 2 of
/// 184 above it (max 10.9); del(5)(q31q33) ranked first 8/8 and named
/// overlapping q31-q33 8/8.
#[test]
fn the_threshold_and_the_deletion_hold_on_smaller_cells() {
    let threshold = crate::domain::analysis::AnalysisParams::default().homolog_threshold;
    let ideo = BandTable::get(BandLevel::B400).ideogram(class(5));
    let truth = (
        ideo.band_span("q31").unwrap().0,
        ideo.band_span("q33").unwrap().1,
    );
    let (mut flagged, mut pairs, mut first, mut named) = (0, 0, 0, 0);
    for seed in SEEDS {
        let ranked = rank_truth(
            &spread_of_size((768, 576), seed, Vec::new()),
            BandLevel::B400,
        );
        pairs += ranked.len();
        flagged += ranked.iter().filter(|p| p.score > threshold).count();
        let ranked = rank_truth(
            &spread_of_size((768, 576), seed, vec![del5()]),
            BandLevel::B400,
        );
        first += usize::from(ranked[0].class == class(5) && ranked[0].score > threshold);
        named += usize::from(ranked[0].segments.first().is_some_and(|s| {
            let from = ideo.band_span(&s.first_band).unwrap().0;
            let to = ideo.band_span(&s.last_band).unwrap().1;
            from < truth.1 && truth.0 < to
        }));
    }
    println!(
        "768x576: normal pairs {flagged}/{pairs} above {threshold}; del(5) first {first}/8, named {named}/8"
    );
    assert!(flagged <= 3, "{flagged}");
    assert!(first >= 7 && named >= 7, "{first} {named}");
}
