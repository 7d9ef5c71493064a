//! Karyogram arrangement and layout in karyogram space.
//!
//! The layout is computed once here and used by every renderer (the PNG
//! export and the window), so what is shown and what is exported agree.

pub mod cell_view;
pub mod crop;
pub mod edit;
pub mod homolog;
pub mod layout;
pub mod tools;
