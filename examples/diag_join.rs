//! Would joining touching neighbours mend the segmentation? For every pair of
//! touching objects after the check against the ideogram, the fits of the
//! two parts and of their union, the cell's median fit, and whether the
//! union matches a true chromosome better than either part does (`RIGHT`)
//! or not (`WRONG`). One line per pair on stdout.
//!
//! `cargo run --release --example diag_join -- [COUNT] [SEED]`;
//! `KS_SIZE=WxH` sets the spread size (default 768x576).
use karyostation::domain::analysis::{gband_look, measure_objects_on};
use karyostation::domain::classify::ChromosomeFeatures;
use karyostation::domain::classify::builtin::BuiltinClassifier;
use karyostation::domain::geometry;
use karyostation::domain::modality::{ModalityChoice, density, resolve};
use karyostation::domain::raster::{GrayImage, Region};
use karyostation::domain::refine::{FitCheckParams, check_against_ideogram};
use karyostation::domain::synth::{Sex, SynthConfig, generate_spread};
use karyostation::pipeline::Pipeline;

fn best_iou(r: &Region, truth: &[Region]) -> f64 {
    truth.iter().map(|t| r.iou(t)).fold(0.0, f64::max)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let count: u64 = args.get(1).map_or(Ok(20), |s| s.parse())?;
    let seed: u64 = args.get(2).map_or(Ok(1000), |s| s.parse())?;
    let (width, height) = match std::env::var("KS_SIZE") {
        Ok(v) => {
            let (w, h) = v.split_once('x').ok_or("KS_SIZE must be WxH")?;
            (w.parse()?, h.parse()?)
        }
        Err(_) => (768, 576),
    };
    let pipeline = Pipeline::default();
    let classifier = BuiltinClassifier::default();
    for k in 0..count {
        let mut cfg = SynthConfig::new(width, height, seed + k);
        cfg.sex = if k % 2 == 0 { Sex::Female } else { Sex::Male };
        let spread = generate_spread(&cfg);
        let gray: &GrayImage = &spread.image;
        let truth: Vec<Region> = spread.instances.iter().map(|i| i.region.clone()).collect();
        let modality = resolve(ModalityChoice::Auto, gray);
        let seg = pipeline.segmenter.segment(gray, modality)?;
        let (dens, gb) = (density(gray, modality), gband_look(gray, modality));
        let measured = measure_objects_on(&dens, &gb, &seg);
        let measured = check_against_ideogram(
            &classifier,
            &dens,
            &gb,
            measured,
            &FitCheckParams::default(),
        );
        let mean_length = measured.iter().map(|m| m.geometry.length_px).sum::<f64>()
            / measured.len().max(1) as f64;
        let fits: Vec<f64> = measured
            .iter()
            .map(|m| classifier.fit(&m.features, Some(m.geometry.length_px / mean_length)))
            .collect();
        let mut sorted = fits.clone();
        sorted.sort_by(f64::total_cmp);
        let median = sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN);
        let (w, h) = (gray.width(), gray.height());
        let mut lab = vec![usize::MAX; w * h];
        for (i, m) in measured.iter().enumerate() {
            for (x, y) in m.region.pixels() {
                lab[y * w + x] = i;
            }
        }
        let mut pairs = std::collections::BTreeSet::new();
        for y in 0..h {
            for x in 0..w {
                let a = lab[y * w + x];
                if a == usize::MAX {
                    continue;
                }
                for (nx, ny) in [(x + 1, y), (x, y + 1)] {
                    if nx < w && ny < h {
                        let b = lab[ny * w + nx];
                        if b != usize::MAX && b != a {
                            pairs.insert((a.min(b), a.max(b)));
                        }
                    }
                }
            }
        }
        for (a, b) in pairs {
            let (ra, rb) = (&measured[a].region, &measured[b].region);
            let mut px = ra.pixels();
            px.extend(rb.pixels());
            let union = Region::from_pixels(&px);
            let Some(geo) = geometry::measure(&dens, &union) else {
                continue;
            };
            let f = ChromosomeFeatures::from_geometry(&geo, GrayImage::new(1, 1, 255));
            let fu = classifier.fit(&f, Some(geo.length_px / mean_length));
            let (ia, ib, iu) = (
                best_iou(ra, &truth),
                best_iou(rb, &truth),
                best_iou(&union, &truth),
            );
            let right = iu >= 0.5 && iu > ia.max(ib);
            println!(
                "{} spread {k} a={a} b={b} median={median:.2} fa={:.2} fb={:.2} fu={fu:.2} areas={} {} ious={ia:.2} {ib:.2} {iu:.2}",
                if right { "RIGHT" } else { "WRONG" },
                fits[a],
                fits[b],
                ra.area(),
                rb.area()
            );
        }
    }
    Ok(())
}
