//! Drawing results over the image on a 2D canvas: translucent boxes with labels, filled polygons
//! for masks and text quads, the hovered item stronger, the region being drawn dashed.
//!
//! Everything an item draws stays inside its own bounds (strokes are inset, labels are clipped to
//! the box), so pixels outside every result are the image's own: the e2e test relies on it.

use visionllm_tasks::{BoundingBox, Point};
use wasm_bindgen::JsValue;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

use crate::palette::{colour_for, css};
use visionllm_tasks::Shape;

use crate::results::Item;

pub struct Overlay<'a> {
    pub items: &'a [Item],
    pub classes: &'a [String],
    pub hidden: &'a [String],
    pub hovered: Option<usize>,
    pub region: Option<BoundingBox>,
}

/// Draw `source` scaled to `target`'s size, then the overlay.
pub fn draw(target: &HtmlCanvasElement, source: &HtmlCanvasElement, overlay: &Overlay) {
    let Some(ctx) = super::image_input::context_2d(target) else { return };
    let (w, h) = (target.width() as f64, target.height() as f64);
    let scale = w / source.width().max(1) as f64;
    ctx.set_image_smoothing_enabled(true);
    let _ = ctx.draw_image_with_html_canvas_element_and_dw_and_dh(source, 0.0, 0.0, w, h);
    draw_items(&ctx, w, h, scale, pixel_ratio(target), overlay);
}

/// Device pixels per CSS pixel of a canvas on the page (1 for one that is not, the PNG export's):
/// lines and labels are sized in CSS pixels, so they look the same on any screen.
fn pixel_ratio(target: &HtmlCanvasElement) -> f64 {
    let css = target.client_width() as f64;
    if css >= 1.0 { (target.width() as f64 / css).clamp(0.25, 8.0) } else { 1.0 }
}

/// Clear `target` and draw only the overlay, for an image `image_width` pixels wide shown beneath
/// it by something else (the camera's live video).
pub fn draw_over(target: &HtmlCanvasElement, image_width: u32, overlay: &Overlay) {
    let Some(ctx) = super::image_input::context_2d(target) else { return };
    let (w, h) = (target.width() as f64, target.height() as f64);
    ctx.clear_rect(0.0, 0.0, w, h);
    draw_items(&ctx, w, h, w / image_width.max(1) as f64, pixel_ratio(target), overlay);
}

fn draw_items(ctx: &CanvasRenderingContext2d, w: f64, h: f64, scale: f64, ratio: f64, overlay: &Overlay) {
    let line = (w.min(h) / 250.0).max(2.0 * ratio).round();
    let font = (line * 6.0).clamp(11.0 * ratio, 28.0 * ratio);
    for item in overlay.items.iter().filter(|i| !overlay.hidden.contains(&i.class)) {
        let hovered = overlay.hovered == Some(item.id);
        let rgb = colour_for(overlay.classes, &item.class);
        match &item.shape {
            Shape::Box(b) => draw_box(ctx, b.normalized(), scale, line, font, rgb, hovered, &item.label),
            Shape::Polygons(parts) => {
                for p in parts {
                    draw_polygon(ctx, &p.points, scale, ratio, rgb, hovered);
                }
            }
            Shape::Quad(q) => draw_polygon(ctx, q, scale, ratio, rgb, hovered),
            Shape::Point(p) => draw_marker(ctx, *p, scale, line, font, rgb, hovered, &item.label),
        }
    }
    if let Some(r) = overlay.region {
        let r = r.normalized();
        ctx.save();
        ctx.set_line_width(2.0 * ratio);
        let _ = ctx.set_line_dash(&js_sys::Array::of2(&JsValue::from(6.0 * ratio), &JsValue::from(4.0 * ratio)));
        ctx.set_stroke_style_str("#ffffff");
        ctx.stroke_rect(r.x1 as f64 * scale, r.y1 as f64 * scale, r.width() as f64 * scale, r.height() as f64 * scale);
        ctx.set_line_dash_offset(6.0 * ratio);
        ctx.set_stroke_style_str("#000000");
        ctx.stroke_rect(r.x1 as f64 * scale, r.y1 as f64 * scale, r.width() as f64 * scale, r.height() as f64 * scale);
        ctx.restore();
    }
}

