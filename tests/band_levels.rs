//! The 300- and 700-band tables are not shipped; installed from the shared
//! band tables (skipped when `../shared/bands` is absent) they replace the
//! fallback levels.

use std::path::PathBuf;

use karyostation::domain::bands::{BandLevel, BandTable};
use karyostation::domain::chromosome::ChromosomeClass;
use karyostation::fsutil::install_band_tables;

#[test]
fn derived_levels_install_from_a_folder_and_replace_the_fallback() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/bands");
    if !dir.join(BandLevel::B300.file_name()).is_file() {
        eprintln!("skipped: {} not present", dir.display());
        return;
    }
    assert_eq!(BandTable::get(BandLevel::B300).level, BandLevel::B400);
    let notes = install_band_tables(std::slice::from_ref(&dir));
    assert_eq!(notes.len(), 2, "{notes:?}");
    for level in [BandLevel::B300, BandLevel::B700] {
        assert!(BandTable::available(level), "{notes:?}");
        assert_eq!(BandTable::get(level).level, level);
    }
    // Coarser levels have fewer bands.
    let five = ChromosomeClass::autosome(5).unwrap();
    let bands = |l| BandTable::get(l).ideogram(five).bands.len();
    assert!(bands(BandLevel::B300) < bands(BandLevel::B400));
    assert!(bands(BandLevel::B700) < bands(BandLevel::B850));
    assert!(bands(BandLevel::B550) < bands(BandLevel::B700));
}

#[test]
fn a_missing_folder_is_reported_not_fatal() {
    let notes = install_band_tables(&[PathBuf::from("/nonexistent/bands")]);
    assert_eq!(notes.len(), 2);
    assert!(notes.iter().all(|n| n.contains("not found")), "{notes:?}");
}
