//! Everything positional, computed on the CPU as small tables the GPU kernels read: the ViT's
//! patch order and 2-D rotary angles, its learned position grid resampled to the image, and the
//! decoder's multimodal rotary positions (text counts up; an image's tokens take its grid).
//! Angles are computed in f32 as the reference does (position * inverse frequency in f32, then
//! cos/sin), so the tables match it to the last bits.

/// The image's patch grid in patches (t = 1 for a still image).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grid {
    pub h: usize,
    pub w: usize,
}

impl Grid {
    pub fn patches(&self) -> usize {
        self.h * self.w
    }
}

/// (row, column) of each patch in the processor's order: 2x2 (merge x merge) blocks in raster
/// order, raster order inside each block, so every `merge^2` consecutive patches form one merged
/// token.
pub fn patch_positions(grid: Grid, merge: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::with_capacity(grid.patches());
    for br in 0..grid.h / merge {
        for bc in 0..grid.w / merge {
            for r in 0..merge {
                for c in 0..merge {
                    out.push((br * merge + r, bc * merge + c));
                }
            }
        }
    }
    out
}

fn inverse_frequencies(theta: f64, dim: usize) -> Vec<f32> {
    // 1 / theta^(arange(0, dim, 2) / dim), in f32 as torch computes it.
    (0..dim / 2).map(|i| 1.0 / (theta as f32).powf((2 * i) as f32 / dim as f32)).collect()
}

/// cos and sin [patches, head_dim] of the ViT's axial rotary embedding: the first quarter of the
/// head's frequencies turn with the patch row, the second with its column; the table repeats for
/// the second half (rotate-half pairs d with d + head_dim/2).
pub fn vision_rotary(positions: &[(usize, usize)], head_dim: usize, theta: f64) -> (Vec<f32>, Vec<f32>) {
    let inv = inverse_frequencies(theta, head_dim / 2);
    let quarter = inv.len();
    let mut cos = Vec::with_capacity(positions.len() * head_dim);
    let mut sin = Vec::with_capacity(positions.len() * head_dim);
    for &(r, c) in positions {
        let angles: Vec<f32> = (0..2 * quarter).map(|j| if j < quarter { r as f32 * inv[j] } else { c as f32 * inv[j - quarter] }).collect();
        for _ in 0..2 {
            cos.extend(angles.iter().map(|a| a.cos()));
            sin.extend(angles.iter().map(|a| a.sin()));
        }
    }
    (cos, sin)
}

/// The learned position table [side^2, C] resampled bilinearly (align_corners) to the patch grid,
/// in patch order: [patches, C].
pub fn interpolated_positions(table: &[f32], side: usize, c: usize, grid: Grid, positions: &[(usize, usize)]) -> Vec<f32> {
    let axis = |index: usize, size: usize| -> ([usize; 2], [f32; 2]) {
        // src = index * (side - 1) / max(size - 1, 1) in f32; taps floor and floor + 1 clamped to
        // the table, weights 1 - distance.
        let src = index as f32 * (side - 1) as f32 / (size.max(2) - 1) as f32;
        let floor = src.floor();
        let taps = [(floor as usize).min(side - 1), (floor as usize + 1).min(side - 1)];
        let weights = [(1.0 - (src - floor).abs()).max(0.0), (1.0 - (src - floor - 1.0).abs()).max(0.0)];
        (taps, weights)
    };
    let mut out = vec![0f32; positions.len() * c];
    for (p, &(r, col)) in positions.iter().enumerate() {
        let (ht, hw) = axis(r, grid.h);
        let (wt, ww) = axis(col, grid.w);
        let row = &mut out[p * c..(p + 1) * c];
        for i in 0..2 {
            for j in 0..2 {
                let weight = hw[i] * ww[j];
                let src = &table[(ht[i] * side + wt[j]) * c..(ht[i] * side + wt[j] + 1) * c];
                for (o, s) in row.iter_mut().zip(src) {
                    *o += s * weight;
                }
            }
        }
    }
    out
}

/// Multimodal rotary positions [3][L] (temporal, height, width) of a prompt: text tokens count up
/// on all three axes; the run of image tokens takes (start, start + row, start + column) over the
/// merged grid, and the text after it continues from start + max(merged rows, merged columns).
/// Returns the positions and the first position after the prompt (for generated tokens).
pub fn multimodal_positions(ids: &[u32], image_token_id: u32, merged: Grid) -> ([Vec<u32>; 3], u32) {
    let mut pos: [Vec<u32>; 3] = [Vec::with_capacity(ids.len()), Vec::with_capacity(ids.len()), Vec::with_capacity(ids.len())];
    let mut next = 0u32;
    let mut i = 0;
    while i < ids.len() {
        if ids[i] != image_token_id {
            for axis in &mut pos {
                axis.push(next);
            }
            next += 1;
            i += 1;
            continue;
        }
        let run = ids[i..].iter().take_while(|&&t| t == image_token_id).count();
        for k in 0..run {
            // A run longer than the grid (a malformed prompt) keeps counting rows; the model
            // refuses such a prompt before this matters (image tokens must equal the features).
            let (r, c) = (k / merged.w.max(1), k % merged.w.max(1));
            pos[0].push(next);
            pos[1].push(next + r as u32);
            pos[2].push(next + c as u32);
        }
        next += merged.h.max(merged.w) as u32;
        i += run;
    }
    (pos, next)
}

/// cos and sin [L, head_dim] for the decoder: frequency j (of head_dim / 2) turns with the
/// temporal position, except j = 1, 4, 7, .. (below 3 * sections[1]) with the height and
/// j = 2, 5, 8, .. (below 3 * sections[2]) with the width (the interleaved layout); repeated
/// for the second half.
pub fn text_rotary(pos: &[Vec<u32>; 3], head_dim: usize, theta: f64, sections: [usize; 3]) -> (Vec<f32>, Vec<f32>) {
    let inv = inverse_frequencies(theta, head_dim);
    let half = inv.len();
    let axis_of = |j: usize| -> usize {
        if j % 3 == 1 && j < 3 * sections[1] {
            1
        } else if j % 3 == 2 && j < 3 * sections[2] {
            2
        } else {
            0
        }
    };
    let n = pos[0].len();
    let mut cos = Vec::with_capacity(n * head_dim);
    let mut sin = Vec::with_capacity(n * head_dim);
    for t in 0..n {
        let angles: Vec<f32> = (0..half).map(|j| pos[axis_of(j)][t] as f32 * inv[j]).collect();
        for _ in 0..2 {
            cos.extend(angles.iter().map(|a| a.cos()));
            sin.extend(angles.iter().map(|a| a.sin()));
        }
    }
    (cos, sin)
}