#[allow(clippy::too_many_arguments)]
fn draw_box(ctx: &CanvasRenderingContext2d, b: BoundingBox, scale: f64, line: f64, font: f64, rgb: (u8, u8, u8), hovered: bool, label: &str) {
    let (x, y, w, h) = (b.x1 as f64 * scale, b.y1 as f64 * scale, b.width() as f64 * scale, b.height() as f64 * scale);
    if w < 1.0 || h < 1.0 {
        return;
    }
    ctx.save();
    ctx.begin_path();
    ctx.rect(x, y, w, h);
    ctx.clip();
    ctx.set_fill_style_str(&css(rgb, if hovered { 0.35 } else { 0.12 }));
    ctx.fill_rect(x, y, w, h);
    let lw = if hovered { line * 2.0 } else { line };
    ctx.set_line_width(lw);
    ctx.set_stroke_style_str(&css(rgb, 1.0));
    // Inset by half the line so the stroke stays inside the box.
    ctx.stroke_rect(x + lw / 2.0, y + lw / 2.0, (w - lw).max(0.0), (h - lw).max(0.0));
    if !label.is_empty() {
        ctx.set_font(&format!("600 {font}px system-ui, sans-serif"));
        let text_w = ctx.measure_text(label).map(|m| m.width()).unwrap_or(0.0);
        ctx.set_fill_style_str(&css(rgb, 0.85));
        ctx.fill_rect(x, y, text_w + 8.0, font + 6.0);
        ctx.set_fill_style_str("#ffffff");
        let _ = ctx.fill_text(label, x + 4.0, y + font);
    }
    ctx.restore();
}

fn draw_polygon(ctx: &CanvasRenderingContext2d, points: &[Point], scale: f64, ratio: f64, rgb: (u8, u8, u8), hovered: bool) {
    if points.len() < 3 {
        return;
    }
    ctx.save();
    ctx.begin_path();
    ctx.move_to(points[0].x as f64 * scale, points[0].y as f64 * scale);
    for p in &points[1..] {
        ctx.line_to(p.x as f64 * scale, p.y as f64 * scale);
    }
    ctx.close_path();
    ctx.set_fill_style_str(&css(rgb, if hovered { 0.6 } else { 0.4 }));
    ctx.fill();
    // Clip to the polygon so the outline, too, stays inside the mask.
    ctx.clip();
    ctx.set_line_width(if hovered { 4.0 * ratio } else { 2.0 * ratio });
    ctx.set_stroke_style_str(&css(rgb, 1.0));
    ctx.stroke();
    ctx.restore();
}

/// A pointed-at place: a filled dot ringed in white (visible on any colour), its label beside it.
#[allow(clippy::too_many_arguments)]
fn draw_marker(ctx: &CanvasRenderingContext2d, p: Point, scale: f64, line: f64, font: f64, rgb: (u8, u8, u8), hovered: bool, label: &str) {
    let (x, y) = (p.x as f64 * scale, p.y as f64 * scale);
    let r = line * if hovered { 4.0 } else { 3.0 };
    ctx.save();
    ctx.begin_path();
    let _ = ctx.arc(x, y, r, 0.0, std::f64::consts::TAU);
    ctx.set_fill_style_str(&css(rgb, 1.0));
    ctx.fill();
    ctx.set_line_width(line.max(2.0));
    ctx.set_stroke_style_str("#ffffff");
    ctx.stroke();
    if !label.is_empty() {
        ctx.set_font(&format!("600 {font}px system-ui, sans-serif"));
        let text_w = ctx.measure_text(label).map(|m| m.width()).unwrap_or(0.0);
        ctx.set_fill_style_str(&css(rgb, 0.85));
        ctx.fill_rect(x + r + 2.0, y - font / 2.0 - 3.0, text_w + 8.0, font + 6.0);
        ctx.set_fill_style_str("#ffffff");
        let _ = ctx.fill_text(label, x + r + 6.0, y + font / 2.0 - 1.0);
    }
    ctx.restore();
}

/// The item under image point (x, y): the smallest visible one containing it.
pub fn item_at(items: &[Item], hidden: &[String], x: f32, y: f32) -> Option<usize> {
    items
        .iter()
        .filter(|i| !hidden.contains(&i.class))
        .filter_map(|i| i.bounds().map(|b| (i.id, b)))
        .filter(|(_, b)| x >= b.x1 && x <= b.x2 && y >= b.y1 && y <= b.y2)
        .min_by(|a, b| a.1.area().total_cmp(&b.1.area()))
        .map(|(id, _)| id)
}
