//! Twin of `ops::copy`, by multi-indices rather than strides (an independent derivation).

/// The multi-index of flat position i in a row-major `shape`.
fn unravel(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        idx[d] = i % shape[d];
        i /= shape[d];
    }
    idx
}

fn ravel(idx: &[usize], shape: &[usize]) -> usize {
    idx.iter().zip(shape).fold(0, |acc, (&i, &n)| acc * n + i)
}

/// y[o] = x[s] where s[perm[d]] = o[d].
pub fn permute<T: Copy>(x: &[T], shape: &[usize], perm: &[usize]) -> Vec<T> {
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    (0..x.len())
        .map(|i| {
            let o = unravel(i, &out_shape);
            let mut s = vec![0; shape.len()];
            for d in 0..perm.len() {
                s[perm[d]] = o[d];
            }
            x[ravel(&s, shape)]
        })
        .collect()
}

/// Parts (data, shape) joined along `dim`: for each index of the dims before `dim`, each part's
/// block of the dims from `dim` on, in order.
pub fn concat<T: Copy>(parts: &[(&[T], &[usize])], dim: usize) -> Vec<T> {
    let outer: usize = parts[0].1[..dim].iter().product();
    let mut out = Vec::new();
    for o in 0..outer {
        for (data, shape) in parts {
            let block: usize = shape[dim..].iter().product();
            out.extend_from_slice(&data[o * block..(o + 1) * block]);
        }
    }
    out
}

pub fn slice<T: Copy>(x: &[T], shape: &[usize], start: &[usize], size: &[usize]) -> Vec<T> {
    let n: usize = size.iter().product();
    (0..n)
        .map(|i| {
            let o = unravel(i, size);
            let s: Vec<usize> = o.iter().zip(start).map(|(a, b)| a + b).collect();
            x[ravel(&s, shape)]
        })
        .collect()
}

/// Zero padding: output positions inside the original box read x, the rest are `zero`.
pub fn pad<T: Copy>(x: &[T], shape: &[usize], before: &[usize], after: &[usize], zero: T) -> Vec<T> {
    let out_shape: Vec<usize> = (0..shape.len()).map(|d| before[d] + shape[d] + after[d]).collect();
    let n: usize = out_shape.iter().product();
    (0..n)
        .map(|i| {
            let o = unravel(i, &out_shape);
            let inside = (0..shape.len()).all(|d| o[d] >= before[d] && o[d] < before[d] + shape[d]);
            if inside {
                let s: Vec<usize> = (0..shape.len()).map(|d| o[d] - before[d]).collect();
                x[ravel(&s, shape)]
            } else {
                zero
            }
        })
        .collect()
}
