"""Checkpoint written by train.py -> a checkpoint directory in the native transformers layout
(config.json, model.safetensors, preprocessor_config.json, tokenizer.json) that our engine and
`visionllm convert` read.

Usage: python3 training/demo/export.py CKPT_DIR OUT_DIR
"""
import json
import pathlib
import shutil
import sys

import torch
from tokenizers import Tokenizer

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import checkpoint  # noqa: E402
from model_config import NUM_IMAGE_TOKENS, SIZE, build_model  # noqa: E402

PREPROCESSOR = {
    "crop_size": {"height": SIZE, "width": SIZE}, "do_center_crop": False, "do_convert_rgb": True,
    "do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": [0.485, 0.456, 0.406],
    "image_processor_type": "CLIPImageProcessor", "image_seq_length": NUM_IMAGE_TOKENS,
    "image_std": [0.229, 0.224, 0.225], "resample": 3, "rescale_factor": 1 / 255,
    "size": {"height": SIZE, "width": SIZE},
}


def main(ckpt, out, tokenizer=HERE / "tokenizer.json"):
    tok = Tokenizer.from_file(str(tokenizer))
    model, _ = build_model(tok, seed=0)
    state = checkpoint.load(pathlib.Path(ckpt), model, None, "cpu")
    model.eval()
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    shutil.copyfile(tokenizer, out / "tokenizer.json")
    (out / "preprocessor_config.json").write_text(json.dumps(PREPROCESSOR, indent=2) + "\n")
    print(f"exported step {state['step']} ({state['samples']} samples) to {out}")
    return state


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
