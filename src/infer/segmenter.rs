//! The learned segmenter (ONNX): a small U-Net that draws chromosome,
//! boundary and overlap probability maps over a whole spread; instances come
//! from the maps in the domain (`segmentation::maps`).

use std::sync::Mutex;

use ort::session::Session;
use ort::value::Tensor;
use rayon::prelude::*;

use crate::domain::modality::{Modality, density};
use crate::domain::ports::{ModelInfo, SegmentationError, Segmenter};
use crate::domain::raster::GrayImage;
use crate::domain::segmentation::Segmentation;
use crate::domain::segmentation::builtin::{Separation, Stain, segment_stain};
use crate::domain::segmentation::maps::{
    MapParams, ProbabilityMaps, add_uncovered_rejects, instances_from_maps,
};

use super::manifest::{Manifest, ModelEntry, TASK_SEGMENTER, shape_fits};
use super::preprocess::{SEGMENTER_NORMALISATION, segmenter_input};
use super::{ModelError, check_normalisation, open_session, signature_error};

const IN_IMAGE: &str = "image";
const OUT_MAPS: &str = "maps";
/// Chromosome, boundary, overlap.
const MAP_COUNT: usize = 3;

/// A loaded, verified ONNX segmenter.
pub struct OnnxSegmenter {
    session: Mutex<Session>,
    info: ModelInfo,
    pub params: MapParams,
}

impl std::fmt::Debug for OnnxSegmenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxSegmenter")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl OnnxSegmenter {
    /// Loads the manifest's segmenter: verifies the file's sha256, opens a
    /// session and checks its input and output.
    ///
    /// # Errors
    /// Any `ModelError`; nothing panics on a missing, damaged or foreign model.
    pub fn load(manifest: &Manifest) -> Result<Self, ModelError> {
        let entry = manifest.entry(TASK_SEGMENTER)?;
        check_normalisation(entry, SEGMENTER_NORMALISATION)?;
        let session = open_session(manifest, entry)?;
        check_signature(entry, &session)?;
        Ok(Self {
            session: Mutex::new(session),
            info: ModelInfo::new(&entry.name, &entry.version),
            params: MapParams::default(),
        })
    }

    /// The model's probability maps for a stain-density image, at the
    /// image's size. Spreads larger than [`MAX_MODEL_SIDE`] on a side are
    /// shrunk by a whole factor first (chromosomes in such images are drawn
    /// with more pixels than the model was trained on) and the maps
    /// stretched back.
    ///
    /// # Errors
    /// When the session fails or returns something other than three maps of
    /// probabilities.
    pub fn maps(&self, density: &GrayImage) -> Result<ProbabilityMaps, ModelError> {
        let factor = density
            .width()
            .max(density.height())
            .div_ceil(MAX_MODEL_SIDE)
            .max(1);
        if factor == 1 {
            return self.maps_at_model_scale(density);
        }
        let small = shrink(density, factor);
        let maps = self.maps_at_model_scale(&small)?;
        Ok(stretch(&maps, density.width(), density.height()))
    }

    fn maps_at_model_scale(&self, density: &GrayImage) -> Result<ProbabilityMaps, ModelError> {
        let fail = |reason: String| ModelError::Inference {
            model: format!("{} {}", self.info.name, self.info.version),
            reason,
        };
        let (w, h) = (density.width(), density.height());
        let (input, pw, ph) = segmenter_input(density);
        let image = Tensor::from_array((vec![1i64, 1, ph as i64, pw as i64], input))
            .map_err(|e| fail(e.to_string()))?;
        let mut session = self
            .session
            .lock()
            .map_err(|_| fail("session lock poisoned".into()))?;
        let outputs = session
            .run(ort::inputs![IN_IMAGE => image])
            .map_err(|e| fail(e.to_string()))?;
        let value = outputs
            .get(OUT_MAPS)
            .ok_or_else(|| fail(format!("no output {OUT_MAPS}")))?;
        let (shape, data) = value
            .try_extract_tensor::<f32>()
            .map_err(|e| fail(e.to_string()))?;
        let dims: Vec<i64> = shape.iter().copied().collect();
        if dims != [1, MAP_COUNT as i64, ph as i64, pw as i64] {
            return Err(fail(format!(
                "output {OUT_MAPS} has shape {dims:?}, expected [1, {MAP_COUNT}, {ph}, {pw}]"
            )));
        }
        let plane = |k: usize| -> Vec<f32> {
            let base = k * pw * ph;
            (0..h)
                .flat_map(|y| data[base + y * pw..base + y * pw + w].iter().copied())
                .collect()
        };
        let maps = ProbabilityMaps {
            width: w,
            height: h,
            chromosome: plane(0),
            boundary: plane(1),
            overlap: plane(2),
        };
        maps.validate().map_err(|e| fail(e.to_string()))?;
        Ok(maps)
    }
}

