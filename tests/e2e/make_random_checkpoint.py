"""A full-size random Florence-2 checkpoint in the transformers layout (f16 model.safetensors with
the real key names and shapes from tests/fixtures/florence2/keys_*.json), for measurements that
need the real sizes (peak wasm heap while loading large). Values cycle through a random pool:
cheap to write, varied enough that every quantization block gets its own scale.

usage: python3 tests/e2e/make_random_checkpoint.py large OUT_DIR
"""
import json
import os
import random
import shutil
import struct
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
FIX = os.path.join(ROOT, "tests", "fixtures", "florence2")


def main(size, out):
    keys = json.load(open(os.path.join(FIX, f"keys_{size}.json")))["tensors"]
    os.makedirs(out, exist_ok=True)
    header, offset = {}, 0
    for name in sorted(keys):
        n = 1
        for d in keys[name]["shape"]:
            n *= d
        header[name] = {"dtype": "F16", "shape": keys[name]["shape"], "data_offsets": [offset, offset + 2 * n]}
        offset += 2 * n
    text = json.dumps(header, separators=(",", ":"))
    text += " " * (-len(text) % 8)
    rng = random.Random(5)
    pool = struct.pack(f"<{1 << 20}e", *((rng.random() - 0.5) * 0.2 for _ in range(1 << 20)))
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
