//! The image with its results drawn on top, fitted to the panel (a 224-pixel scene is drawn as
//! large as a photo: up or down to the panel's width, at most 75% of the window's height), its
//! canvas at the screen's own pixel density so boxes, labels and masks stay crisp. Redraws whenever
//! the image, the results, the hovered item, the class toggles or the region change; the size
//! changes only with a new image or a resized window. Mouse: hover highlights an item (and its
//! list entry); in region mode, dragging marks the region for region tasks; both in image pixels.

use leptos::prelude::*;
use visionllm_tasks::BoundingBox;
use web_sys::{HtmlCanvasElement, MouseEvent};

use super::drawing::{draw, item_at, Overlay};
use super::state::AppState;
use crate::image_limits::fitted_size;
use crate::palette::classes_in_order;
use crate::results::{display, Display};

/// Items, classes in colour order, for the current result.
pub fn current_display(state: AppState) -> (Display, Vec<String>) {
    let d = state.result.with(|r| r.as_ref().map(display)).unwrap_or_default();
    let classes = classes_in_order(d.items.iter().map(|i| i.class.as_str()));
    (d, classes)
}

/// Draw the current state onto `canvas` (used by the view and by the PNG export).
pub fn render(state: AppState, canvas: &HtmlCanvasElement, with_hover: bool) {
    let (d, classes) = current_display(state);
    let hidden = state.hidden_classes.get();
    let overlay = Overlay {
        items: &d.items,
        classes: &classes,
        hidden: &hidden,
        hovered: if with_hover { state.hovered.get() } else { None },
        region: if with_hover { state.region.get() } else { None },
    };
    state.source.with_value(|s| {
        if let Some(source) = s {
            draw(canvas, source, &overlay);
        }
    });
}

fn image_point(canvas: &HtmlCanvasElement, e: &MouseEvent, width: u32, height: u32) -> (f32, f32) {
    let rect = canvas.get_bounding_client_rect();
    let x = (e.client_x() as f64 - rect.left()) / rect.width().max(1.0) * width as f64;
    let y = (e.client_y() as f64 - rect.top()) / rect.height().max(1.0) * height as f64;
    (x.clamp(0.0, width as f64) as f32, y.clamp(0.0, height as f64) as f32)
}

#[component]
pub fn ImageView(state: AppState) -> impl IntoView {
    let canvas_ref = NodeRef::<leptos::html::Canvas>::new();
    let panel_ref = NodeRef::<leptos::html::Div>::new();
    let drag_start = RwSignal::new(None::<(f32, f32)>);
    // Bumped when the window is resized: the canvas is fitted again.
    let resized = RwSignal::new(0u32);
    if let Some(window) = web_sys::window() {
        let on_resize = wasm_bindgen::closure::Closure::<dyn Fn()>::new(move || resized.update(|n| *n = n.wrapping_add(1)));
        let _ = window.add_event_listener_with_callback("resize", wasm_bindgen::JsCast::unchecked_ref(on_resize.as_ref()));
        // The listener lives as long as the page.
        on_resize.forget();
    }
    // The fitted size: only a new image or a resized window change it (not a result, which may
    // add a scrollbar), so what is drawn keeps its pixels while answers come.
    let fitted = Memo::new(move |_| {
        resized.track();
        let info = state.image.get()?;
        let window = web_sys::window()?;
        let panel = panel_ref.get().map(|p| p.client_width() as f64).unwrap_or(0.0);
        let window_height = window.inner_height().ok().and_then(|h| h.as_f64()).unwrap_or(0.0);
        Some((info.serial, fitted_size(info.width, info.height, panel, window_height, window.device_pixel_ratio())))
    });

    Effect::new(move |_| {
        let Some(canvas) = canvas_ref.get() else { return };
        let Some((_, ((css_w, css_h), (w, h)))) = fitted.get() else { return };
        if canvas.width() != w || canvas.height() != h {
            canvas.set_width(w);
            canvas.set_height(h);
        }
        let style = wasm_bindgen::JsCast::unchecked_ref::<web_sys::HtmlElement>(&*canvas).style();
        let _ = style.set_property("width", &format!("{css_w:.1}px"));
        let _ = style.set_property("height", &format!("{css_h:.1}px"));
        render(state, &canvas, true);
    });

    let on_move = move |e: MouseEvent| {
        let (Some(canvas), Some(info)) = (canvas_ref.get_untracked(), state.image.get_untracked()) else { return };
        let (x, y) = image_point(&canvas, &e, info.width, info.height);
        if let Some((x0, y0)) = drag_start.get_untracked() {
            state.region.set(Some(BoundingBox::new(x0, y0, x, y).normalized()));
            return;
        }
        let (d, _) = current_display(state);
        let hit = state.hidden_classes.with_untracked(|hidden| item_at(&d.items, hidden, x, y));
        if hit != state.hovered.get_untracked() {
            state.hovered.set(hit);
        }
    };
    let on_down = move |e: MouseEvent| {
        if !state.region_mode.get_untracked() {
            return;
        }
        let (Some(canvas), Some(info)) = (canvas_ref.get_untracked(), state.image.get_untracked()) else { return };
        e.prevent_default();
        drag_start.set(Some(image_point(&canvas, &e, info.width, info.height)));
    };
    let on_up = move |_| {
        if drag_start.get_untracked().take().is_some() {
            drag_start.set(None);
            // A click without a drag leaves no region.
            if state.region.get_untracked().is_some_and(|r| r.area() < 4.0) {
                state.region.set(None);
            }
            state.region_mode.set(false);
        }
    };

    view! {
        <div class="image-view" node_ref=panel_ref>
            <Show when=move || state.image.get().is_some() fallback=|| view! { <div class="placeholder">"No image yet"</div> }>
                <canvas
                    node_ref=canvas_ref
                    data-testid="result-canvas"
                    class:drawing=move || state.region_mode.get()
                    on:mousemove=on_move
                    on:mousedown=on_down
                    on:mouseup=on_up
                    on:mouseleave=move |_| state.hovered.set(None)
                ></canvas>
                <p class="caption">{move || state.image.get().map(|i| format!("{} — {}×{}", i.name, i.width, i.height))}</p>
            </Show>
        </div>
    }
}
