//! Every colour and spacing of the window, for the light and dark themes.

use egui::{Color32, Visuals};

use crate::domain::chromosome::ChromosomeClass;

/// Spacing and sizes, in points.
pub const THUMB_SIZE: f32 = 150.0;
pub const SIDE_PANEL_WIDTH: f32 = 300.0;
pub const LABEL_SIZE: f32 = 13.0;
pub const KARYOGRAM_HEIGHT: f32 = 330.0;

/// The visuals for the chosen theme.
pub fn visuals(dark: bool) -> Visuals {
    let mut v = if dark {
        Visuals::dark()
    } else {
        Visuals::light()
    };
    v.selection.bg_fill = accent(dark);
    v
}

pub fn accent(dark: bool) -> Color32 {
    if dark {
        Color32::from_rgb(70, 130, 200)
    } else {
        Color32::from_rgb(40, 100, 190)
    }
}

/// Colour of a selected object's outline.
pub const SELECTION: Color32 = Color32::from_rgb(255, 215, 0);
/// Colour of flag markers (uncertain class or polarity).
pub const FLAG: Color32 = Color32::from_rgb(255, 80, 40);
/// Colour of rejected objects when shown.
pub const REJECTED: Color32 = Color32::from_rgb(128, 128, 128);
/// Colour of unassigned objects.
pub const UNASSIGNED: Color32 = Color32::from_rgb(230, 230, 230);
/// Text colour of a count that is not 2.
pub const COUNT_WARNING: Color32 = Color32::from_rgb(220, 60, 30);
/// Valid input (ISCN that checks).
pub const VALID: Color32 = Color32::from_rgb(40, 150, 60);
pub const ERROR: Color32 = Color32::from_rgb(200, 40, 40);
pub const WARNING: Color32 = Color32::from_rgb(200, 130, 0);
/// Cut line and lasso while drawing.
pub const GESTURE: Color32 = Color32::from_rgb(0, 200, 255);

/// A distinct colour per class (24 hues around the wheel, alternating
/// lightness so neighbours in the karyogram differ).
pub fn class_color(class: Option<ChromosomeClass>) -> Color32 {
    let Some(c) = class else {
        return UNASSIGNED;
    };
    let i = c.index();
    let hue = (i as f32 * 0.382).fract();
    let light = if i % 2 == 0 { 0.55 } else { 0.42 };
    hsl_to_rgb(hue, 0.75, light)
}

fn hsl_to_rgb(h: f32, s: f32, l: f32) -> Color32 {
    let c = (1.0 - (2.0 * l - 1.0).abs()) * s;
    let hp = h * 6.0;
    let x = c * (1.0 - (hp % 2.0 - 1.0).abs());
    let (r, g, b) = match hp as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = l - c / 2.0;
    let to = |v: f32| ((v + m).clamp(0.0, 1.0) * 255.0).round() as u8;
    Color32::from_rgb(to(r), to(g), to(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_get_distinct_colours() {
        let colours: std::collections::BTreeSet<[u8; 4]> = ChromosomeClass::all()
            .map(|c| class_color(Some(c)).to_array())
            .collect();
        assert_eq!(colours.len(), 24);
    }
}
