//! One colour per class, stable within a result: classes take palette entries in order of first
//! appearance, so the first classes always get the most distinct colours.

/// Tableau-like colours that stay readable on photos, as (r, g, b).
pub const PALETTE: [(u8, u8, u8); 12] = [
    (230, 25, 75),
    (60, 180, 75),
    (0, 130, 200),
    (245, 130, 48),
    (145, 30, 180),
    (70, 240, 240),
    (240, 50, 230),
    (210, 245, 60),
    (250, 190, 212),
    (0, 128, 128),
    (255, 225, 25),
    (170, 110, 40),
];

/// The distinct classes in order of first appearance.
pub fn classes_in_order<'a>(labels: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in labels {
        if !out.iter().any(|c| c == l) {
            out.push(l.to_string());
        }
    }
    out
}

/// Colour of `class` given the ordered class list (grey for an unknown class).
pub fn colour_for(classes: &[String], class: &str) -> (u8, u8, u8) {
    classes.iter().position(|c| c == class).map(|i| PALETTE[i % PALETTE.len()]).unwrap_or((128, 128, 128))
}

pub fn css(rgb: (u8, u8, u8), alpha: f32) -> String {
    format!("rgba({},{},{},{alpha})", rgb.0, rgb.1, rgb.2)
}
