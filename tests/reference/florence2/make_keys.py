"""The full-size key lists: tests/fixtures/florence2/keys_{base,large}.json and config_{base,large}.json.

Every tensor name and shape of Florence-2-base and -large in the native transformers layout (as
save_pretrained writes model.safetensors), from the reference implementation instantiated on the
meta device (no weights, no download). Run through make_fixtures.py: `make_fixtures.py keys`.
"""
import json
import pathlib
import shutil
import sys
import tempfile

import torch
from transformers import Florence2ForConditionalGeneration

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from make_fixtures import OUT, make_config  # noqa: E402

# Published full-size geometry (florence2.md).
FULL = {
    "base": dict(vision=dict(embed_dim=[128, 256, 512, 1024], num_heads=[4, 8, 16, 32],
                             num_groups=[4, 8, 16, 32], depths=[1, 1, 9, 1], projection_dim=768),
                 text=dict(d_model=768, layers=6, heads=12, ffn=3072)),
    "large": dict(vision=dict(embed_dim=[256, 512, 1024, 2048], num_heads=[8, 16, 32, 64],
                              num_groups=[8, 16, 32, 64], depths=[1, 1, 9, 1], projection_dim=1024),
                  text=dict(d_model=1024, layers=12, heads=16, ffn=4096)),
}


def full_config(kind):
    f = FULL[kind]
    ids = dict(bos=0, pad=1, eos=2, decoder_start=2, image=51289)
    cfg = make_config({k: v for k, v in f["vision"].items() if k != "projection_dim"}, f["text"], 51328, ids,
                      projection_dim=f["vision"]["projection_dim"], max_pos=1024)
    # Reconstruction of the published config: DaViT default stochastic depth 0.1 (inert at inference),
    # BART dropouts 0.1 as in the original Florence-2 text config.
    cfg.vision_config.drop_path_rate = 0.1
    cfg.text_config.dropout = cfg.text_config.attention_dropout = cfg.text_config.activation_dropout = 0.1
    cfg.architectures = ["Florence2ForConditionalGeneration"]
    return cfg


def write_keys():
    # Keys that save_pretrained leaves out (tied to model.language_model.shared.weight).
    tied = {"lm_head.weight", "model.language_model.encoder.embed_tokens.weight",
            "model.language_model.decoder.embed_tokens.weight"}
    report = {}
    for kind in ["base", "large"]:
        cfg = full_config(kind)
        with torch.device("meta"):
            m = Florence2ForConditionalGeneration(cfg)
        sd = m.state_dict()
        buffers = {n for n, _ in m.named_buffers()}
        file_keys = sorted(k for k in sd if k not in tied)
        n_params = sum(p.numel() for p in m.parameters())
        entry = dict(
            model=f"Florence-2-{kind} (native transformers layout, as save_pretrained writes model.safetensors)",
            num_tensors_in_file=len(file_keys),
            num_elements_in_file=sum(sd[k].numel() for k in file_keys),
            num_parameters=n_params,
            num_state_dict_entries=len(sd),
            tied_keys_not_in_file=sorted(tied & set(sd)),
            buffers_in_file=sorted(buffers),
            tensors={k: dict(shape=list(sd[k].shape), dtype="F32") for k in file_keys},
        )
        (OUT / f"keys_{kind}.json").write_text(json.dumps(entry, indent=1) + "\n")
        with tempfile.TemporaryDirectory() as td:
            cfg.save_pretrained(td)
            shutil.copyfile(pathlib.Path(td) / "config.json", OUT / f"config_{kind}.json")
        report[kind] = (n_params, len(sd), len(file_keys), entry["num_elements_in_file"])
        print(f"  {kind}: {n_params:,} parameters; state_dict {len(sd)} entries; file {len(file_keys)} tensors,"
              f" {entry['num_elements_in_file']:,} elements")
    return report
