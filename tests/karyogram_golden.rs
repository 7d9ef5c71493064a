//! Golden images of the exported karyogram of a stored cell. The input is a
//! small synthetic cell drawn here (banded rods on a light background, no
//! outside data): two 1s (one turned p-down), three 21s (one rotated by the
//! reviewer), an X, a rejected object (left out) and an unassigned one.
//!
//! Truth: `tests/data/truth/karyogram_cell_96dpi.png`; `REGENERATE=1`
//! rewrites it. Tolerance: same size; at most 0.5 % of the pixels may differ
//! by more than 32 in any channel, and the mean absolute difference must stay
//! under 1.0 (font rasterisation may differ by a little between platforms).

use std::collections::BTreeSet;
use std::path::Path;

use karyostation::domain::chromosome::{ChromosomeClass, Polarity};
use karyostation::domain::ids::ObjectId;
use karyostation::domain::karyogram::edit::{CellObject, CellState, Producer};
use karyostation::domain::modality::Modality;
use karyostation::domain::ports::ModelInfo;
use karyostation::domain::raster::GrayImage;
use karyostation::karyogram_png::{RgbRaster, encode_png_with_dpi, render_cell_karyogram};

/// A rod from `(x, y)` going down `len` px, `w` px wide, with dark bands
/// every `period` px; returns its pixels.
fn rod(
    img: &mut GrayImage,
    (x, y): (u32, u32),
    len: u32,
    w: u32,
    period: u32,
) -> BTreeSet<(u32, u32)> {
    let mut pixels = BTreeSet::new();
    for dy in 0..len {
        let shade = if (dy / period).is_multiple_of(2) {
            60
        } else {
            160
        };
        // A narrower waist at a third of the length (the centromere).
        let waist = u32::from(dy.abs_diff(len / 3) < 2);
        for dx in waist..w - waist {
            pixels.insert((x + dx, y + dy));
            img.set(i64::from(x + dx), i64::from(y + dy), shade);
        }
    }
    pixels
}

/// x, y, length, band period, class (23 = X), slot, polarity, rotation, rejected.
type Spec = (u32, u32, u32, u32, Option<u8>, u32, Polarity, i32, bool);

fn cell() -> (GrayImage, CellState) {
    let mut img = GrayImage::new(220, 140, 235);
    let producer = Producer {
        segmenter: ModelInfo::new("golden", "1"),
        classifier: ModelInfo::new("golden", "1"),
    };
    let specs: [Spec; 8] = [
        (10, 10, 90, 9, Some(1), 0, Polarity::PUp, 0, false),
        (30, 12, 86, 9, Some(1), 1, Polarity::PDown, 0, false),
        (50, 20, 30, 5, Some(21), 0, Polarity::PUp, 0, false),
        (65, 20, 28, 5, Some(21), 1, Polarity::PUp, 90, false),
        (80, 20, 29, 5, Some(21), 2, Polarity::PUp, 0, false),
        (100, 10, 60, 7, Some(23), 0, Polarity::PUp, 0, false),
        (130, 10, 40, 6, None, 0, Polarity::PUp, 0, true),
        (160, 10, 45, 6, None, 0, Polarity::PUp, 0, false),
    ];
    let mut state = CellState {
        karyotype: "47,X,+21".into(),
        ..CellState::default()
    };
    for (i, (x, y, len, period, class, slot, polarity, rotation, rejected)) in
        specs.into_iter().enumerate()
    {
        let pixels = rod(&mut img, (x, y), len, 9, period);
        let class = class.and_then(|c| {
            if c == 23 {
                Some(ChromosomeClass::X)
            } else {
                ChromosomeClass::autosome(c)
            }
        });
        let id = ObjectId(i as u32);
        state.objects.insert(
            id,
            CellObject {
                class,
                proposed: class,
                slot,
                polarity,
                rotation_deg: rotation,
                rejected: rejected.then(|| "debris".to_string()),
                probabilities: vec![1.0 / 24.0; 24],
                ..CellObject::new(id, pixels, producer.clone())
            },
        );
    }
    (img, state)
}

