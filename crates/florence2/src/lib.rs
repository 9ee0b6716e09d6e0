//! Florence-2 on our GPU runtime. See `../shared/florence2.md` (mirrored in ARCHITECTURE.md) for the
//! facts this must match; every stage is tested against the reference's activations.

pub mod preprocess;
