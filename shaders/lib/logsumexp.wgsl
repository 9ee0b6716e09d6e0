// Stable log-sum-exp of one row of z = scale * x, for softmax and log-probabilities: the row max
// first, then the sum of exp(z - max), so exp cannot overflow; the LSE is max + log(sum). Both
// parts are returned because softmax divides by the sum rather than subtract a large LSE (which
// would round away the small differences z - max). -inf entries (masks) add 0; a row of only
// -inf sums to 0, so softmax gives NaN there, as PyTorch does.
// Reads the including kernel's `x: array<T>` at base .. base + cols, spread over the RWG
// invocations of the workgroup; every invocation gets the result. Call from uniform control flow.
#include reduce

struct RowLse { row_max: f32, sum_exp: f32 }

fn row_logsumexp(base: u32, cols: u32, scale: f32, lid: u32) -> RowLse {
    var m = -3.4028234e38;
    for (var c = lid; c < cols; c += RWG) { m = max(m, scale * f32(x[base + c])); }
    let row_max = wg_max(m, lid);
    var s = 0.0;
    for (var c = lid; c < cols; c += RWG) { s += exp(scale * f32(x[base + c]) - row_max); }
    return RowLse(row_max, wg_sum(s, lid));
}
