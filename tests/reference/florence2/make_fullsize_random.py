"""A full-size random Florence-2 checkpoint with the real key names and shapes (base or large),
for timing runs of `visionllm run` (numbers are random; nothing is compared). numpy only.

Usage: python3 tests/reference/florence2/make_fullsize_random.py base OUT_DIR [--f32]
Weights ~ U(-a, a) with variance 1/fan_in (residual branches damped x0.1), LayerNorm gain 1,
bias 0;
stored f16 unless --f32 (f32 base is 925 MB). The tokenizer is the tiny fixture tokenizer (its
ids are a subset of the 51328-row vocabulary), so config.json's image_token_id is set to its
`<image>` id.
"""
import json, os, shutil, sys
import numpy as np
from safetensors.numpy import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "../../fixtures/florence2")
TOKENIZER = os.path.join(HERE, "../../../crates/tasks/tests/fixtures/tokenizer_tiny.json")

def main():
    which, out = sys.argv[1], sys.argv[2]
    dtype = np.float32 if "--f32" in sys.argv else np.float16
    keys = json.load(open(os.path.join(FIX, f"keys_{which}.json")))["tensors"]
    config = json.load(open(os.path.join(FIX, f"config_{which}.json")))
    tok = json.load(open(TOKENIZER))
    image_id = next(t["id"] for t in tok["added_tokens"] if t["content"] == "<image>")
    config["image_token_id"] = image_id
    rng = np.random.default_rng(0)
    tensors = {}
    for name, info in keys.items():
        shape = info["shape"]
        if name.endswith("norm.weight") or name.endswith("layer_norm.weight") or "layernorm" in name and name.endswith("weight") or name.endswith("norm1.weight") or name.endswith("norm2.weight"):
            v = np.ones(shape, np.float32)
        elif name.endswith(".bias"):
            v = np.zeros(shape, np.float32)
        else:
            fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
            a = np.sqrt(3.0 / fan_in)
            v = rng.uniform(-a, a, size=shape).astype(np.float32)
            # Damp every residual branch, as training does: with unit-variance branches the
            # residual stream doubles its variance at each of DaViT's ~100 residual adds and
            # overflows f16 (65504) long before the projector.
            if any(k in name for k in (".conv1.", ".conv2.", ".proj.", ".fc2.", ".out_proj.")):
                v *= 0.1
        tensors[name] = v.astype(dtype)
    os.makedirs(out, exist_ok=True)
    save_file(tensors, os.path.join(out, "model.safetensors"))
    json.dump(config, open(os.path.join(out, "config.json"), "w"), indent=1)
    json.dump({"size": {"height": 768, "width": 768}}, open(os.path.join(out, "preprocessor_config.json"), "w"))
    shutil.copy(TOKENIZER, os.path.join(out, "tokenizer.json"))
    print(f"{len(tensors)} tensors, {sum(int(np.prod(t.shape)) for t in tensors.values()):,} values -> {out}")

if __name__ == "__main__":
    main()
