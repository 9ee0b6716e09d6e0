"""A full-size random checkpoint in the transformers layout, for measurements that need the real
sizes (peak wasm heap while loading): Florence-2 (`base`, `large`: f16, key names and shapes from
tests/fixtures/florence2/keys_*.json) or Qwen3-VL-2B-Instruct (`qwen3vl-2b`: bf16 as published,
4.26 GB, from tests/fixtures/qwen3vl/keys_2b.json). Values cycle through a random pool: cheap to
write, varied enough that every quantization block gets its own scale.

usage: python3 tests/e2e/make_random_checkpoint.py large|qwen3vl-2b OUT_DIR
"""
import json
import os
import random
import shutil
import struct
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
FIX = os.path.join(ROOT, "tests", "fixtures", "florence2")
QWEN_FIX = os.path.join(ROOT, "tests", "fixtures", "qwen3vl")
# Qwen3-VL-2B-Instruct's published geometry (tests/reference/qwen3vl/full_size_keys.py).
QWEN_2B_TEXT = {"hidden_size": 2048, "intermediate_size": 6144, "num_hidden_layers": 28, "num_attention_heads": 16,
                "num_key_value_heads": 8, "head_dim": 128, "vocab_size": 151936, "max_position_embeddings": 262144}
QWEN_2B_PIXELS = {"longest_edge": 16777216, "shortest_edge": 65536}
QWEN_2B_VISION = {"depth": 24, "hidden_size": 1024, "intermediate_size": 4096, "num_heads": 16, "out_hidden_size": 2048,
                  "num_position_embeddings": 2304, "deepstack_visual_indexes": [5, 11, 17]}


def write_weights(out, keys, dtype):
    header, offset = {}, 0
    for name in sorted(keys):
        n = 1
        for d in keys[name]["shape"]:
            n *= d
        header[name] = {"dtype": dtype, "shape": keys[name]["shape"], "data_offsets": [offset, offset + 2 * n]}
        offset += 2 * n
    text = json.dumps(header, separators=(",", ":"))
    text += " " * (-len(text) % 8)
    rng = random.Random(5)
    values = [(rng.random() - 0.5) * 0.2 for _ in range(1 << 20)]
    if dtype == "F16":
        pool = struct.pack(f"<{1 << 20}e", *values)
    else:
        # bf16: the high half of each little-endian f32.
        f32 = struct.pack(f"<{1 << 20}f", *values)
        pool = b"".join(f32[i + 2:i + 4] for i in range(0, len(f32), 4))
    with open(os.path.join(out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text.encode())
        for i, name in enumerate(sorted(keys)):
            left = header[name]["data_offsets"][1] - header[name]["data_offsets"][0]
            at = (i * 7919 * 2) % len(pool)
            while left:
                chunk = pool[at:at + left]
                f.write(chunk)
                left -= len(chunk)
                at = 0
    return offset


def qwen3vl_2b(out):
    """The tiny fixture's config with the 2B geometry, and its tokenizer and chat files: the
    special-token ids stay the tiny tokenizer's, so a prompt still finds its image token."""
    keys = json.load(open(os.path.join(QWEN_FIX, "keys_2b.json")))["tensors"]
    os.makedirs(out, exist_ok=True)
    total = write_weights(out, keys, "BF16")
    tiny = os.path.join(QWEN_FIX, "tiny")
    config = json.load(open(os.path.join(tiny, "config.json")))
    config["text_config"].update(QWEN_2B_TEXT)
    config["text_config"]["rope_parameters"]["mrope_section"] = [24, 20, 20]
    config["vision_config"].update(QWEN_2B_VISION)
    config["dtype"] = "bfloat16"
    json.dump(config, open(os.path.join(out, "config.json"), "w"), indent=2)
    for f in ("tokenizer.json", "chat_template.jinja", "tokenizer_config.json", "generation_config.json"):
        shutil.copy(os.path.join(tiny, f), os.path.join(out, f))
    # The published processor's pixel bounds (the tiny fixture's would shrink a 448 image to 8x8
    # patches): a 448x448 image stays 448x448, 28x28 patches, 196 image tokens.
    pre = json.load(open(os.path.join(tiny, "preprocessor_config.json")))
    pre["size"] = QWEN_2B_PIXELS
    json.dump(pre, open(os.path.join(out, "preprocessor_config.json"), "w"), indent=2)
    print(f"{out}: {len(keys)} tensors, {total / 1e9:.2f} GB")


def main(size, out):
    if size == "qwen3vl-2b":
        return qwen3vl_2b(out)
    keys = json.load(open(os.path.join(FIX, f"keys_{size}.json")))["tensors"]
    os.makedirs(out, exist_ok=True)
    offset = write_weights(out, keys, "F16")
    # The tokenizer is the small test one: the config's image token must be its `<image>` (the
    # published 51289 is not in it, and a prompt would hold no image token).
    config = json.load(open(os.path.join(FIX, f"config_{size}.json")))
    tokenizer = json.load(open(os.path.join(FIX, "tiny768", "tokenizer.json")))
    config["image_token_id"] = next(t["id"] for t in tokenizer["added_tokens"] if t["content"] == "<image>")
    json.dump(config, open(os.path.join(out, "config.json"), "w"), indent=2)
    for f in ("tokenizer.json", "preprocessor_config.json"):
        shutil.copy(os.path.join(FIX, "tiny768", f), os.path.join(out, f))
    print(f"{out}: {len(keys)} tensors, {offset / 1e9:.2f} GB")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