fn header() -> Vec<String> {
    vec![
        "Case GOLDEN-1 v1 · cell 1 of 1 (metaphase 1, synthetic.png)".into(),
        "550-band level · 47,X,+21".into(),
        "Signed by reviewer at 2025-01-01T00:00:00.000Z".into(),
    ]
}

fn compare(name: &str, canvas: &RgbRaster) {
    let truth = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/truth")
        .join(name);
    if std::env::var("REGENERATE").as_deref() == Ok("1") {
        let png = encode_png_with_dpi(canvas, 96).unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir_all(truth.parent().unwrap_or(Path::new(".")))
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&truth, png).unwrap_or_else(|e| panic!("{e}"));
        eprintln!("rewrote {}", truth.display());
        return;
    }
    let want = image::open(&truth)
        .unwrap_or_else(|e| panic!("{}: {e} (REGENERATE=1 writes it)", truth.display()))
        .to_rgb8();
    assert_eq!(
        (want.width() as usize, want.height() as usize),
        (canvas.width, canvas.height),
        "size differs from {}",
        truth.display()
    );
    let mut far = 0usize;
    let mut sum = 0u64;
    for (a, b) in want.as_raw().chunks(3).zip(canvas.data.chunks(3)) {
        let d = a
            .iter()
            .zip(b)
            .map(|(x, y)| x.abs_diff(*y))
            .max()
            .unwrap_or(0);
        far += usize::from(d > 32);
        sum += a
            .iter()
            .zip(b)
            .map(|(x, y)| u64::from(x.abs_diff(*y)))
            .sum::<u64>();
    }
    let pixels = canvas.width * canvas.height;
    let mean = sum as f64 / (pixels * 3) as f64;
    assert!(
        far * 200 <= pixels && mean < 1.0,
        "{name}: {far} of {pixels} pixels differ by more than 32, mean difference {mean:.3}"
    );
}

#[test]
fn stored_cell_karyogram_matches_the_golden_image() {
    let (img, state) = cell();
    let canvas = render_cell_karyogram(&img, Modality::Brightfield, &state, &header(), 96);
    compare("karyogram_cell_96dpi.png", &canvas);
}

#[test]
fn print_resolution_scales_the_drawing_and_sets_phys() {
    let (img, state) = cell();
    let screen = render_cell_karyogram(&img, Modality::Brightfield, &state, &header(), 96);
    let print = render_cell_karyogram(&img, Modality::Brightfield, &state, &header(), 300);
    let ratio = print.width as f64 / screen.width as f64;
    assert!((ratio - 300.0 / 96.0).abs() < 0.15, "ratio {ratio}");
    let png = encode_png_with_dpi(&print, 300).unwrap_or_else(|e| panic!("{e}"));
    let reader = png::Decoder::new(std::io::Cursor::new(png))
        .read_info()
        .unwrap_or_else(|e| panic!("{e}"));
    let dims = reader
        .info()
        .pixel_dims
        .unwrap_or_else(|| panic!("no pHYs"));
    assert_eq!(
        (dims.xppu, dims.yppu, dims.unit),
        (11811, 11811, png::Unit::Meter)
    );
}

#[test]
fn the_rejected_object_is_left_out_and_corrections_show() {
    let (img, mut state) = cell();
    let with = render_cell_karyogram(&img, Modality::Brightfield, &state, &header(), 96);
    // Reclassifying the unassigned object changes the drawing.
    if let Some(o) = state.objects.get_mut(&ObjectId(7)) {
        o.class = ChromosomeClass::autosome(5);
    }
    let after = render_cell_karyogram(&img, Modality::Brightfield, &state, &header(), 96);
    assert_ne!(with.data, after.data);
    // Un-rejecting brings one more object into the drawing (as unassigned).
    if let Some(o) = state.objects.get_mut(&ObjectId(6)) {
        o.rejected = None;
    }
    let restored = render_cell_karyogram(&img, Modality::Brightfield, &state, &header(), 96);
    let ink = |c: &RgbRaster| c.data.iter().filter(|&&v| v < 128).count();
    assert!(ink(&restored) > ink(&after));
}
