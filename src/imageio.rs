//! Image files in and out: decoding microscope images into 8-bit
//! [`GrayImage`]s and writing PNGs.
//!
//! # Theory of operation
//! Loading reads the whole file into memory, guesses the format from the
//! content (never the extension), reads only the header, and refuses images
//! with a zero dimension or more than [`LoadLimits::max_pixels`] pixels before
//! any pixel buffer is allocated. The decoder then runs under
//! [`image::Limits`] (width, height and an allocation budget derived from the
//! pixel limit), so a header that lies about the data cannot make it allocate
//! gigabytes. Every failure becomes an [`ImageLoadError`] naming the file; no
//! input makes this module panic.
//!
//! Supported formats: PNG, JPEG, TIFF (first page only) and BMP, 8 or 16 bits
//! per channel, gray or RGB(A). Conversion to 8-bit gray:
//! - colour becomes luminance with the Rec. 601 weights
//!   `0.299 R + 0.587 G + 0.114 B`; alpha is ignored;
//! - 8-bit data is kept as is;
//! - 16-bit data is stretched linearly so that the 0.1th percentile of its
//!   values maps to 0 and the 99.9th percentile to 255 (values outside are
//!   clipped). Microscope cameras often fill only 12 of the 16 bits, so a
//!   plain `v >> 8` would give a dark, low-contrast image; the percentiles
//!   ignore a few hot or dead pixels. A constant 16-bit image maps to
//!   `v >> 8`. Floating-point data (rare) is first converted to 16 bits.
//!
//! Saving encodes the whole PNG in memory, writes it to a temporary file in the
//! target directory and renames it into place, so an error never leaves a
//! partial file under the target name.

use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::codecs::png::PngEncoder;
use image::{
    DynamicImage, ExtendedColorType, ImageDecoder, ImageEncoder, ImageError, ImageFormat,
    ImageReader,
};

use crate::domain::raster::GrayImage;

/// Default for [`LoadLimits::max_pixels`]: 64 megapixels.
pub const DEFAULT_MAX_PIXELS: u64 = 64_000_000;

/// Bound on the decoder's working memory beyond the decoded pixels.
const DECODER_ALLOC_SLACK: u64 = 64 * 1024 * 1024;

/// Limits applied while loading an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadLimits {
    /// Largest accepted `width * height`.
    pub max_pixels: u64,
}

impl Default for LoadLimits {
    fn default() -> Self {
        Self {
            max_pixels: DEFAULT_MAX_PIXELS,
        }
    }
}

/// A decoded image converted to 8-bit gray, with what the file held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedImage {
    /// The path (or name) the image was loaded from.
    pub path: PathBuf,
    /// The image as 8-bit gray (see the module docs for the conversion).
    pub gray: GrayImage,
    /// Bits per channel in the file (1, 8 or 16 for the usual formats).
    pub bit_depth: u8,
    /// Channels in the file (1 gray, 2 gray + alpha, 3 RGB, 4 RGBA).
    pub channels: u8,
}

/// Why an image could not be loaded. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum ImageLoadError {
    #[error("{}: file not found", path.display())]
    NotFound { path: PathBuf },
    #[error("{}: is a directory, not an image file", path.display())]
    IsDirectory { path: PathBuf },
    #[error("{}: cannot read the file: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: the file is empty (0 bytes)", path.display())]
    Empty { path: PathBuf },
    #[error(
        "{}: unrecognised image format (supported: PNG, JPEG, TIFF, BMP)",
        path.display()
    )]
    UnrecognisedFormat { path: PathBuf },
    #[error("{}: unsupported image: {detail}", path.display())]
    Unsupported { path: PathBuf, detail: String },
    #[error("{}: the image is truncated or corrupt: {detail}", path.display())]
    Corrupt { path: PathBuf, detail: String },
    #[error("{}: zero-size image ({width} x {height} pixels)", path.display())]
    ZeroSize {
        path: PathBuf,
        width: u64,
        height: u64,
    },
    #[error(
        "{}: image too large: {width} x {height} = {pixels} pixels exceeds the limit of {max_pixels} pixels",
        path.display()
    )]
    TooLarge {
        path: PathBuf,
        width: u64,
        height: u64,
        pixels: u64,
        max_pixels: u64,
    },
    #[error(
        "{}: decoding would exceed the memory limit (the header may be wrong): {detail}",
        path.display()
    )]
    MemoryLimit { path: PathBuf, detail: String },
}

