use super::*;

fn class(n: u8) -> ChromosomeClass {
    ChromosomeClass::autosome(n).unwrap()
}

fn cfg(seed: u64) -> SynthConfig {
    SynthConfig::new(768, 576, seed)
}

fn dist(a: (f64, f64), b: (f64, f64)) -> f64 {
    (a.0 - b.0).hypot(a.1 - b.1)
}

/// True when some pixel of `a` lies within Chebyshev distance `r` of `b`.
fn within(a: &Region, b: &Region, r: i64) -> bool {
    a.pixels().iter().any(|&(x, y)| {
        (-r..=r).any(|dy| (-r..=r).any(|dx| b.contains(x as i64 + dx, y as i64 + dy)))
    })
}

#[test]
fn same_seed_same_spread_and_different_seed_differs() {
    let a = generate_spread(&cfg(11));
    let b = generate_spread(&cfg(11));
    assert_eq!(a, b);
    let c = generate_spread(&cfg(12));
    assert_ne!(a.image, c.image);
}

#[test]
fn counts_and_karyotypes() {
    let mut male = cfg(1);
    male.sex = Sex::Male;
    let cases: Vec<(SynthConfig, usize, &str)> = vec![
        (cfg(1), 46, "46,XX"),
        (male.clone(), 46, "46,XY"),
        (
            SynthConfig {
                abnormalities: vec![Abnormality::Trisomy(class(21))],
                ..male.clone()
            },
            47,
            "47,XY,+21",
        ),
        (
            SynthConfig {
                abnormalities: vec![Abnormality::Monosomy(class(7))],
                ..cfg(2)
            },
            45,
            "45,XX,-7",
        ),
        (
            SynthConfig {
                abnormalities: vec![Abnormality::Deletion {
                    class: class(5),
                    from_band: "q31".into(),
                    to_band: "q33".into(),
                }],
                ..cfg(3)
            },
            46,
            "46,XX,del(5)(q31q33)",
        ),
        (
            SynthConfig {
                abnormalities: vec![Abnormality::Translocation {
                    a: class(9),
                    a_band: "q34".into(),
                    b: class(22),
                    b_band: "q11.2".into(),
                }],
                ..male.clone()
            },
            46,
            "46,XY,t(9;22)(q34;q11.2)",
        ),
        (
            SynthConfig {
                abnormalities: vec![Abnormality::Trisomy(ChromosomeClass::X)],
                ..male.clone()
            },
            47,
            "47,XXY",
        ),
    ];
    for (c, n, k) in cases {
        let s = generate_spread(&c);
        assert_eq!(s.instances.len(), n, "{k}");
        assert_eq!(s.karyotype, k);
        assert!(s.warnings.is_empty(), "{k}: {:?}", s.warnings);
    }
    let bad = SynthConfig {
        abnormalities: vec![Abnormality::Deletion {
            class: class(5),
            from_band: "q99".into(),
            to_band: "q33".into(),
        }],
        ..cfg(4)
    };
    let s = generate_spread(&bad);
    assert_eq!(s.karyotype, "46,XX");
    assert_eq!(s.warnings.len(), 1);
}

#[test]
fn masks_axes_and_contacts_are_consistent() {
    let mut c = cfg(5);
    c.overlap_pairs = 1;
    let s = generate_spread(&c);
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    let (w, h) = (s.image.width(), s.image.height());
    let five = class(5);
    let mut n_touching = 0;
    for inst in &s.instances {
        let b = inst.region.bbox;
        assert!(inst.region.area() > 0);
        assert!(b.x > 0 && b.y > 0 && b.x + b.w < w && b.y + b.h < h);
        // Area roughly proportional to length (width about 8 px).
        let ratio = inst.region.area() as f64 / (inst.length_px * c.width_px);
        assert!(
            (0.6..1.1).contains(&ratio),
            "{} area ratio {ratio}",
            inst.class
        );
        let axis_len: f64 = inst.axis.windows(2).map(|p| dist(p[0], p[1])).sum();
        assert!((axis_len - inst.length_px).abs() < 0.05 * inst.length_px);
        if inst.class == five {
            let p = dist(inst.centromere, inst.axis[0]);
            let q = dist(inst.centromere, *inst.axis.last().unwrap());
            assert!(p < 0.6 * q, "5p is the short arm: {p} vs {q}");
        }
        n_touching += usize::from(inst.touching);
    }
    assert!(n_touching >= 4, "{n_touching} touching");
    assert_eq!(s.instances.iter().filter(|i| i.overlapping).count(), 2);
    for (i, a) in s.instances.iter().enumerate() {
        let close_to_other = s
            .instances
            .iter()
            .enumerate()
            .any(|(j, b)| i != j && within(&a.region, &b.region, 1));
        assert_eq!(a.touching || a.overlapping, close_to_other, "instance {i}");
        if !a.touching && !a.overlapping {
            for (j, b) in s.instances.iter().enumerate() {
                assert!(
                    i == j || !within(&a.region, &b.region, 2),
                    "{i} and {j} closer than 3 px"
                );
            }
        }
    }
    // Debris and nucleus keep apart from chromosomes.
    let nucleus = s.nucleus.as_ref().unwrap();
    assert!(nucleus.area() > 3000);
    assert_eq!(s.debris.len(), 6);
    for d in s.debris.iter().chain([nucleus]) {
        assert!(s.instances.iter().all(|i| !within(&i.region, d, 2)));
    }
    // Truth serializes with string classes.
    let json = serde_json::to_string(&s.truth()).unwrap();
    assert!(json.contains("\"class\":\"X\"") && json.contains("\"karyotype\":\"46,XX\""));
}

