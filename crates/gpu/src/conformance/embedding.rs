//! Embedding gather against the twin: one id, one column, odd widths, repeated ids, the first and
//! last rows, ids past the table (clamped) including u32::MAX, the padded 51328-row vocabulary.
//! A gather moves values unchanged, so the comparison is exact; so is the quantized gather (Q8/Q4
//! tables, widths not a multiple of the 32-value block, odd scale counts), whose one multiply per
//! value is the twin's.

use super::{float_dtypes, round_to, Rng};
use crate::device::Device;
use crate::dtype::DType;
use crate::ops::embedding::{embedding, embedding_as};
use crate::quant::quantize;
use crate::recorder::run_and_read;
use crate::twin;

pub async fn check_embedding(device: &Device, seed: u64) -> Result<usize, String> {
    let mut rng = Rng::new(seed);
    let mut shapes = vec![(1, 1, 1), (5, 1, 3), (3, 7, 10), (100, 33, 64), (51_328, 8, 40), (1026, 768, 5)];
    shapes.push((rng.range(1, 500), rng.range(1, 300), rng.range(1, 100)));
    let mut cases = 0;
    for dtype in float_dtypes(device) {
        for &(vocab, dim, len) in &shapes {
            let table = round_to(dtype, &rng.vec(vocab * dim));
            let mut ids: Vec<u32> = (0..len).map(|_| rng.range(0, vocab) as u32).collect();
            // Edges and out-of-range ids at fixed places (short lists get fewer of them).
            let specials = [0, vocab as u32 - 1, vocab as u32, u32::MAX, ids[0]];
            for (slot, id) in ids.iter_mut().zip(specials) {
                *slot = id;
            }
            let want = twin::embedding::embedding(&table, vocab, dim, &ids);
            let got = run_and_read(device, |rec| {
                let tt = rec.upload_as(&[vocab, dim], &table, dtype);
                let ti = rec.upload_u32(&[len], &ids);
                embedding(rec, &tt, &ti)
            })
            .await
            .map_err(|e| e.to_string())?;
            exact(&got, &want, &format!("embedding {dtype:?} [{vocab}, {dim}] ids {len}"))?;
            cases += 1;
            for qtype in [DType::Q8, DType::Q4] {
                let words = quantize(qtype, vocab, dim, &table);
                let want = round_to(dtype, &twin::embedding::embedding_quantized(&words, qtype, vocab, dim, &ids));
                let got = run_and_read(device, |rec| {
                    let tq = rec.upload_bytes(&[vocab, dim], qtype, bytemuck::cast_slice(&words));
                    let ti = rec.upload_u32(&[len], &ids);
                    embedding_as(rec, &tq, &ti, dtype)
                })
                .await
                .map_err(|e| e.to_string())?;
                exact(&got, &want, &format!("embedding {qtype:?} -> {dtype:?} [{vocab}, {dim}] ids {len}"))?;
                cases += 1;
            }
        }
    }
    Ok(cases)
}

/// A gather moves values: equal, element for element.
fn exact(got: &[f32], want: &[f32], what: &str) -> Result<(), String> {
    if got == want {
        return Ok(());
    }
    let i = got.iter().zip(want).position(|(g, w)| g != w).unwrap_or(0);
    Err(format!("{what}: element {i} got {:?} want {:?}", got.get(i), want.get(i)))
}
