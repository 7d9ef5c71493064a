//! Renders a karyogram (from the domain's layout) into an RGB raster for
//! PNG export. Text uses the bundled DejaVu Sans (assets/fonts).
//!
//! Two sources, one drawing: `render_karyogram` draws a fresh analysis (the
//! `analyze` command), `render_cell_karyogram` a stored cell as corrected
//! (the `export` command). Both go through the domain's layout, so the
//! export matches what the technologist saw.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};

use crate::domain::analysis::{MetaphaseAnalysis, gband_look};
use crate::domain::chromosome::ChromosomeClass;
use crate::domain::ids::ObjectId;
use crate::domain::karyogram::crop::karyogram_crop;
use crate::domain::karyogram::edit::{CellObject, CellState};
use crate::domain::karyogram::layout::{LayoutItem, LayoutParams, Rect, layout};
use crate::domain::modality::Modality;
use crate::domain::raster::GrayImage;

static FONT_BYTES: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");

/// An RGB image, row-major, 3 bytes per pixel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbRaster {
    pub width: usize,
    pub height: usize,
    pub data: Vec<u8>,
}

impl RgbRaster {
    pub fn new(width: usize, height: usize, color: [u8; 3]) -> Self {
        let mut data = Vec::with_capacity(width * height * 3);
        for _ in 0..width * height {
            data.extend_from_slice(&color);
        }
        Self {
            width,
            height,
            data,
        }
    }

    fn blend(&mut self, x: i64, y: i64, color: [u8; 3], alpha: f32) {
        if x < 0 || y < 0 || x as usize >= self.width || y as usize >= self.height {
            return;
        }
        let i = (y as usize * self.width + x as usize) * 3;
        for (channel, &target) in self.data[i..i + 3].iter_mut().zip(&color) {
            let old = f32::from(*channel);
            *channel = (old + (f32::from(target) - old) * alpha.clamp(0.0, 1.0)).round() as u8;
        }
    }
}

/// Draws `text` with its top-left at `(x, y)`, or centred on `x` with `centred`.
pub fn draw_text(
    canvas: &mut RgbRaster,
    text: &str,
    x: f64,
    y: f64,
    size: f32,
    color: [u8; 3],
    centred: bool,
) {
    let Ok(font) = FontRef::try_from_slice(FONT_BYTES) else {
        return;
    };
    let scaled = font.as_scaled(PxScale::from(size));
    let width: f32 = text
        .chars()
        .map(|c| scaled.h_advance(scaled.glyph_id(c)))
        .sum();
    let mut pen = if centred {
        x as f32 - width / 2.0
    } else {
        x as f32
    };
    let baseline = y as f32 + scaled.ascent();
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        let glyph = id.with_scale_and_position(PxScale::from(size), ab_glyph::point(pen, baseline));
        pen += scaled.h_advance(id);
        if let Some(outlined) = font.outline_glyph(glyph) {
            let bounds = outlined.px_bounds();
            outlined.draw(|gx, gy, coverage| {
                canvas.blend(
                    bounds.min.x as i64 + gx as i64,
                    bounds.min.y as i64 + gy as i64,
                    color,
                    coverage,
                );
            });
        }
    }
}

/// Scale (karyogram pixels per crop pixel) so the longest chromosome is
/// about `target_px` tall, within 0.5..=4.
pub fn crop_scale(analysis: &MetaphaseAnalysis, target_px: f64) -> f64 {
    let longest = analysis
        .objects
        .iter()
        .map(|o| o.geometry.length_px)
        .fold(1.0, f64::max);
    (target_px / longest).clamp(0.5, 4.0)
}

/// Renders the karyogram of an analysis with `title` above it.
pub fn render_karyogram(analysis: &MetaphaseAnalysis, title: &str) -> RgbRaster {
    let scale = crop_scale(analysis, 150.0);
    let mut crops: Vec<Placed> = Vec::new();
    for (class, ids) in analysis.arrangement() {
        for id in ids {
            if let Some(o) = analysis.objects.iter().find(|o| o.id == id) {
                crops.push(Placed {
                    id,
                    class: Some(class),
                    crop: resize(&o.upright_crop(analysis.modality), scale),
                });
            }
        }
    }
    for o in analysis.objects.iter().filter(|o| o.class().is_none()) {
        crops.push(Placed {
            id: o.id,
            class: None,
            crop: resize(&o.upright_crop(analysis.modality), scale),
        });
    }
    draw_karyogram(&crops, analysis.modality, &[title.to_string()], 1.0)
}

