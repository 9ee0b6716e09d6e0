// Strided copy of a up-to-4-D box: for every index (i0, i1, i2, i3) < shape,
// dst[dst_off + i . dst_stride] = src[src_off + i . src_stride] (all in elements). Permutes,
// concats, slices and pads are this one kernel with different strides and offsets. Elements are T
// (f32 or f16), or u32 with the U32 flag (ids; bits are moved, never converted).

#if U32
alias E = u32;
#else
alias E = T;
#endif

struct Params {
    shape: vec4<u32>,
    src_stride: vec4<u32>,
    dst_stride: vec4<u32>,
    src_off: u32, dst_off: u32, total: u32, _p: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<E>;
@group(0) @binding(2) var<storage, read_write> dst: array<E>;

// Spelled out rather than an integer dot(), which not every WGSL compiler lowers.
fn offset(i: vec4<u32>, s: vec4<u32>) -> u32 {
    return i.x * s.x + i.y * s.y + i.z * s.z + i.w * s.w;
}

@compute @workgroup_size(256)
fn copy_strided(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = (wid.x + wid.y * nwg.x) * 256u + lid;
    if (i >= p.total) { return; }
    // Row-major decomposition, the last dim fastest so that writes of contiguous rows coalesce.
    var r = i;
    let i3 = r % p.shape.w; r /= p.shape.w;
    let i2 = r % p.shape.z; r /= p.shape.z;
    let i1 = r % p.shape.y;
    let i0 = r / p.shape.y;
    let idx = vec4<u32>(i0, i1, i2, i3);
    dst[p.dst_off + offset(idx, p.dst_stride)] = src[p.src_off + offset(idx, p.src_stride)];
}
