// Row gather: y[l, d] = table[min(ids[l], V - 1), d] for a table [V, D] and u32 ids [L]. Ids past
// the table are clamped to its last row, never read out of bounds: a tokenizer or sampler bug
// then shows up as wrong text instead of undefined GPU behaviour. One invocation per output
// element, so rows of any width stay coalesced.
// The table is T (f32 or f16), or with flag QUANT a Q8/Q4 matrix packed as crates/gpu/src/quant.rs
// lays it out (flag Q4, else Q8): the tied embedding / lm_head of a quantized model is gathered
// from the very words the lm_head multiplies, so no dense copy of it exists anywhere.

struct Params { vocab: u32, dim: u32, total: u32, scale_off: u32 }

@group(0) @binding(0) var<uniform> p: Params;
#if QUANT
@group(0) @binding(1) var<storage, read> table: array<u32>;
#else
@group(0) @binding(1) var<storage, read> table: array<T>;
#endif
@group(0) @binding(2) var<storage, read> ids: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<T>;

#if Q4
const WPB: u32 = 4u;  // words per block of 32 values
const VPW: u32 = 8u;  // values per word
#else
const WPB: u32 = 8u;
const VPW: u32 = 4u;
#endif

fn element(row: u32, d: u32) -> T {
#if QUANT
    let block = row * ((p.dim + 31u) / 32u) + d / 32u;
    let word = table[block * WPB + (d % 32u) / VPW];
    let i = d % VPW;
#if Q4
    let q = f32(i32((word >> (4u * i)) & 15u) - 8);
#else
    let q = f32(extractBits(bitcast<i32>(word), 8u * i, 8u));
#endif
    let scale = unpack2x16float(table[p.scale_off + block / 2u])[block % 2u];
    return T(q * scale);
#else
    return table[row * p.dim + d];
#endif
}

@compute @workgroup_size(256)
fn gather_rows(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
               @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = (wid.x + wid.y * nwg.x) * 256u + lid;
    if (i >= p.total) { return; }
    y[i] = element(min(ids[i / p.dim], p.vocab - 1u), i % p.dim);
}