/// Spreads up to this many pixels on the longer side go to the model as
/// they are; larger ones are shrunk by a whole factor to fit.
pub const MAX_MODEL_SIDE: usize = 1024;

/// Box-average shrink by a whole factor (the last block may be partial).
fn shrink(img: &GrayImage, factor: usize) -> GrayImage {
    let (w, h) = (img.width(), img.height());
    let (sw, sh) = (w.div_ceil(factor), h.div_ceil(factor));
    let mut out = GrayImage::new(sw, sh, 0);
    for sy in 0..sh {
        for sx in 0..sw {
            let (mut sum, mut n) = (0u32, 0u32);
            for y in sy * factor..((sy + 1) * factor).min(h) {
                for x in sx * factor..((sx + 1) * factor).min(w) {
                    sum += u32::from(img.at(x, y));
                    n += 1;
                }
            }
            out.set(sx as i64, sy as i64, ((sum + n / 2) / n.max(1)) as u8);
        }
    }
    out
}

/// Bilinear stretch of the three maps to `w` x `h` (pixel centres aligned).
/// The source position and weight of every output column and row are worked
/// out once, and rows are filled in parallel: at 2048x2048 this is 12 million
/// samples, which per-sample coordinate arithmetic made a large share of the
/// segmentation stage.
fn stretch(maps: &ProbabilityMaps, w: usize, h: usize) -> ProbabilityMaps {
    /// For each output index along one axis: the two source indices and the
    /// weight of the second.
    fn axis(src: usize, dst: usize) -> Vec<(usize, usize, f32)> {
        (0..dst)
            .map(|i| {
                let f =
                    ((i as f64 + 0.5) * src as f64 / dst as f64 - 0.5).clamp(0.0, (src - 1) as f64);
                let i0 = f.floor() as usize;
                (i0, (i0 + 1).min(src - 1), (f - i0 as f64) as f32)
            })
            .collect()
    }
    let sw = maps.width;
    let (xs, ys) = (axis(sw, w), axis(maps.height, h));
    let resize = |plane: &[f32]| -> Vec<f32> {
        let mut out = vec![0.0f32; w * h];
        out.par_chunks_mut(w.max(1))
            .zip(ys.par_iter())
            .for_each(|(row, &(y0, y1, ty))| {
                let (top, bottom) = (
                    &plane[y0 * sw..(y0 + 1) * sw],
                    &plane[y1 * sw..(y1 + 1) * sw],
                );
                for (v, &(x0, x1, tx)) in row.iter_mut().zip(&xs) {
                    let t = top[x0] * (1.0 - tx) + top[x1] * tx;
                    let b = bottom[x0] * (1.0 - tx) + bottom[x1] * tx;
                    *v = (t * (1.0 - ty) + b * ty).clamp(0.0, 1.0);
                }
            });
        out
    };
    ProbabilityMaps {
        width: w,
        height: h,
        chromosome: resize(&maps.chromosome),
        boundary: resize(&maps.boundary),
        overlap: resize(&maps.overlap),
    }
}

/// Checks that the session has the manifest's input and output, with the
/// shapes a segmenter needs.
fn check_signature(entry: &ModelEntry, session: &Session) -> Result<(), ModelError> {
    let needs = [
        ("input", IN_IMAGE, vec![1, 1, -1, -1], &entry.inputs),
        (
            "output",
            OUT_MAPS,
            vec![1, MAP_COUNT as i64, -1, -1],
            &entry.outputs,
        ),
    ];
    for (kind, name, shape, promised) in needs {
        if !promised
            .iter()
            .any(|s| s.name == name && shape_fits(&shape, &s.shape))
        {
            return Err(signature_error(
                entry,
                format!("the segmenter needs {kind} {name:?} with shape {shape:?}"),
            ));
        }
        let outlets = if kind == "input" {
            session.inputs()
        } else {
            session.outputs()
        };
        let Some(outlet) = outlets.iter().find(|o| o.name() == name) else {
            return Err(signature_error(
                entry,
                format!("the model has no {kind} named {name:?}"),
            ));
        };
        let actual: Vec<i64> = outlet
            .dtype()
            .tensor_shape()
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        if !shape_fits(&shape, &actual) {
            return Err(signature_error(
                entry,
                format!("{kind} {name:?} has shape {actual:?}, a segmenter needs {shape:?}"),
            ));
        }
    }
    Ok(())
}

