//! The page: Leptos components and the browser glue they need. Talks to the GPU only through
//! the worker (`worker_client`).

mod app;
mod batch_panel;
mod batch_runner;
mod batch_store;
mod browser_async;
mod camera;
mod capability_panel;
mod categories_picker;
mod download;
mod drawing;
mod folder_drop;
mod image_input;
mod image_view;
mod input_panel;
mod instruction_box;
mod media;
mod model_panel;
mod results_panel;
mod state;
mod worker_client;

pub use app::start;
