//! Plain-Rust CPU twins of every kernel: the independent expectation the GPU is compared with.
//! Written for clarity, not speed, accumulating in f64 where a sum is involved.

pub mod matmul;
