// Rotary position embedding, "rotate half" form (Qwen3's text and ViT attention): within each
// head of hd dims, dim d < hd/2 pairs with d + hd/2:
//   y[d]        = x[d] * cos[r, d]        - x[d + hd/2] * sin[r, d]
//   y[d + hd/2] = x[d + hd/2] * cos[r, d + hd/2] + x[d] * sin[r, d + hd/2]
// x [R, W]: columns [0, rotated) are whole heads to rotate, columns past them are copied (so one
// pass over a fused qkv row rotates q and k and carries v). cos, sin [R, hd] in f32: the tables
// hold whatever positions the model uses (1-D text, interleaved multimodal sections, 2-D image
// grids), so one kernel serves all of them. T is f32 or f16 storage; arithmetic in f32.

struct Params { n: u32, width: u32, hd: u32, rotated: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> cos_t: array<f32>;
@group(0) @binding(3) var<storage, read> sin_t: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<T>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = (wid.x + wid.y * nwg.x) * 256u + lid;
    if (i >= p.n) { return; }
    let r = i / p.width;
    let c = i % p.width;
    if (c >= p.rotated) {
        y[i] = x[i];
        return;
    }
    let half = p.hd / 2u;
    let d = c % p.hd;
    let t = r * p.hd + d;
    var partner: f32;
    if (d < half) { partner = -f32(x[i + half]); } else { partner = f32(x[i - half]); }
    y[i] = T(f32(x[i]) * cos_t[t] + partner * sin_t[t]);
}
