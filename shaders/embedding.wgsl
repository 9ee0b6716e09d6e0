// Row gather: y[l, d] = table[min(ids[l], V - 1), d] for a table [V, D] of T (f32 or f16) and
// u32 ids [L]. Ids past the table are clamped to its last row, never read out of bounds: a
// tokenizer or sampler bug then shows up as wrong text instead of undefined GPU behaviour.
// One invocation per output element, so rows of any width stay coalesced.

struct Params { vocab: u32, dim: u32, total: u32, _p: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> table: array<T>;
@group(0) @binding(2) var<storage, read> ids: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<T>;

@compute @workgroup_size(256)
fn gather_rows(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
               @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = (wid.x + wid.y * nwg.x) * 256u + lid;
    if (i >= p.total) { return; }
    let id = min(ids[i / p.dim], p.vocab - 1u);
    y[i] = table[id * p.dim + i % p.dim];
}