#[test]
fn image_has_the_g_band_look() {
    let s = generate_spread(&cfg(6));
    let img = &s.image;
    let mut inside: Vec<u8> = s
        .instances
        .iter()
        .filter(|i| !i.overlapping)
        .flat_map(|i| i.region.pixels())
        .map(|(x, y)| img.at(x, y))
        .collect();
    inside.sort_unstable();
    let median = inside[inside.len() / 2];
    assert!((60..=150).contains(&median), "chromosome median {median}");
    // Background: pixels more than 3 px from every object.
    let (w, h) = (img.width(), img.height());
    let mut near = vec![false; w * h];
    for region in s
        .instances
        .iter()
        .map(|i| &i.region)
        .chain(s.nucleus.as_ref())
    {
        for (x, y) in region.pixels() {
            for yy in y.saturating_sub(3)..(y + 4).min(h) {
                for xx in x.saturating_sub(3)..(x + 4).min(w) {
                    near[yy * w + xx] = true;
                }
            }
        }
    }
    let mut bg: Vec<u8> = (0..w * h)
        .filter(|&i| !near[i])
        .map(|i| img.data()[i])
        .collect();
    bg.sort_unstable();
    let bg_median = bg[bg.len() / 2];
    assert!(bg_median > 190, "background {bg_median}");
}

fn zero_jitter(mut c: SynthConfig) -> SynthConfig {
    c.length_jitter = 0.0;
    c
}

fn lengths_of(s: &SynthSpread, c: ChromosomeClass) -> (Vec<f64>, Vec<f64>) {
    let normal = s
        .instances
        .iter()
        .filter(|i| i.class == c && i.derivative.is_none())
        .map(|i| i.length_px)
        .collect();
    let der = s
        .instances
        .iter()
        .filter(|i| i.class == c && i.derivative.is_some())
        .map(|i| i.length_px)
        .collect();
    (normal, der)
}

#[test]
fn deletion_shortens_chromosome_5_by_the_deleted_span() {
    let c = zero_jitter(SynthConfig {
        abnormalities: vec![Abnormality::Deletion {
            class: class(5),
            from_band: "q31".into(),
            to_band: "q33".into(),
        }],
        ..cfg(7)
    });
    let s = generate_spread(&c);
    let (normal, del) = lengths_of(&s, class(5));
    assert_eq!((normal.len(), del.len()), (1, 1));
    let ideo = BandTable::get(c.band_level).ideogram(class(5));
    let (start, _) = ideo.band_span("q31").unwrap();
    let (_, stop) = ideo.band_span("q33").unwrap();
    let expected = 1.0 - (stop - start) / ideo.length();
    assert!(
        (del[0] / normal[0] - expected).abs() < 0.01,
        "{} vs {expected}",
        del[0] / normal[0]
    );
    let d = s.instances.iter().find(|i| i.derivative.is_some()).unwrap();
    assert_eq!(d.derivative.as_deref(), Some("del(5)(q31q33)"));
}

