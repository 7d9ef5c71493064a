//! Karyogram arrangement and layout in karyogram space.
//!
//! The layout is computed once here and used by every renderer (the PNG
//! export now, the GUI later), so what is shown and what is exported agree.

pub mod crop;
pub mod edit;
pub mod layout;
