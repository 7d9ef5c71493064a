//! Lists where the pipeline fails on synthetic spreads, for work on the
//! segmenter: every chromosome missed, classified wrongly or cut poorly
//! (IoU < 0.8), with the objects that cover it, and for the first ones an
//! image of three panels (the spread; the truth, the chromosome in red; the
//! objects found).
//!
//! `cargo run --release --example diag_synth -- [COUNT] [IMAGES] [OUT_DIR] [SEED]`
//! (defaults 8 spreads from seed 1000, 30 images, `/tmp/diag`). One line per
//! failure on stdout. `KS_SIZE=WxH` sets the spread size (default 768x576).
use std::path::Path;

use karyostation::domain::metrics::match_instances;
use karyostation::domain::modality::ModalityChoice;
use karyostation::domain::raster::Region;
use karyostation::domain::synth::{Sex, SynthConfig, generate_spread};
use karyostation::eval::WELL_CUT_IOU;
use karyostation::pipeline::Pipeline;

fn color(k: usize) -> [u8; 3] {
    let h = (k as u32).wrapping_mul(2654435761);
    [
        (h >> 24) as u8 | 64,
        (h >> 16) as u8 | 64,
        (h >> 8) as u8 | 64,
    ]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let count: usize = args.get(1).map_or(Ok(8), |s| s.parse())?;
    let max_dump: usize = args.get(2).map_or(Ok(30), |s| s.parse())?;
    let out_dir = std::path::PathBuf::from(args.get(3).map_or("/tmp/diag", String::as_str));
    let seed: u64 = args.get(4).map_or(Ok(1000), |s| s.parse())?;
    let (width, height) = match std::env::var("KS_SIZE") {
        Ok(v) => {
            let (w, h) = v.split_once('x').ok_or("KS_SIZE must be WxH")?;
            (w.parse()?, h.parse()?)
        }
        Err(_) => (768, 576),
    };
    std::fs::create_dir_all(&out_dir)?;
    let pipeline = Pipeline::default();
    let mut dumped = 0;
    for k in 0..count {
        let mut cfg = SynthConfig::new(width, height, seed + k as u64);
        cfg.sex = if k % 2 == 0 { Sex::Female } else { Sex::Male };
        let spread = generate_spread(&cfg);
        let (analysis, _) =
            pipeline.analyze_gray(Path::new("synthetic"), &spread.image, ModalityChoice::Auto)?;
        let predicted: Vec<Region> = analysis.objects.iter().map(|o| o.region.clone()).collect();
        let truth: Vec<Region> = spread.instances.iter().map(|i| i.region.clone()).collect();
        let m = match_instances(&predicted, &truth, 0.5);
        let (w, h) = (spread.image.width(), spread.image.height());
        let mut tlab = vec![usize::MAX; w * h];
        for (i, r) in truth.iter().enumerate() {
            for (x, y) in r.pixels() {
                tlab[y * w + x] = i;
            }
        }
        let mut plab = vec![usize::MAX; w * h];
        for (i, r) in predicted.iter().enumerate() {
            for (x, y) in r.pixels() {
                plab[y * w + x] = i;
            }
        }
        for (t, inst) in spread.instances.iter().enumerate() {
            let pair = m.pairs.iter().find(|p| p.1 == t);
            let (status, pinfo) = match pair {
                None => ("MISS".to_string(), String::new()),
                Some(&(p, _, iou)) => {
                    let o = &analysis.objects[p];
                    let ok = o.class() == Some(inst.class);
                    if ok && iou >= WELL_CUT_IOU {
                        continue;
                    }
                    (
                        format!("{} iou={iou:.2}", if ok { "OKCLS" } else { "WRONG" }),
                        format!(
                            "pred={} area_ratio={:.2} flags={:?}",
                            o.class().map_or("none".into(), |c| c.to_string()),
                            o.region.area() as f64 / inst.region.area() as f64,
                            o.flags
                        ),
                    )
                }
            };
            // overlapping predictions
            let mut overl: Vec<(usize, usize)> = Vec::new();
            for (x, y) in inst.region.pixels() {
                let p = plab[y * w + x];
                if p != usize::MAX {
                    match overl.iter_mut().find(|e| e.0 == p) {
                        Some(e) => e.1 += 1,
                        None => overl.push((p, 1)),
                    }
                }
            }
            println!(
                "spread {k} truth {t} class {} touching={} area={} {status} {pinfo} overlaps={:?}",
                inst.class,
                inst.touching,
                inst.region.area(),
                overl
                    .iter()
                    .map(|&(p, n)| (
                        n,
                        predicted[p].area(),
                        analysis.objects[p].class().map(|c| c.to_string())
                    ))
                    .collect::<Vec<_>>()
            );
            if dumped >= max_dump {
                continue;
            }
            dumped += 1;
            let b = inst.region.bbox;
            let x0 = b.x.saturating_sub(40);
            let y0 = b.y.saturating_sub(40);
            let x1 = (b.x + b.w + 40).min(w);
            let y1 = (b.y + b.h + 40).min(h);
            let s = 3;
            let (cw, ch) = (x1 - x0, y1 - y0);
            let mut out = image::RgbImage::new((cw * s * 3 + 8) as u32, (ch * s) as u32);
            for y in y0..y1 {
                for x in x0..x1 {
                    let g = spread.image.get(x as i64, y as i64).unwrap_or(0);
                    let tl = tlab[y * w + x];
                    let pl = plab[y * w + x];
                    let px = [
                        [g, g, g],
                        if tl == usize::MAX {
                            [g / 3, g / 3, g / 3]
                        } else {
                            let c = color(tl);
                            if tl == t { [255, 40, 40] } else { c }
                        },
                        if pl == usize::MAX {
                            [g / 3, g / 3, g / 3]
                        } else {
                            color(pl + 7)
                        },
                    ];
                    for (panel, c) in px.iter().enumerate() {
                        for dy in 0..s {
                            for dx in 0..s {
                                out.put_pixel(
                                    (panel * (cw * s + 4) + (x - x0) * s + dx) as u32,
                                    ((y - y0) * s + dy) as u32,
                                    image::Rgb(*c),
                                );
                            }
                        }
                    }
                }
            }
            out.save(out_dir.join(format!("f{dumped:03}_s{k}_t{t}.png")))?;
        }
    }
    Ok(())
}
