//! The page's wasm entry: the Leptos UI (no GPU here; see `worker.rs`).
fn main() {
    visionllm_web::ui::start();
}
