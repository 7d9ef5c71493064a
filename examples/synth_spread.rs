//! Writes a synthetic metaphase spread (PNG), its truth (JSON) and one
//! `render_single` chromosome, for looking at the generator's output.
//!
//! `cargo run --release --example synth_spread -- [OUT_PREFIX] [SEED] [WIDTH] [HEIGHT]`
//! writes `OUT_PREFIX.png`, `OUT_PREFIX.json` and `OUT_PREFIX_single.png`
//! (default prefix `/tmp/synth_spread`).

use std::time::Instant;

use karyostation::domain::bands::BandLevel;
use karyostation::domain::chromosome::ChromosomeClass;
use karyostation::domain::raster::GrayImage;
use karyostation::domain::synth::{Abnormality, Sex, SynthConfig, generate_spread, render_single};

fn save(img: &GrayImage, path: &str) -> image::ImageResult<()> {
    image::GrayImage::from_raw(img.width() as u32, img.height() as u32, img.data().to_vec())
        .ok_or_else(|| {
            image::ImageError::Parameter(image::error::ParameterError::from_kind(
                image::error::ParameterErrorKind::DimensionMismatch,
            ))
        })?
        .save(path)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let prefix = args.get(1).map_or("/tmp/synth_spread", String::as_str);
    let seed: u64 = args.get(2).map_or(Ok(1), |s| s.parse())?;
    let width: usize = args.get(3).map_or(Ok(768), |s| s.parse())?;
    let height: usize = args.get(4).map_or(Ok(576), |s| s.parse())?;
    let mut cfg = SynthConfig::new(width, height, seed);
    cfg.sex = Sex::Male;
    cfg.overlap_pairs = 1;
    cfg.abnormalities = vec![Abnormality::Translocation {
        a: ChromosomeClass::autosome(9).ok_or("class")?,
        a_band: "q34".into(),
        b: ChromosomeClass::autosome(22).ok_or("class")?,
        b_band: "q11.2".into(),
    }];
    // The first call also parses the band tables; time the second.
    let _ = generate_spread(&cfg);
    let start = Instant::now();
    let spread = generate_spread(&cfg);
    let elapsed = start.elapsed();
    println!(
        "{}x{} seed {seed}: {} in {:.1} ms, {} instances, warnings {:?}",
        width,
        height,
        spread.karyotype,
        elapsed.as_secs_f64() * 1e3,
        spread.instances.len(),
        spread.warnings
    );
    save(&spread.image, &format!("{prefix}.png"))?;
    // A 3x enlarged crop of the middle, to judge banding and edges.
    let (cw, ch) = (width / 3, height / 3);
    let (x0, y0) = (width / 2 - cw / 2, height / 2 - ch / 2);
    let zoom: Vec<u8> = (0..3 * ch)
        .flat_map(|y| (0..3 * cw).map(move |x| (x, y)))
        .map(|(x, y)| spread.image.at(x0 + x / 3, y0 + y / 3))
        .collect();
    let zoom = GrayImage::from_vec(3 * cw, 3 * ch, zoom).ok_or("zoom size")?;
    save(&zoom, &format!("{prefix}_zoom.png"))?;
    std::fs::write(
        format!("{prefix}.json"),
        serde_json::to_string_pretty(&spread.truth())?,
    )?;
    let (single, _) = render_single(
        ChromosomeClass::autosome(1).ok_or("class")?,
        BandLevel::B400,
        110.0,
        12.0,
        seed,
    );
    save(&single, &format!("{prefix}_single.png"))?;
    Ok(())
}