#[test]
fn translocation_derivatives_have_the_expected_lengths() {
    let c = zero_jitter(SynthConfig {
        abnormalities: vec![Abnormality::Translocation {
            a: class(9),
            a_band: "q34".into(),
            b: class(22),
            b_band: "q11.2".into(),
        }],
        ..cfg(8)
    });
    let s = generate_spread(&c);
    let table = BandTable::get(c.band_level);
    let (i9, i22) = (table.ideogram(class(9)), table.ideogram(class(22)));
    let mid = |i: &crate::domain::bands::Ideogram, b: &str| {
        let (s, e) = i.band_span(b).unwrap();
        0.5 * (s + e)
    };
    let (bp9, bp22) = (mid(i9, "q34"), mid(i22, "q11.2"));
    let (n9, d9) = lengths_of(&s, class(9));
    let (n22, d22) = lengths_of(&s, class(22));
    assert_eq!((n9.len(), d9.len(), n22.len(), d22.len()), (1, 1, 1, 1));
    let px_per_unit = n9[0] / i9.length();
    let e9 = (bp9 + i22.length() - bp22) * px_per_unit;
    let e22 = (bp22 + i9.length() - bp9) * px_per_unit;
    assert!((d9[0] - e9).abs() < 0.01 * e9, "der(9) {} vs {e9}", d9[0]);
    assert!(
        (d22[0] - e22).abs() < 0.01 * e22,
        "der(22) {} vs {e22}",
        d22[0]
    );
    assert!((n22[0] - i22.length() * px_per_unit).abs() < 0.01 * n22[0]);
    let ders: Vec<&str> = s
        .instances
        .iter()
        .filter_map(|i| i.derivative.as_deref())
        .collect();
    assert_eq!(
        ders,
        ["der(9)t(9;22)(q34;q11.2)", "der(22)t(9;22)(q34;q11.2)"]
    );
}

#[test]
fn render_single_is_upright_with_p_at_the_top() {
    for (n, seed) in [(1, 1), (5, 2), (21, 3)] {
        let len = if n == 21 { 25.0 } else { 70.0 };
        let (img, inst) = render_single(class(n), BandLevel::B400, len, 8.0, seed);
        let p = inst.axis[0];
        let q = *inst.axis.last().unwrap();
        assert!(p.1 < q.1 && (q.1 - p.1) > 0.9 * len, "{n}");
        assert!(p.1 < img.height() as f64 / 3.0);
        assert!(dist(inst.centromere, p) < dist(inst.centromere, q));
        let b = inst.region.bbox;
        assert!(
            b.x >= 8 && b.y >= 8 && b.x + b.w + 8 <= img.width() && b.y + b.h + 8 <= img.height()
        );
        let (cx, cy) = inst.axis[inst.axis.len() / 2];
        assert!(img.at(cx.round() as usize, cy.round() as usize) < 170);
        assert!(img.at(1, 1) > 200);
    }
}

#[test]
fn default_scale_follows_the_image_size() {
    let small = SynthConfig::new(768, 576, 0);
    let large = SynthConfig::new(2048, 2048, 0);
    assert!((small.chromosome_scale - 70.0).abs() < 1.0);
    assert!((large.chromosome_scale - 180.0).abs() < 5.0);
    assert!((small.width_px - 8.0).abs() < 0.1);
}

#[test]
fn a_crowded_spread_still_places_every_chromosome() {
    let mut c = SynthConfig::new(200, 180, 9);
    c.chromosome_scale = 70.0;
    c.width_px = 8.0;
    let s = generate_spread(&c);
    assert_eq!(s.instances.len(), 46);
    assert!(!s.warnings.is_empty());
    for inst in &s.instances {
        assert!(inst.region.area() > 0);
        assert!(inst.region.bbox.x + inst.region.bbox.w <= 200);
    }
}

#[test]
fn contact_truth_holds_across_seeds() {
    for seed in 20..24 {
        let mut c = cfg(seed);
        c.touching_fraction = 0.2;
        c.overlap_pairs = 2;
        let s = generate_spread(&c);
        assert!(s.warnings.is_empty(), "{seed}: {:?}", s.warnings);
        assert_eq!(
            s.instances.iter().filter(|i| i.overlapping).count(),
            4,
            "{seed}"
        );
        for (i, a) in s.instances.iter().enumerate() {
            let close = s
                .instances
                .iter()
                .enumerate()
                .any(|(j, b)| i != j && within(&a.region, &b.region, 1));
            assert_eq!(a.touching || a.overlapping, close, "{seed}: {i}");
        }
    }
}

#[test]
fn abnormality_notation_round_trips() {
    for text in ["+21", "-7", "+X", "del(5)(q31q33)", "t(9;22)(q34;q11.2)"] {
        assert_eq!(Abnormality::parse(text).unwrap().iscn(), text);
    }
    for bad in [
        "",
        "+0",
        "del(5)",
        "t(9)(q34)",
        "inv(9)(p11q13)",
        "del(5)(q31)",
    ] {
        assert!(Abnormality::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn tiny_and_odd_sizes_never_panic() {
    for (w, h) in [(0, 0), (1, 1), (3, 576), (576, 3), (40, 40), (64, 64)] {
        let spread = generate_spread(&SynthConfig::new(w, h, 5));
        assert_eq!(spread.image.width(), w.max(1));
    }
}