/// Why an image could not be saved. Every message names the target path.
#[derive(Debug, thiserror::Error)]
pub enum ImageSaveError {
    #[error(
        "{}: pixel buffer has {actual} bytes, expected {expected} for the image size",
        path.display()
    )]
    BufferSize {
        path: PathBuf,
        expected: usize,
        actual: usize,
    },
    #[error("{}: cannot encode PNG: {detail}", path.display())]
    Encode { path: PathBuf, detail: String },
    #[error("{}: cannot write the file: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Loads an image file as 8-bit gray.
///
/// # Errors
/// [`ImageLoadError`] when the file is missing, a directory, unreadable, empty,
/// not a supported image, truncated or corrupt, zero-size, or larger than
/// `limits`.
pub fn load_gray(path: &Path, limits: &LoadLimits) -> Result<LoadedImage, ImageLoadError> {
    let io_error = |source: std::io::Error| match source.kind() {
        std::io::ErrorKind::NotFound => ImageLoadError::NotFound {
            path: path.to_path_buf(),
        },
        _ => ImageLoadError::Unreadable {
            path: path.to_path_buf(),
            source,
        },
    };
    let meta = fs::metadata(path).map_err(io_error)?;
    if meta.is_dir() {
        return Err(ImageLoadError::IsDirectory {
            path: path.to_path_buf(),
        });
    }
    let bytes = fs::read(path).map_err(io_error)?;
    decode_gray(path, &bytes, limits)
}

/// Decodes an image held in memory as 8-bit gray; `name` is used in messages
/// and stored in the result.
///
/// # Errors
/// As [`load_gray`], except the file-system cases.
pub fn decode_gray(
    name: &Path,
    bytes: &[u8],
    limits: &LoadLimits,
) -> Result<LoadedImage, ImageLoadError> {
    let path = || name.to_path_buf();
    if bytes.is_empty() {
        return Err(ImageLoadError::Empty { path: path() });
    }
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| ImageLoadError::Corrupt {
            path: path(),
            detail: e.to_string(),
        })?;
    let Some(format) = reader.format() else {
        return Err(ImageLoadError::UnrecognisedFormat { path: path() });
    };
    if format == ImageFormat::Png {
        // The PNG decoder rejects odd IHDR sizes with a generic message; read
        // them here so that zero and huge sizes are reported plainly.
        if let Some((w, h)) = png_header_size(bytes) {
            check_size(name, u64::from(w), u64::from(h), limits)?;
        }
    }

    let mut image_limits = image::Limits::default();
    image_limits.max_alloc = Some(alloc_budget(limits.max_pixels));
    let mut reader = reader;
    reader.limits(image_limits.clone());
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| map_image_error(name, e))?;

    let (width, height) = decoder.dimensions();
    check_size(name, u64::from(width), u64::from(height), limits)?;
    let original = decoder.original_color_type();
    let channels = original.channel_count().max(1);
    let bit_depth = original.bits_per_pixel() / u16::from(channels);
    let bit_depth = u8::try_from(bit_depth).unwrap_or(u8::MAX);

    let side = u32::try_from(limits.max_pixels).unwrap_or(u32::MAX);
    image_limits.max_image_width = Some(side);
    image_limits.max_image_height = Some(side);
    image_limits
        .reserve(decoder.total_bytes())
        .map_err(|e| map_image_error(name, e))?;
    decoder
        .set_limits(image_limits)
        .map_err(|e| map_image_error(name, e))?;
    let dynamic = DynamicImage::from_decoder(decoder).map_err(|e| map_image_error(name, e))?;

    let gray = to_gray8(dynamic).ok_or_else(|| ImageLoadError::Corrupt {
        path: path(),
        detail: "decoded pixel buffer does not match the image size".to_string(),
    })?;
    Ok(LoadedImage {
        path: path(),
        gray,
        bit_depth,
        channels,
    })
}

/// Refuses zero or over-limit sizes.
fn check_size(
    name: &Path,
    width: u64,
    height: u64,
    limits: &LoadLimits,
) -> Result<(), ImageLoadError> {
    if width == 0 || height == 0 {
        return Err(ImageLoadError::ZeroSize {
            path: name.to_path_buf(),
            width,
            height,
        });
    }
    let pixels = width.saturating_mul(height);
    if pixels > limits.max_pixels {
        return Err(ImageLoadError::TooLarge {
            path: name.to_path_buf(),
            width,
            height,
            pixels,
            max_pixels: limits.max_pixels,
        });
    }
    Ok(())
}

/// Decoder allocation budget: the largest decoded buffer (RGBA, 16 bits per
/// channel) for `max_pixels`, plus working memory.
fn alloc_budget(max_pixels: u64) -> u64 {
    max_pixels
        .saturating_mul(8)
        .saturating_add(DECODER_ALLOC_SLACK)
}

