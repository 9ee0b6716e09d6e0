//! The thread policy of every kernel: rayon when the `threads` feature is on (the default), plain
//! sequential loops otherwise (wasm without atomics). Kernels only call the helpers here, so the
//! choice lives in one place.
//!
//! Work is split into a few chunks per thread (not one per element): small enough to balance the
//! load, large enough that rayon's per-task cost (microseconds) stays negligible. Inputs below
//! [`MIN_PAR_ELEMS`] elements run on the calling thread.

/// Below this many elements of output, an elementwise-like kernel runs on the calling thread:
/// waking the pool costs more than the work.
pub const MIN_PAR_ELEMS: usize = 1 << 15;

/// Threads the kernels use (the current rayon pool's size; 1 without the `threads` feature).
pub fn threads() -> usize {
    #[cfg(feature = "threads")]
    {
        rayon::current_num_threads().max(1)
    }
    #[cfg(not(feature = "threads"))]
    {
        1
    }
}

/// gemm's parallelism for one call that should use every thread.
pub fn gemm_parallelism() -> gemm::Parallelism {
    #[cfg(feature = "threads")]
    {
        match threads() {
            1 => gemm::Parallelism::None,
            n => gemm::Parallelism::Rayon(n),
        }
    }
    #[cfg(not(feature = "threads"))]
    {
        gemm::Parallelism::None
    }
}

/// A chunk length for splitting `total` items over the threads: about four chunks per thread,
/// a multiple of `align` (at least `align`), and at least `min` items so tiny jobs stay whole.
pub fn chunk_len(total: usize, align: usize, min: usize) -> usize {
    let align = align.max(1);
    let per = total.div_ceil(4 * threads()).max(min).max(1);
    per.div_ceil(align) * align
}

/// `f(chunk_index, chunk)` for consecutive chunks of `chunk` items (the last may be shorter),
/// in parallel. One chunk runs inline.
pub fn par_chunks_mut<T: Send>(data: &mut [T], chunk: usize, f: impl Fn(usize, &mut [T]) + Sync + Send) {
    let chunk = chunk.max(1);
    if data.len() <= chunk {
        if !data.is_empty() {
            f(0, data);
        }
        return;
    }
    #[cfg(feature = "threads")]
    {
        use rayon::prelude::*;
        data.par_chunks_mut(chunk).enumerate().for_each(|(i, c)| f(i, c));
    }
    #[cfg(not(feature = "threads"))]
    {
        data.chunks_mut(chunk).enumerate().for_each(|(i, c)| f(i, c));
    }
}

/// `f(i)` for i in 0..n, in parallel, results in order.
pub fn par_map<R: Send>(n: usize, f: impl Fn(usize) -> R + Sync + Send) -> Vec<R> {
    if n <= 1 {
        return (0..n).map(f).collect();
    }
    #[cfg(feature = "threads")]
    {
        use rayon::prelude::*;
        (0..n).into_par_iter().map(f).collect()
    }
    #[cfg(not(feature = "threads"))]
    {
        (0..n).map(f).collect()
    }
}

/// `f(i)` for i in 0..n, in parallel.
pub fn par_for(n: usize, f: impl Fn(usize) + Sync + Send) {
    if n <= 1 {
        (0..n).for_each(f);
        return;
    }
    #[cfg(feature = "threads")]
    {
        use rayon::prelude::*;
        (0..n).into_par_iter().for_each(f);
    }
    #[cfg(not(feature = "threads"))]
    {
        (0..n).for_each(f);
    }
}

/// A raw pointer that may cross threads. Only for kernels whose tasks write provably disjoint
/// elements of one output that cannot be split into slices (gemm's strided destinations); every
/// use states why the writes are disjoint and in bounds.
#[derive(Clone, Copy)]
pub(crate) struct SendPtr<T>(pub *mut T);

// SAFETY: the pointer is only dereferenced (by gemm) at elements each task owns exclusively; see
// the callers.
unsafe impl<T> Send for SendPtr<T> {}
unsafe impl<T> Sync for SendPtr<T> {}

impl<T> SendPtr<T> {
    /// The pointer (a method, so closures capture the whole Send wrapper, not the raw field).
    pub(crate) fn get(self) -> *mut T {
        self.0
    }
}

/// Size the global thread pool (`--threads N`); must run before any kernel does (the pool is
/// built on first use). Without the `threads` feature only 1 is accepted.
pub fn set_threads(n: usize) -> Result<(), String> {
    #[cfg(feature = "threads")]
    {
        rayon::ThreadPoolBuilder::new().num_threads(n).build_global().map_err(|e| e.to_string())
    }
    #[cfg(not(feature = "threads"))]
    {
        match n {
            1 => Ok(()),
            _ => Err("this build runs the CPU backend on one thread".into()),
        }
    }
}
