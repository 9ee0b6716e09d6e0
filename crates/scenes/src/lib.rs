//! Synthetic scenes for the demo model, following `training/demo/SCENES.md` (the contract shared
//! with the PyTorch generator): seeded generation, rendering, each shape's own mask, and the exact
//! answer texts of every task the model is trained on. Plain Rust, no GPU, no heavy dependencies.

pub mod classes;
pub mod json;
pub mod render;
pub mod rng;
pub mod scene;
pub mod shapes;
pub mod texts;
pub mod words;

pub use classes::{Class, Colour, Kind};
pub use json::{texts_from_shapes, ShapeSpec, Texts};
pub use scene::{Background, Pattern, Scene, DEFAULT_SHAPES, DEFAULT_SIZE, EVAL_SEED_START};
pub use shapes::Shape;
pub use texts::{box_tokens, quantize};
