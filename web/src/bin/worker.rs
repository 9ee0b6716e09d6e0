//! The inference worker's wasm entry (Trunk builds it as a module worker, `worker_loader.js`).
fn main() {
    visionllm_web::worker::start();
}
