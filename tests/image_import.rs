//! Image import and export through `karyostation::imageio`: bad files give
//! errors naming the file (never a panic), every supported format loads, and
//! saving is a faithful, atomic round trip.

use std::fs;
use std::path::{Path, PathBuf};

use karyostation::domain::raster::GrayImage;
use karyostation::imageio::{
    ImageLoadError, LoadLimits, LoadedImage, decode_gray, encode_gray_png, load_gray,
    save_gray_png, save_rgb_png,
};

fn data_dir(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(sub)
}

fn sorted_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e != "md" && e != "onnx"))
        .collect();
    files.sort();
    files
}

fn load(name: &str) -> LoadedImage {
    let path = data_dir("input/formats").join(name);
    load_gray(&path, &LoadLimits::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// Mean of column `x`.
fn column_mean(img: &GrayImage, x: usize) -> f64 {
    (0..img.height())
        .map(|y| f64::from(img.at(x, y)))
        .sum::<f64>()
        / img.height() as f64
}

#[test]
fn every_bad_file_is_an_error_naming_the_file() {
    let files = sorted_files(&data_dir("bad"));
    assert_eq!(files.len(), 7, "{files:?}");
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let result = std::panic::catch_unwind(|| load_gray(&path, &LoadLimits::default()));
        let Ok(result) = result else {
            panic!("{name}: load_gray panicked");
        };
        let err = match result {
            Ok(img) => panic!(
                "{name}: loaded as {}x{}",
                img.gray.width(),
                img.gray.height()
            ),
            Err(e) => e,
        };
        let msg = err.to_string();
        eprintln!("{msg}");
        assert!(msg.contains(&name), "{name}: {msg}");
        // The same bytes from memory fail the same way.
        let bytes = fs::read(&path).unwrap();
        assert!(decode_gray(Path::new(&name), &bytes, &LoadLimits::default()).is_err());
    }
}

#[test]
fn bad_files_say_plainly_what_is_wrong() {
    let check = |name: &str, expect: &str| {
        let path = data_dir("bad").join(name);
        let msg = load_gray(&path, &LoadLimits::default())
            .unwrap_err()
            .to_string();
        assert!(msg.contains(expect), "{name}: {msg}");
    };
    check("empty.png", "empty");
    check("truncated.png", "truncated or corrupt");
    check("truncated.tif", "truncated or corrupt");
    check("corrupt.jpg", "truncated or corrupt");
    check("zero_size.png", "zero-size");
    check(
        "huge_header.png",
        "100000 x 100000 = 10000000000 pixels exceeds the limit of 64000000 pixels",
    );
    check("not_an_image.png", "unrecognised image format");
}

#[test]
fn directory_and_missing_paths_are_clear_errors() {
    let dir = data_dir("bad");
    let err = load_gray(&dir, &LoadLimits::default()).unwrap_err();
    assert!(matches!(err, ImageLoadError::IsDirectory { .. }), "{err}");
    assert!(err.to_string().contains("is a directory"));
    assert!(err.to_string().contains(&*dir.to_string_lossy()));

    let missing = dir.join("no_such_file.png");
    let err = load_gray(&missing, &LoadLimits::default()).unwrap_err();
    assert!(matches!(err, ImageLoadError::NotFound { .. }), "{err}");
    assert!(err.to_string().contains("no_such_file.png"));
    assert!(err.to_string().contains("not found"));
}

#[test]
fn over_limit_image_is_refused_with_the_limit_named() {
    let img = GrayImage::new(100, 100, 7);
    let bytes = encode_gray_png(&img).unwrap();
    let limits = LoadLimits { max_pixels: 5000 };
    let err = decode_gray(Path::new("big.png"), &bytes, &limits).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ImageLoadError::TooLarge { .. }), "{msg}");
    assert!(
        msg.contains("big.png")
            && msg.contains("100 x 100 = 10000 pixels exceeds the limit of 5000 pixels"),
        "{msg}"
    );
    // Exactly at the limit is fine.
    let ok = decode_gray(
        Path::new("ok.png"),
        &bytes,
        &LoadLimits { max_pixels: 10_000 },
    );
    assert!(ok.is_ok());
}

#[test]
fn every_format_loads_with_the_right_size_and_values() {
    let files = sorted_files(&data_dir("input/formats"));
    assert_eq!(files.len(), 6, "{files:?}");
    for path in &files {
        let img = load_gray(path, &LoadLimits::default()).unwrap_or_else(|e| panic!("{e}"));
        let name = path.display();
        assert_eq!((img.gray.width(), img.gray.height()), (32, 24), "{name}");
        assert_eq!(img.path, *path);
        // Every input is a ramp rising from left to right (first page).
        let (left, right) = (column_mean(&img.gray, 0), column_mean(&img.gray, 31));
        assert!(right > left + 20.0, "{name}: left {left}, right {right}");
    }
}

