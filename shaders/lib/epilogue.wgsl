// What a matmul's store does after alpha and the bias (matmul.wgsl, qmatmul.wgsl), so a linear
// layer's output is written once: flag GELU applies the exact GELU, flag RESIDUAL adds the element
// at the same index of `res` (bound after the bias, or in its place without one).
#include gelu

#if RESIDUAL
#if BIAS
@group(0) @binding(5) var<storage, read> res: array<T>;
#else
@group(0) @binding(4) var<storage, read> res: array<T>;
#endif
#endif

fn epilogue(v: f32, idx: u32) -> f32 {
    var r = v;
#if GELU
    r = gelu(r);
#endif
#if RESIDUAL
    r += f32(res[idx]);
#endif
    return r;
}
