// Convolutions on channels-last feature maps, f32 accumulation; T is f32 or f16 storage.
// conv2d: x [H, W, Cin], weight [Cout, Cin, KH, KW] (PyTorch layout), bias [Cout] -> [Ho, Wo, Cout],
//   with Ho = (H + 2 ph - KH) / sh + 1 (likewise Wo); taps outside the input read as zero.
// dwconv3x3: groups = C, stride 1, pad 1: x [H, W, C], weight [C, 1, 3, 3], bias [C] -> [H, W, C].
// One invocation per output element with the channel fastest, so neighbouring invocations read
// the same input pixel (conv2d: a broadcast) or neighbouring channels (dwconv: coalesced);
// conv2d_co4 (Cout a multiple of 4) computes four channels of four neighbouring pixels.
// Variants: BIAS; RESIDUAL (dwconv3x3 only: adds its input, x + dwconv(x)).

struct Params {
    h: u32, w: u32, cin: u32, cout: u32,
    ho: u32, wo: u32, kh: u32, kw: u32,
    sh: u32, sw: u32, ph: u32, pw: u32,
    total: u32, _p0: u32, _p1: u32, _p2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> wt: array<T>;
@group(0) @binding(3) var<storage, read_write> y: array<T>;
#if BIAS
@group(0) @binding(4) var<storage, read> bias: array<T>;
#endif

const WG: u32 = 256u;

fn bias_at(c: u32) -> f32 {
#if BIAS
    return f32(bias[c]);
#else
    return 0.0;
#endif
}

// Where the input pixel under tap (ky, kx) of output pixel (oy, ox) starts, or -1 when the tap
// falls in the zero padding (signed: the first rows of a padded conv start above the input).
fn tap_at(oy: u32, ox: u32, ky: u32, kx: u32) -> i32 {
    let iy = i32(oy * p.sh + ky) - i32(p.ph);
    let ix = i32(ox * p.sw + kx) - i32(p.pw);
    if (iy < 0 || iy >= i32(p.h) || ix < 0 || ix >= i32(p.w)) { return -1; }
    return i32((u32(iy) * p.w + u32(ix)) * p.cin);
}

@compute @workgroup_size(256)
fn conv2d(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
          @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = (wid.x + wid.y * nwg.x) * WG + lid;
    if (i >= p.total) { return; }
    let co = i % p.cout;
    let pix = i / p.cout;
    let ox = pix % p.wo;
    let oy = pix / p.wo;
    let taps = p.kh * p.kw;
    var acc = 0.0;
    for (var ky = 0u; ky < p.kh; ky++) {
        for (var kx = 0u; kx < p.kw; kx++) {
            let tap = tap_at(oy, ox, ky, kx);
            if (tap < 0) { continue; }
            let xb = u32(tap);
            let wb = co * p.cin * taps + ky * p.kw + kx;
            for (var ci = 0u; ci < p.cin; ci++) {
                acc += f32(x[xb + ci]) * f32(wt[wb + ci * taps]);
            }
        }
    }
    y[i] = T(acc + bias_at(co));
}

// conv2d for Cout a multiple of 4: one invocation per (output row, four neighbouring output pixels
// along x, four output channels), a 4x4 block in registers, so each weight loaded serves four
// pixels and each input value four channels. Taps in the padding or pixels past the row read input
// 0 with weight 0 (branch-free: a mask, not a jump).
@compute @workgroup_size(256)
fn conv2d_co4(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
              @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = (wid.x + wid.y * nwg.x) * WG + lid;
    let quads = p.cout / 4u;
    let xq = (p.wo + 3u) / 4u;
    if (i >= p.ho * xq * quads) { return; }
    let co = (i % quads) * 4u;
    let ox0 = ((i / quads) % xq) * 4u;
    let oy = i / (quads * xq);
    let taps = p.kh * p.kw;
    let per_co = p.cin * taps;  // weight elements between neighbouring output channels
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var ky = 0u; ky < p.kh; ky++) {
        for (var kx = 0u; kx < p.kw; kx++) {
            let t = vec4<i32>(pixel_tap(oy, ox0, ky, kx), pixel_tap(oy, ox0 + 1u, ky, kx), pixel_tap(oy, ox0 + 2u, ky, kx), pixel_tap(oy, ox0 + 3u, ky, kx));
            let inside = vec4<f32>(t >= vec4<i32>(0));
            let xb = vec4<u32>(max(t, vec4<i32>(0)));
            let wb = co * per_co + ky * p.kw + kx;
            for (var ci = 0u; ci < p.cin; ci++) {
                let wi = wb + ci * taps;
                let w4 = vec4<f32>(f32(wt[wi]), f32(wt[wi + per_co]), f32(wt[wi + 2u * per_co]), f32(wt[wi + 3u * per_co]));
                let xv = vec4<f32>(f32(x[xb.x + ci]), f32(x[xb.y + ci]), f32(x[xb.z + ci]), f32(x[xb.w + ci])) * inside;
                acc0 += xv.x * w4;
                acc1 += xv.y * w4;
                acc2 += xv.z * w4;
                acc3 += xv.w * w4;
            }
        }
    }
    store4(oy, ox0, co, acc0);
    store4(oy, ox0 + 1u, co, acc1);
    store4(oy, ox0 + 2u, co, acc2);
    store4(oy, ox0 + 3u, co, acc3);
}

// tap_at for a pixel that may lie past the output row (-1 there too).
fn pixel_tap(oy: u32, ox: u32, ky: u32, kx: u32) -> i32 {
    if (ox >= p.wo) { return -1; }
    return tap_at(oy, ox, ky, kx);
}

// Output channels co .. co+3 of pixel (oy, ox), if the pixel is inside the output.
fn store4(oy: u32, ox: u32, co: u32, v: vec4<f32>) {
    if (ox >= p.wo) { return; }
    let at = (oy * p.wo + ox) * p.cout + co;
    y[at] = T(v.x + bias_at(co));
    y[at + 1u] = T(v.y + bias_at(co + 1u));
    y[at + 2u] = T(v.z + bias_at(co + 2u));
    y[at + 3u] = T(v.w + bias_at(co + 3u));
}

@compute @workgroup_size(256)
fn dwconv3x3(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
             @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = (wid.x + wid.y * nwg.x) * WG + lid;
    if (i >= p.total) { return; }
    let c = i % p.cin;
    let pix = i / p.cin;
    let ox = pix % p.w;
    let oy = pix / p.w;
    var acc = 0.0;
    for (var dy = 0u; dy < 3u; dy++) {
        let iy = i32(oy + dy) - 1;
        if (iy < 0 || iy >= i32(p.h)) { continue; }
        for (var dx = 0u; dx < 3u; dx++) {
            let ix = i32(ox + dx) - 1;
            if (ix < 0 || ix >= i32(p.w)) { continue; }
            acc += f32(x[(u32(iy) * p.w + u32(ix)) * p.cin + c]) * f32(wt[c * 9u + dy * 3u + dx]);
        }
    }
    var out = acc + bias_at(c);
#if RESIDUAL
    out += f32(x[i]);  // x + dwconv(x): the DaViT conv position encoding with its residual
#endif
    y[i] = T(out);
}