/// Screen resolution: the karyogram at its natural size.
pub const SCREEN_DPI: u32 = 96;

/// Renders the karyogram of a stored cell exactly as corrected: classes,
/// order within each class (slot), polarity, extra rotation and masks of
/// the cell's objects; rejected objects are left out. `image` is the stored
/// spread as acquired; `header` lines are written above the karyogram.
/// `dpi` scales everything against [`SCREEN_DPI`] (300 for print).
pub fn render_cell_karyogram(
    image: &GrayImage,
    modality: Modality,
    cell: &CellState,
    header: &[String],
    dpi: u32,
) -> RgbRaster {
    let factor = f64::from(dpi.clamp(24, 1200)) / f64::from(SCREEN_DPI);
    let gband = gband_look(image, modality);
    let mut active: Vec<&CellObject> = cell.active().collect();
    active.sort_by_key(|o| (o.class.is_none(), o.class, o.slot, o.id));
    let raw: Vec<(&CellObject, GrayImage)> = active
        .into_iter()
        .filter_map(|o| karyogram_crop(&gband, o).map(|c| (o, c)))
        .collect();
    let longest = raw
        .iter()
        .map(|(_, c)| c.height() as f64)
        .fold(1.0, f64::max);
    let scale = (150.0 / longest).clamp(0.5, 4.0) * factor;
    let crops: Vec<Placed> = raw
        .into_iter()
        .map(|(o, c)| {
            let c = match modality {
                Modality::Brightfield => c,
                Modality::Fluorescence => c.inverted(),
            };
            Placed {
                id: o.id,
                class: o.class,
                crop: resize(&c, scale),
            }
        })
        .collect();
    draw_karyogram(&crops, modality, header, factor)
}

/// One crop to place, at its final size.
struct Placed {
    id: ObjectId,
    class: Option<ChromosomeClass>,
    crop: GrayImage,
}

/// Lays out and draws `crops` (in order within each class) under `header`;
/// `factor` scales spacing and text (1 = screen).
fn draw_karyogram(
    crops: &[Placed],
    modality: Modality,
    header: &[String],
    factor: f64,
) -> RgbRaster {
    let items: Vec<LayoutItem> = crops
        .iter()
        .map(|p| LayoutItem {
            id: p.id,
            class: p.class,
            width: p.crop.width() as f64,
            height: p.crop.height() as f64,
        })
        .collect();
    let crop_of = |id: ObjectId| crops.iter().find(|p| p.id == id).map(|p| &p.crop);
    let base = LayoutParams::default();
    let line_height = 22.0;
    let title_height = if header.len() <= 1 {
        base.title_height
    } else {
        6.0 + line_height * header.len() as f64
    };
    let params = LayoutParams {
        margin: base.margin * factor,
        gap_in_group: base.gap_in_group * factor,
        gap_between_groups: base.gap_between_groups * factor,
        label_height: base.label_height * factor,
        row_gap: base.row_gap * factor,
        title_height: title_height * factor,
        min_group_width: base.min_group_width * factor,
        ..base
    };
    let l = layout(&items, &params);
    let dark = modality == Modality::Fluorescence;
    let (bg, ink, warn) = if dark {
        ([0, 0, 0], [235, 235, 235], [255, 110, 110])
    } else {
        ([255, 255, 255], [20, 20, 20], [200, 0, 0])
    };
    // The header may be wider than a sparse karyogram: widen the canvas and
    // centre the karyogram on it.
    let size_of = |i: usize| (if i == 0 { 18.0 } else { 14.0 }) * factor as f32;
    let header_width = header
        .iter()
        .enumerate()
        .map(|(i, t)| f64::from(text_width(t, size_of(i))) + 2.0 * params.margin)
        .fold(0.0, f64::max);
    let width = l.width.max(header_width).ceil();
    let dx = ((width - l.width) / 2.0).round();
    let shift = |r: Rect| Rect { x: r.x + dx, ..r };
    let mut canvas = RgbRaster::new(width as usize, l.height.ceil() as usize, bg);
    for (i, line) in header.iter().enumerate() {
        draw_text(
            &mut canvas,
            line,
            params.margin,
            params.margin / 2.0 + i as f64 * line_height * factor,
            size_of(i),
            ink,
            false,
        );
    }
    for group in &l.groups {
        for (id, rect) in &group.members {
            if let Some(c) = crop_of(*id) {
                blit(&mut canvas, c, shift(*rect), dark);
            }
        }
        let n = group.members.len();
        let expected = if group.class == ChromosomeClass::Y || group.class == ChromosomeClass::X {
            n
        } else {
            2
        };
        let (label, color) = if n == expected {
            (group.class.label().to_string(), ink)
        } else {
            (format!("{} ({n})", group.class.label()), warn)
        };
        draw_text(
            &mut canvas,
            &label,
            group.label_at.0 + dx,
            group.label_at.1 - 7.0 * factor,
            13.0 * factor as f32,
            color,
            true,
        );
        // A rule under each group, as on a printed karyogram.
        let y = (group.label_at.1 - params.label_height / 2.0).round() as i64;
        let thickness = factor.round().max(1.0) as i64;
        let rule = shift(group.rect);
        for x in rule.x.round() as i64..(rule.x + rule.w).round() as i64 {
            for dy in 0..thickness {
                canvas.blend(x, y + dy, ink, 0.6);
            }
        }
    }
    if let Some((_, first)) = l.unassigned.first() {
        draw_text(
            &mut canvas,
            "unassigned",
            params.margin + dx,
            first.y - params.label_height,
            13.0 * factor as f32,
            warn,
            false,
        );
        for (id, rect) in &l.unassigned {
            if let Some(c) = crop_of(*id) {
                blit(&mut canvas, c, shift(*rect), dark);
            }
        }
    }
    canvas
}

