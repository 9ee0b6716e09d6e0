"""Reference cases for the Pillow bicubic port (crates/florence2/src/preprocess.rs).

Writes tests/fixtures/resize/<name>.in.rgb / .out.rgb (raw interleaved RGB uint8) and cases.json.
Inputs are seeded random images plus smooth gradients; sizes cover up- and downscaling, one
axis unchanged, and extreme aspect ratios. Run: python3 tests/reference/resize/make_resize_cases.py
"""
import json, os
import numpy as np
from PIL import Image, __version__ as pil_version

OUT = os.path.join(os.path.dirname(__file__), "../../fixtures/resize")
CASES = [  # (name, in_w, in_h, out_w, out_h, kind)
    ("up_37x23_to_64", 37, 23, 64, 64, "noise"),
    ("down_300x200_to_224", 300, 200, 224, 224, "gradient"),
    ("down_noise_171x250_to_96", 171, 250, 96, 96, "noise"),
    ("same_width_64x40_to_64x96", 64, 40, 64, 96, "noise"),
    ("tall_5x200_to_48", 5, 200, 48, 48, "gradient"),
    ("tiny_1x1_to_12", 1, 1, 12, 12, "noise"),
    # Pillow 13 runs the vertical pass first when the height shrinks by more than twice the
    # width's shrink: one case each side of that boundary.
    ("vertical_first_60x150_to_50x50", 60, 150, 50, 50, "noise"),
    ("boundary_40x60_to_20x20", 40, 60, 20, 20, "noise"),
    ("photo_like_320x240_to_96", 320, 240, 96, 96, "gradient"),
]

def make(kind, w, h, rng):
    if kind == "noise":
        return rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1), (x * y) % 256], -1)
    return img.astype(np.uint8)

def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(1234)
    meta = {"pillow": pil_version, "cases": []}
    for name, w, h, ow, oh, kind in CASES:
        arr = make(kind, w, h, rng)
        out = np.asarray(Image.fromarray(arr, "RGB").resize((ow, oh), Image.BICUBIC))
        arr.tofile(os.path.join(OUT, name + ".in.rgb"))
        out.tofile(os.path.join(OUT, name + ".out.rgb"))
        meta["cases"].append({"name": name, "w": w, "h": h, "out_w": ow, "out_h": oh})
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(meta, f, indent=1)

if __name__ == "__main__":
    main()
