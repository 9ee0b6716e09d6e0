//! Twin of `ops::conv`: textbook convolutions over channels-last maps, f64 accumulation.

/// x [h, w, cin], weight [cout, cin, kh, kw], bias [cout] -> ([ho, wo, cout], ho, wo).
#[allow(clippy::too_many_arguments)]
pub fn conv2d(
    x: &[f32], h: usize, w: usize, cin: usize,
    weight: &[f32], cout: usize, kh: usize, kw: usize,
    bias: Option<&[f32]>, stride: [usize; 2], pad: [usize; 2],
) -> (Vec<f32>, usize, usize) {
    let ho = (h + 2 * pad[0] - kh) / stride[0] + 1;
    let wo = (w + 2 * pad[1] - kw) / stride[1] + 1;
    let mut out = vec![0f32; ho * wo * cout];
    for oy in 0..ho {
        for ox in 0..wo {
            for co in 0..cout {
                let mut s = bias.map_or(0.0, |b| b[co] as f64);
                for ky in 0..kh {
                    for kx in 0..kw {
                        // Position in the unpadded input; outside it the input is zero.
                        let iy = (oy * stride[0] + ky) as isize - pad[0] as isize;
                        let ix = (ox * stride[1] + kx) as isize - pad[1] as isize;
                        if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                            continue;
                        }
                        let (iy, ix) = (iy as usize, ix as usize);
                        for ci in 0..cin {
                            let xv = x[(iy * w + ix) * cin + ci] as f64;
                            let wv = weight[((co * cin + ci) * kh + ky) * kw + kx] as f64;
                            s += xv * wv;
                        }
                    }
                }
                out[(oy * wo + ox) * cout + co] = s as f32;
            }
        }
    }
    (out, ho, wo)
}

/// Depthwise 3x3, stride 1, pad 1: x [h, w, c], weight [c, 1, 3, 3], bias [c] -> [h, w, c].
pub fn dwconv3x3(x: &[f32], h: usize, w: usize, c: usize, weight: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    // A depthwise conv is a grouped conv2d with one channel per group: run each channel alone.
    let mut out = vec![0f32; h * w * c];
    for ch in 0..c {
        let plane: Vec<f32> = (0..h * w).map(|i| x[i * c + ch]).collect();
        let b = bias.map(|b| [b[ch]]);
        let (y, _, _) = conv2d(&plane, h, w, 1, &weight[ch * 9..ch * 9 + 9], 1, 3, 3, b.as_ref().map(|b| &b[..]), [1, 1], [1, 1]);
        for i in 0..h * w {
            out[i * c + ch] = y[i];
        }
    }
    out
}

/// x + dwconv3x3(x): the twin of `ops::conv::dwconv3x3_residual`.
pub fn dwconv3x3_residual(x: &[f32], h: usize, w: usize, c: usize, weight: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    dwconv3x3(x, h, w, c, weight, bias).iter().zip(x).map(|(d, x)| d + x).collect()
}