impl Segmenter for OnnxSegmenter {
    fn info(&self) -> ModelInfo {
        self.info.clone()
    }

    fn segment(
        &self,
        gray: &GrayImage,
        modality: Modality,
    ) -> Result<Segmentation, SegmentationError> {
        let failed = |reason: String| SegmentationError::Failed {
            model: format!("{} {}", self.info.name, self.info.version),
            reason,
        };
        let density = density(gray, modality);
        let maps = self.maps(&density).map_err(|e| failed(e.to_string()))?;
        let stain = Stain::of(&density, modality, &self.params.builtin).ok();
        // What the model left as background but a classical pass sets aside
        // (a nucleus, debris) is still listed with its reason. The two passes
        // are independent, so they run side by side.
        let (instances, classical) = rayon::join(
            || instances_from_maps(&maps, &self.params, stain.as_ref()),
            || {
                stain
                    .as_ref()
                    .map(|stain| segment_stain(stain, &self.params.builtin, Separation::Never))
            },
        );
        let mut result = instances.map_err(|e| failed(e.to_string()))?;
        if let Some(classical) = classical {
            add_uncovered_rejects(&mut result, classical);
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrink_and_stretch_keep_sizes_and_values() {
        let mut img = GrayImage::new(7, 5, 10);
        img.set(6, 4, 250);
        let small = shrink(&img, 2);
        assert_eq!((small.width(), small.height()), (4, 3));
        assert_eq!(small.at(0, 0), 10);
        assert_eq!(small.at(3, 2), 250, "a partial block averages what it has");
        let maps = ProbabilityMaps {
            width: 2,
            height: 2,
            chromosome: vec![0.0, 1.0, 0.0, 1.0],
            boundary: vec![0.5; 4],
            overlap: vec![0.0; 4],
        };
        let big = stretch(&maps, 5, 3);
        assert_eq!(big.chromosome.len(), 15);
        assert!(big.validate().is_ok());
        assert_eq!(big.chromosome[0], 0.0);
        assert_eq!(big.chromosome[4], 1.0);
        assert!(big.boundary.iter().all(|&v| (v - 0.5).abs() < 1e-6));
    }

    /// Bilinear sampling worked out sample by sample, as the stretch did
    /// before its tables: the fast version must give the same values.
    fn stretch_reference(plane: &[f32], sw: usize, sh: usize, w: usize, h: usize) -> Vec<f32> {
        let mut out = Vec::with_capacity(w * h);
        for y in 0..h {
            for x in 0..w {
                let fx =
                    ((x as f64 + 0.5) * sw as f64 / w as f64 - 0.5).clamp(0.0, (sw - 1) as f64);
                let fy =
                    ((y as f64 + 0.5) * sh as f64 / h as f64 - 0.5).clamp(0.0, (sh - 1) as f64);
                let (x0, y0) = (fx.floor() as usize, fy.floor() as usize);
                let (x1, y1) = ((x0 + 1).min(sw - 1), (y0 + 1).min(sh - 1));
                let (tx, ty) = ((fx - x0 as f64) as f32, (fy - y0 as f64) as f32);
                let top = plane[y0 * sw + x0] * (1.0 - tx) + plane[y0 * sw + x1] * tx;
                let bottom = plane[y1 * sw + x0] * (1.0 - tx) + plane[y1 * sw + x1] * tx;
                out.push((top * (1.0 - ty) + bottom * ty).clamp(0.0, 1.0));
            }
        }
        out
    }

    #[test]
    fn stretch_matches_sample_by_sample_bilinear_interpolation() {
        let (sw, sh) = (13, 9);
        let plane = |k: usize| -> Vec<f32> {
            (0..sw * sh)
                .map(|i| ((i * 37 + k * 11) % 101) as f32 / 100.0)
                .collect()
        };
        let maps = ProbabilityMaps {
            width: sw,
            height: sh,
            chromosome: plane(0),
            boundary: plane(1),
            overlap: plane(2),
        };
        for (w, h) in [(26, 18), (25, 17), (13, 9), (40, 7), (1, 1)] {
            let big = stretch(&maps, w, h);
            assert_eq!((big.width, big.height), (w, h));
            assert_eq!(
                big.chromosome,
                stretch_reference(&maps.chromosome, sw, sh, w, h)
            );
            assert_eq!(
                big.boundary,
                stretch_reference(&maps.boundary, sw, sh, w, h)
            );
            assert_eq!(big.overlap, stretch_reference(&maps.overlap, sw, sh, w, h));
        }
    }
}
