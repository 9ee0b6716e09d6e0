"""Read a converted checkpoint (manifest.json + shards, `visionllm convert`) back into f32 tensors,
so training can continue from the shipped demo model (`train.py --init-weights public/models/demo`).

Q8/Q4 are dequantized exactly as crates/gpu/src/quant.rs packs them: per row n and block b of 32
values along K, WORDS u32 words at (n*blocks + b)*WORDS (8 for Q8: value j in word j/4, bits
8*(j%4), two's complement; 4 for Q4: value j in word j/8, bits 4*(j%8), stored as q + 8), then one
f16 scale per (n, b) from word n*blocks*WORDS, two per word, low half first. K is padded to 32.
"""
import json
import os
import pathlib

import numpy as np
import torch
from safetensors.numpy import load_file

BLOCK = 32


def dequantize(words: np.ndarray, dtype: str, n: int, k: int) -> np.ndarray:
    blocks = -(-k // BLOCK)
    per = 8 if dtype == "q8" else 4
    vals = words[: n * blocks * per].reshape(n, blocks, per)
    if dtype == "q8":
        q = vals.view(np.uint8).reshape(n, blocks, BLOCK).view(np.int8).astype(np.float32)
    else:
        nib = (vals[..., None] >> (4 * np.arange(8, dtype=np.uint32))) & 0xF
        q = nib.reshape(n, blocks, BLOCK).astype(np.float32) - 8.0
    scales = words[n * blocks * per:].view(np.float16)[: n * blocks].astype(np.float32).reshape(n, blocks, 1)
    return (q * scales).reshape(n, blocks * BLOCK)[:, :k]


def read(path) -> dict:
    path = pathlib.Path(path)
    manifest = json.loads((path / "manifest.json").read_text())
    shards = [load_file(str(path / s["file"])) for s in manifest["shards"]]
    out = {}
    for t in manifest["tensors"]:
        raw = shards[t["shard"]][t["name"]]
        if t["dtype"] in ("q8", "q4"):
            n, k = t["shape"]
            values = dequantize(raw.view(np.uint32).reshape(-1), t["dtype"], n, k)
        else:
            values = raw.astype(np.float32).reshape(t["shape"])
        out[t["name"]] = torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32))
    return out


def load_converted(model_dir):
    """The converted model as transformers' Florence2ForConditionalGeneration, f32."""
    from transformers import Florence2Config, Florence2ForConditionalGeneration
    with open(os.path.join(model_dir, "config.json")) as f:
        config = Florence2Config.from_dict(json.load(f))
    model = Florence2ForConditionalGeneration._from_config(config).float().eval()
    state = read(model_dir)
    missing, unexpected = model.load_state_dict(state, strict=False)
    tied = ("lm_head.weight", "model.language_model.encoder.embed_tokens.weight", "model.language_model.decoder.embed_tokens.weight")
    missing = [m for m in missing if m not in tied]  # all three are the shared embedding
    if missing or unexpected:
        raise SystemExit(f"converted model does not match the config: missing {missing}, unexpected {unexpected}")
    model.tie_weights()
    return model, config
