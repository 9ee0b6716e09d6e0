// A converted model (manifest.json + shards) dequantized back to a checkpoint of the transformers
// layout: one f32 `model.safetensors`, tensors in name order, as a Hugging Face repository holds
// it. The e2e serves it as a "repository" for the quantize-while-downloading path. Dequantization
// follows the packing documented in crates/gpu/src/quant.rs (independent of the Rust code).
import fs from 'node:fs';
import path from 'node:path';

function f16(h) {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return sign * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : sign * Infinity;
  return sign * 2 ** (e - 15) * (1 + f / 1024);
}

function values(t, bytes) {
  const n = t.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  if (t.dtype === 'f32') for (let i = 0; i < n; i++) out[i] = bytes.readFloatLE(4 * i);
  else if (t.dtype === 'f16') for (let i = 0; i < n; i++) out[i] = f16(bytes.readUInt16LE(2 * i));
  else {
    const [rows, k] = t.shape;
    const blocks = Math.ceil(k / 32);
    const q8 = t.dtype === 'q8';
    const scaleAt = rows * blocks * (q8 ? 8 : 4) * 4;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < k; c++) {
        const b = Math.floor(c / 32), j = c % 32, block = r * blocks + b;
        const scale = f16(bytes.readUInt16LE(scaleAt + 2 * block));
        let q;
        if (q8) q = bytes.readInt8(block * 32 + j);
        else q = ((bytes[block * 16 + (j >> 1)] >> (4 * (j & 1))) & 15) - 8;
        out[r * k + c] = Math.fround(q * scale);
      }
    }
  }
  return out;
}

function safetensors(entries) {
  const header = {};
  let offset = 0;
  for (const [name, shape, v] of entries) {
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + v.byteLength] };
    offset += v.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, Buffer.from(json), ...entries.map(([, , v]) => Buffer.from(v.buffer))]);
}

function tensors(convertedDir) {
  const m = JSON.parse(fs.readFileSync(path.join(convertedDir, 'manifest.json'), 'utf8'));
  const shards = m.shards.map((s) => fs.readFileSync(path.join(convertedDir, s.file)));
  return [...m.tensors].sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((t) => [t.name, t.shape, values(t, shards[t.shard].subarray(t.offset, t.offset + t.length))]);
}

/// One `model.safetensors`.
export function nativeCheckpoint(convertedDir) {
  return safetensors(tensors(convertedDir));
}

/// The same split in two files plus `model.safetensors.index.json`, as `save_pretrained` shards
/// big checkpoints: { file name: bytes }.
export function shardedNativeCheckpoint(convertedDir) {
  const all = tensors(convertedDir);
  const half = all.length >> 1;
  const parts = [all.slice(0, half), all.slice(half)];
  const out = {};
  const weightMap = {};
  parts.forEach((part, i) => {
    const file = `model-0000${i + 1}-of-00002.safetensors`;
    out[file] = safetensors(part);
    for (const [name] of part) weightMap[name] = file;
  });
  out['model.safetensors.index.json'] = Buffer.from(JSON.stringify({ metadata: {}, weight_map: weightMap }));
  return out;
}