/// Width in pixels of `text` drawn at `size`.
pub fn text_width(text: &str, size: f32) -> f32 {
    let Ok(font) = FontRef::try_from_slice(FONT_BYTES) else {
        return 0.0;
    };
    let scaled = font.as_scaled(PxScale::from(size));
    text.chars()
        .map(|c| scaled.h_advance(scaled.glyph_id(c)))
        .sum()
}

/// PNG bytes of `canvas` with a pHYs chunk saying `dpi` (pixels per metre,
/// rounded), so print software sizes it right.
///
/// # Errors
/// When the PNG encoder fails (e.g. an empty or oversized canvas).
pub fn encode_png_with_dpi(canvas: &RgbRaster, dpi: u32) -> Result<Vec<u8>, png::EncodingError> {
    let w = u32::try_from(canvas.width).unwrap_or(u32::MAX);
    let h = u32::try_from(canvas.height).unwrap_or(u32::MAX);
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, w, h);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let ppm = dots_per_metre(dpi);
        encoder.set_pixel_dims(Some(png::PixelDimensions {
            xppu: ppm,
            yppu: ppm,
            unit: png::Unit::Meter,
        }));
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&canvas.data)?;
        writer.finish()?;
    }
    Ok(out)
}

/// Dots per inch as pixels per metre (96 dpi -> 3780).
pub fn dots_per_metre(dpi: u32) -> u32 {
    (f64::from(dpi) / 0.0254).round() as u32
}

fn blit(canvas: &mut RgbRaster, crop: &GrayImage, rect: Rect, dark: bool) {
    let (x0, y0) = (rect.x.round() as i64, rect.y.round() as i64);
    for y in 0..crop.height() {
        for x in 0..crop.width() {
            let v = crop.at(x, y);
            let (cx, cy) = (x0 + x as i64, y0 + y as i64);
            if cx < 0 || cy < 0 || cx as usize >= canvas.width || cy as usize >= canvas.height {
                continue;
            }
            let i = (cy as usize * canvas.width + cx as usize) * 3;
            for k in 0..3 {
                canvas.data[i + k] = if dark {
                    canvas.data[i + k].max(v)
                } else {
                    canvas.data[i + k].min(v)
                };
            }
        }
    }
}

/// Bilinear resize by `scale`.
fn resize(img: &GrayImage, scale: f64) -> GrayImage {
    let w = ((img.width() as f64 * scale).round() as usize).max(1);
    let h = ((img.height() as f64 * scale).round() as usize).max(1);
    if img.width() == 0 || img.height() == 0 {
        return GrayImage::new(w, h, 255);
    }
    let mut out = GrayImage::new(w, h, 0);
    for y in 0..h {
        for x in 0..w {
            let sx = (x as f64 + 0.5) / scale - 0.5;
            let sy = (y as f64 + 0.5) / scale - 0.5;
            let sx = sx.clamp(0.0, (img.width() - 1) as f64);
            let sy = sy.clamp(0.0, (img.height() - 1) as f64);
            out.set(
                x as i64,
                y as i64,
                img.sample_bilinear(sx, sy, 255.0).round() as u8,
            );
        }
    }
    out
}
