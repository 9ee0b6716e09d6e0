//! Plain-Rust CPU twins of every kernel: the independent expectation the GPU is compared with.
//! Written for clarity, not speed, accumulating in f64 where a sum is involved.

pub mod matmul;
pub mod attention;
pub mod channel_attention;
pub mod logprobs;
pub mod qmatmul;
pub mod conv;
pub mod norm;
pub mod rope;
pub mod elementwise;
pub mod softmax;
pub mod pool;
pub mod embedding;
pub mod copy;
pub mod topk;