#[test]
fn per_format_details() {
    let png = load("gray8.png");
    assert_eq!((png.bit_depth, png.channels), (8, 1));
    assert!(column_mean(&png.gray, 0) < 3.0 && column_mean(&png.gray, 31) > 250.0);

    let jpg = load("rgb.jpg");
    assert_eq!((jpg.bit_depth, jpg.channels), (8, 3));
    // Rec. 601 luminance of (255, 0, 128) and (0, 255, 128): about 91 and 165.
    let (l, r) = (column_mean(&jpg.gray, 0), column_mean(&jpg.gray, 31));
    assert!((l - 91.0).abs() < 8.0 && (r - 165.0).abs() < 8.0, "{l} {r}");

    let bmp = load("gray_as_rgb24.bmp");
    assert_eq!(bmp.channels, 3);
    assert_eq!(bmp.gray, png.gray, "BMP holds the same gray ramp");

    for name in ["gray16.tif", "multipage16.tif"] {
        let tif = load(name);
        assert_eq!((tif.bit_depth, tif.channels), (16, 1), "{name}");
        // 12-bit data (200..4000) is stretched to the full 8-bit range.
        let min = tif.gray.data().iter().min().copied();
        let max = tif.gray.data().iter().max().copied();
        assert_eq!((min, max), (Some(0), Some(255)), "{name}");
    }
    // The multi-page TIFF gives its first page: the rising ramp of gray16.tif.
    assert_eq!(load("multipage16.tif").gray, load("gray16.tif").gray);

    let rgb16 = load("rgb16.tif");
    assert_eq!((rgb16.bit_depth, rgb16.channels), (16, 3));
    assert_eq!(rgb16.gray.data().iter().min(), Some(&0));
    assert_eq!(rgb16.gray.data().iter().max(), Some(&255));
}

#[test]
fn save_then_load_gives_identical_pixels() {
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..37 * 11).map(|i| (i * 7 % 256) as u8).collect();
    let img = GrayImage::from_vec(37, 11, data).unwrap();
    let path = dir.path().join("round trip.png");
    save_gray_png(&path, &img).unwrap();
    let back = load_gray(&path, &LoadLimits::default()).unwrap();
    assert_eq!(back.gray, img);
    // Overwriting works and leaves only the target file behind.
    save_gray_png(&path, &img.inverted()).unwrap();
    assert_eq!(
        load_gray(&path, &LoadLimits::default()).unwrap().gray,
        img.inverted()
    );
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);

    let rgb_path = dir.path().join("rgb.png");
    let rgb: Vec<u8> = [255u8, 0, 0, 0, 255, 0].repeat(2);
    save_rgb_png(&rgb_path, 2, 2, &rgb).unwrap();
    let back = load_gray(&rgb_path, &LoadLimits::default()).unwrap();
    assert_eq!(back.channels, 3);
    assert_eq!(back.gray.data(), &[76, 150, 76, 150]);
    let err = save_rgb_png(&dir.path().join("short.png"), 2, 2, &rgb[..5]).unwrap_err();
    assert!(err.to_string().contains("short.png"), "{err}");
    assert!(!dir.path().join("short.png").exists());
}

#[test]
fn saving_into_a_missing_directory_fails_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing").join("out.png");
    let err = save_gray_png(&path, &GrayImage::new(4, 4, 1)).unwrap_err();
    assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
    assert!(!path.exists());
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn mangled_inputs_never_panic() {
    // Deterministic truncations and byte flips of every good input.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };
    for path in sorted_files(&data_dir("input/formats")) {
        let bytes = fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for cut in (0..bytes.len()).step_by(bytes.len() / 40 + 1) {
            let r = std::panic::catch_unwind(|| {
                decode_gray(Path::new(&name), &bytes[..cut], &LoadLimits::default())
            });
            assert!(r.is_ok(), "{name}: panicked when cut at {cut} bytes");
        }
        for _ in 0..200 {
            let mut mangled = bytes.clone();
            for _ in 0..3 {
                let i = (next() as usize) % mangled.len();
                mangled[i] = (next() & 0xFF) as u8;
            }
            let r = std::panic::catch_unwind(|| {
                decode_gray(Path::new(&name), &mangled, &LoadLimits::default())
            });
            assert!(r.is_ok(), "{name}: panicked on mangled bytes");
        }
    }
}