/// Width and height from a PNG's IHDR chunk, when the bytes hold one.
fn png_header_size(bytes: &[u8]) -> Option<(u32, u32)> {
    // 8-byte signature, 4-byte length, "IHDR", width, height (big-endian).
    if bytes.get(12..16)? != b"IHDR" {
        return None;
    }
    let w = u32::from_be_bytes(bytes.get(16..20)?.try_into().ok()?);
    let h = u32::from_be_bytes(bytes.get(20..24)?.try_into().ok()?);
    Some((w, h))
}

fn map_image_error(name: &Path, error: ImageError) -> ImageLoadError {
    let path = name.to_path_buf();
    match error {
        ImageError::Unsupported(e) => ImageLoadError::Unsupported {
            path,
            detail: e.to_string(),
        },
        ImageError::Limits(e) => ImageLoadError::MemoryLimit {
            path,
            detail: e.to_string(),
        },
        ImageError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            ImageLoadError::Corrupt {
                path,
                detail: "unexpected end of file".to_string(),
            }
        }
        other => ImageLoadError::Corrupt {
            path,
            detail: other.to_string(),
        },
    }
}

/// Rec. 601 luminance of an 8-bit RGB triple.
fn luma8(r: u8, g: u8, b: u8) -> u8 {
    let y = (299 * u32::from(r) + 587 * u32::from(g) + 114 * u32::from(b) + 500) / 1000;
    u8::try_from(y).unwrap_or(u8::MAX)
}

/// Rec. 601 luminance of a 16-bit RGB triple.
fn luma16(r: u16, g: u16, b: u16) -> u16 {
    let y = (299 * u64::from(r) + 587 * u64::from(g) + 114 * u64::from(b) + 500) / 1000;
    u16::try_from(y).unwrap_or(u16::MAX)
}

/// Converts any decoded image to 8-bit gray; `None` only if a buffer is
/// inconsistent with its size (not expected from the decoders).
fn to_gray8(img: DynamicImage) -> Option<GrayImage> {
    let w = usize::try_from(img.width()).ok()?;
    let h = usize::try_from(img.height()).ok()?;
    let data: Vec<u8> = match img {
        DynamicImage::ImageLuma8(b) => b.into_raw(),
        DynamicImage::ImageLumaA8(b) => b.into_raw().chunks_exact(2).map(|p| p[0]).collect(),
        DynamicImage::ImageRgb8(b) => b
            .into_raw()
            .chunks_exact(3)
            .map(|p| luma8(p[0], p[1], p[2]))
            .collect(),
        DynamicImage::ImageRgba8(b) => b
            .into_raw()
            .chunks_exact(4)
            .map(|p| luma8(p[0], p[1], p[2]))
            .collect(),
        DynamicImage::ImageLuma16(b) => stretch16(b.as_raw()),
        DynamicImage::ImageLumaA16(b) => {
            let v: Vec<u16> = b.as_raw().chunks_exact(2).map(|p| p[0]).collect();
            stretch16(&v)
        }
        DynamicImage::ImageRgb16(b) => {
            let v: Vec<u16> = b
                .as_raw()
                .chunks_exact(3)
                .map(|p| luma16(p[0], p[1], p[2]))
                .collect();
            stretch16(&v)
        }
        DynamicImage::ImageRgba16(b) => {
            let v: Vec<u16> = b
                .as_raw()
                .chunks_exact(4)
                .map(|p| luma16(p[0], p[1], p[2]))
                .collect();
            stretch16(&v)
        }
        other => {
            let rgb = other.to_rgb16();
            let v: Vec<u16> = rgb
                .as_raw()
                .chunks_exact(3)
                .map(|p| luma16(p[0], p[1], p[2]))
                .collect();
            stretch16(&v)
        }
    };
    GrayImage::from_vec(w, h, data)
}

/// Linear stretch of 16-bit values to 8 bits between the 0.1th and 99.9th
/// percentiles (see the module docs).
pub fn stretch16(values: &[u16]) -> Vec<u8> {
    if values.is_empty() {
        return Vec::new();
    }
    let mut hist = vec![0u64; 65_536];
    for &v in values {
        hist[usize::from(v)] += 1;
    }
    let n = values.len() as u64;
    let rank = |q_per_mille: u64| -> u16 {
        // Smallest value whose cumulative count exceeds the rank.
        let target = (n - 1) * q_per_mille / 1000;
        let mut cum = 0u64;
        for (v, &c) in hist.iter().enumerate() {
            cum += c;
            if cum > target {
                return u16::try_from(v).unwrap_or(u16::MAX);
            }
        }
        u16::MAX
    };
    let lo = rank(1);
    let hi = rank(999);
    if hi <= lo {
        return values
            .iter()
            .map(|&v| u8::try_from(v >> 8).unwrap_or(u8::MAX))
            .collect();
    }
    let (lo, span) = (f64::from(lo), f64::from(hi - lo));
    values
        .iter()
        .map(|&v| {
            ((f64::from(v) - lo) * 255.0 / span)
                .round()
                .clamp(0.0, 255.0) as u8
        })
        .collect()
}

