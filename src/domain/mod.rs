//! The pure domain: image analysis, classification, karyograms and karyotypes.
//!
//! Nothing in here names egui, eframe, wgpu, ort, rusqlite or tokio, reads files
//! or looks at a clock (checked by `tests/architecture.rs`). Code outside the
//! domain feeds it decoded images and asks it questions; it answers with plain
//! data that the CLI, the case store and (later) the GUI render.

pub mod analysis;
pub mod bands;
pub mod case;
pub mod chromosome;
pub mod classify;
pub mod clonality;
pub mod geometry;
pub mod ids;
pub mod iscn;
pub mod karyogram;
pub mod metrics;
pub mod modality;
pub mod ports;
pub mod raster;
pub mod refine;
pub mod review;
pub mod rng;
pub mod segmentation;
pub mod synth;
