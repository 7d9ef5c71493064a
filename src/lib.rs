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
//! - `casework` imports files into cases and seeds the demo case.
//! - `app` (feature `gui`) holds the window's state, its commands and the
//!   background jobs; `ui` (feature `gui`) draws with egui and only emits
//!   commands. `ui` never names rusqlite, ort or tokio.
//! - `about` reports the build and what it found (`--version`).
//! - `main.rs` is a thin front end: the window by default, or a subcommand.
//!
//! Dependency rule: `domain` depends on nothing else in the crate; the other
//! modules depend on `domain`; `app` depends on all of them, `ui` on `app`
//! and `domain`; nothing depends on `main.rs`.

pub mod about;
#[cfg(feature = "gui")]
pub mod app;
pub mod casework;
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
#[cfg(feature = "gui")]
pub mod ui;