/// Encodes an 8-bit gray image as PNG bytes.
///
/// # Errors
/// [`ImageSaveError::Encode`] when the image is too large for PNG or the
/// encoder fails; the path in the message is `<memory>`.
pub fn encode_gray_png(img: &GrayImage) -> Result<Vec<u8>, ImageSaveError> {
    encode_png(
        Path::new("<memory>"),
        img.width(),
        img.height(),
        img.data(),
        ExtendedColorType::L8,
    )
}

/// Encodes 8-bit RGB bytes (`width * height * 3`, row-major) as PNG bytes.
///
/// # Errors
/// As [`encode_gray_png`], plus [`ImageSaveError::BufferSize`] when `rgb` has
/// the wrong length.
pub fn encode_rgb_png(width: usize, height: usize, rgb: &[u8]) -> Result<Vec<u8>, ImageSaveError> {
    encode_png(
        Path::new("<memory>"),
        width,
        height,
        rgb,
        ExtendedColorType::Rgb8,
    )
}

fn encode_png(
    path: &Path,
    width: usize,
    height: usize,
    data: &[u8],
    color: ExtendedColorType,
) -> Result<Vec<u8>, ImageSaveError> {
    let channels = usize::from(color.channel_count());
    let expected = width.saturating_mul(height).saturating_mul(channels);
    if data.len() != expected {
        return Err(ImageSaveError::BufferSize {
            path: path.to_path_buf(),
            expected,
            actual: data.len(),
        });
    }
    let encode_error = |detail: String| ImageSaveError::Encode {
        path: path.to_path_buf(),
        detail,
    };
    let w = u32::try_from(width).map_err(|_| encode_error(format!("width {width} too large")))?;
    let h =
        u32::try_from(height).map_err(|_| encode_error(format!("height {height} too large")))?;
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(data, w, h, color)
        .map_err(|e| encode_error(e.to_string()))?;
    Ok(out)
}

/// Saves an 8-bit gray image as a PNG file, atomically (temporary file in the
/// same directory, then rename).
///
/// # Errors
/// [`ImageSaveError`] naming `path` when encoding or writing fails; no file is
/// left at `path` or beside it.
pub fn save_gray_png(path: &Path, img: &GrayImage) -> Result<(), ImageSaveError> {
    let bytes = encode_png(
        path,
        img.width(),
        img.height(),
        img.data(),
        ExtendedColorType::L8,
    )?;
    write_atomically(path, &bytes)
}

/// Saves 8-bit RGB bytes (`width * height * 3`, row-major) as a PNG file,
/// atomically.
///
/// # Errors
/// As [`save_gray_png`], plus [`ImageSaveError::BufferSize`] when `rgb` has
/// the wrong length.
pub fn save_rgb_png(
    path: &Path,
    width: usize,
    height: usize,
    rgb: &[u8],
) -> Result<(), ImageSaveError> {
    let bytes = encode_png(path, width, height, rgb, ExtendedColorType::Rgb8)?;
    write_atomically(path, &bytes)
}

/// Writes `bytes` crash-safely to `path` (see `fsutil::write_atomic`).
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ImageSaveError> {
    crate::fsutil::write_atomic(path, bytes).map_err(|source| ImageSaveError::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stretch_maps_percentiles_to_full_range() {
        let values: Vec<u16> = (0..1000).map(|i| 1000 + i * 3).collect();
        let out = stretch16(&values);
        assert_eq!(out.first(), Some(&0));
        assert_eq!(out.last(), Some(&255));
        assert_eq!(stretch16(&[512; 10]), vec![2; 10]);
    }

    #[test]
    fn rec601_luma() {
        assert_eq!(luma8(255, 255, 255), 255);
        assert_eq!(luma8(255, 0, 0), 76);
        assert_eq!(luma8(0, 255, 0), 150);
        assert_eq!(luma16(0, 0, 65535), 7471);
    }

    #[test]
    fn png_encode_decode_round_trip_in_memory() {
        let img = GrayImage::from_vec(3, 2, vec![0, 50, 100, 150, 200, 255]).unwrap();
        let bytes = encode_gray_png(&img).unwrap();
        let back = decode_gray(Path::new("mem.png"), &bytes, &LoadLimits::default()).unwrap();
        assert_eq!(back.gray, img);
        assert_eq!((back.bit_depth, back.channels), (8, 1));
    }
}
