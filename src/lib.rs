//! KaryoStation: a cytogenetics review workstation.
//!
//! Architecture in ten lines:
//! - `domain` is pure: rasters, segmentation, geometry, classification,
//!   karyogram arrangement and ISCN. No I/O, no clock, no GUI/ML/DB crates.
//! - `imageio` decodes image files into domain rasters and encodes PNGs.
//! - `pipeline` runs the stages on a file, times them and writes the outputs.
//! - `store` keeps cases on SQLite behind the domain's `CaseRepo` port.
//! - `export` renders stored cases: karyogram PNG, ISCN report, and the
//!   de-identified retraining set (COCO masks, crops, labels).
//! - `infer` runs learned models (the only module naming `ort`); `fsutil`
//!   holds the shared data directory and crash-safe file writes.
//! - `main.rs` is a thin command-line front end over the library.
//!
//! Dependency rule: `domain` depends on nothing else in the crate; the other
//! modules depend on `domain`; nothing depends on `main.rs`.

pub mod demo;
pub mod domain;
pub mod eval;
pub mod export;
pub mod fsutil;
pub mod imageio;
pub mod infer;
pub mod karyogram_png;
pub mod pipeline;
pub mod report;
pub mod store;
