"""Reference fixtures for the Florence-2 re-implementation (issue 3), made with the reference itself.

What it does
    Builds tiny random Florence-2 checkpoints with the native Hugging Face implementation
    (`Florence2Config` + `Florence2ForConditionalGeneration`, PyTorch CPU, float32, eval mode,
    eager attention) and writes, per case, `tests/fixtures/florence2/<case>/`:
      config.json, generation_config.json, model.safetensors  (exactly as save_pretrained writes them)
      tokenizer.json        (byte copy of the tiny tokenizer, see TOKENIZER below)
      processor_config.json (Florence2Processor.save_pretrained, transformers-5 layout)
      preprocessor_config.json (image processor save_pretrained, the classic layout real checkpoints ship)
      image.png             (input image, original size)
      expected.safetensors  (reference activations / ids, see README.md)
      case.json             (prompt, sizes, generation kwargs, seed, logit gaps, ...)
    plus keys_base.json / keys_large.json / config_base.json / config_large.json (full-size geometry,
    built on the meta device, no memory used).

How to run (from the repository root; deterministic, ~2-4 minutes on 2 cores):
    nice python3 tests/reference/florence2/make_fixtures.py            # all cases + key lists
    nice python3 tests/reference/florence2/make_fixtures.py tiny224    # one case
    nice python3 tests/reference/florence2/make_fixtures.py keys       # key lists only

Versions used to produce the committed fixtures: python 3.11.7, torch 2.15.0 (CPU),
transformers 5.24.0, tokenizers (see case.json), safetensors 0.8.0 (python), pillow, scikit-image
(only for the bundled `chelsea` photograph). torchvision is NOT installed; in addition the image
processor is constructed explicitly as `CLIPImageProcessorPil` (the PIL/NumPy backend) and the script
asserts that class, so the resize is PIL's bicubic on uint8 even where torchvision exists.

Weights: every parameter is re-drawn (the default init zeroes biases and makes LayerNorms identities):
Linear/Conv weights ~ N(0, 1/fan_in), biases ~ 0.05 N(0,1), LayerNorm gain 1 + 0.1 N, bias 0.05 N,
embeddings ~ N(0,1) (decoder learned positions ~ DEC_POS_STD * N(0,1)); text-model residual branches
(self_attn/encoder_attn out_proj and fc2) are scaled by RESID_SCALE. Seeds are searched (from the case's
base seed upwards) until greedy/beam sequences are varied and every top-1/top-2 gap is comfortable.
"""
import copy
import itertools
import json
import math
import os
import pathlib
import shutil
import sys
import tempfile

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file
from torch import nn

import transformers
from transformers.modeling_outputs import BaseModelOutput
from transformers import (
    BartTokenizer,
    CLIPImageProcessorPil,
    Florence2Config,
    Florence2ForConditionalGeneration,
    Florence2Processor,
    GenerationConfig,
)

ROOT = pathlib.Path(__file__).resolve().parents[3]
OUT = ROOT / "tests/fixtures/florence2"
TOKENIZER = ROOT / "crates/tasks/tests/fixtures/tokenizer_tiny.json"
# Fallback builder (same layout) written by the tasks helper; used only when the json is missing.
TOKENIZER_BUILDER = ROOT / "tests/reference/tasks/make_tiny_tokenizer.py"

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]

RESID_SCALE = 0.25
DEC_POS_STD = 6.0
MAX_NEW_TOKENS = 20
# Acceptance thresholds of the seed search.
MIN_REL_GAP_GREEDY = 3e-3  # (top1 - top2) / max|logit| at every greedy step
MIN_GAP_BEAM = 5e-3  # accumulated log-prob gap at the beam selection boundaries, every beam step
MIN_GREEDY_DISTINCT = 10
MAX_GREEDY_RUN = 3  # longest run of one repeated token

CASES = {
    "tiny224": dict(
        seed=1028,  # first accepted seed searching from 1000
        image_seed=1000,
        size=224,
        image="synthetic:300x200",
        prompt="<OD>",
        extra_prompts={},
        vision=dict(embed_dim=[16, 32, 48, 64], num_heads=[2, 2, 4, 4], num_groups=[2, 2, 4, 4],
                    depths=[1, 1, 1, 1]),
        text=dict(d_model=32, layers=2, heads=2, ffn=64, max_pos=256),
        store_pixel_values_f32=True,
        store_block_outputs=True,
    ),
    "tiny768": dict(
        seed=2003,  # first accepted seed searching from 2000
        image_seed=2000,
        size=768,
        image="synthetic:512x384",
        prompt="<OD>",
        extra_prompts={},
        vision=dict(embed_dim=[8, 16, 24, 32], num_heads=[2, 2, 4, 4], num_groups=[2, 2, 4, 4],
                    depths=[1, 1, 1, 1]),
        text=dict(d_model=32, layers=2, heads=2, ffn=64, max_pos=1024),
        # 768x768x3 f32 would be 7 MB: the resized uint8 image (exact) plus the first 8 rows of
        # pixel_values in f32 are stored instead.
        store_pixel_values_f32=False,
        store_block_outputs=False,
    ),
    "geom2_photo": dict(
        seed=3014,  # first accepted seed searching from 3000
        image_seed=0,  # unused (photograph)
        size=384,
        image="skimage:chelsea",
        prompt="<OD>",
        extra_prompts={"grounding": "<CAPTION_TO_PHRASE_GROUNDING>A cat on the floor"},
        vision=dict(embed_dim=[12, 24, 36, 48], num_heads=[3, 3, 6, 6], num_groups=[2, 4, 3, 6],
                    depths=[1, 2, 1, 1]),
        text=dict(d_model=24, layers=3, heads=3, ffn=40, max_pos=512),
        store_pixel_values_f32=False,
        store_block_outputs=True,
        detail_from_stage=1,  # stage-0 patch-embed/spatial outputs left out (size); tiny224 has them
    ),
}



# ----------------------------------------------------------------------------------------- tokenizer
def tokenizer_path() -> pathlib.Path:
    if TOKENIZER.exists():
        return TOKENIZER
    # Fallback: build the same tokenizer in memory into a temp file (never writes TOKENIZER itself).
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_tiny_tokenizer", TOKENIZER_BUILDER)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    tmp = pathlib.Path(tempfile.gettempdir()) / "florence2_tokenizer_tiny_fallback.json"
    mod.build().save(str(tmp), pretty=False)
    print(f"WARNING: {TOKENIZER} missing; using a freshly built equivalent at {tmp}")
    return tmp


def load_tokenizer(path):
    tok = BartTokenizer(tokenizer_file=str(path), extra_special_tokens={"image_token": "<image>"})
    for name in ["<s>", "<pad>", "</s>", "<image>", "<od>", "<loc_0>"]:
        assert tok.convert_tokens_to_ids(name) is not None
    return tok


def token_ids(tok):
    ids = dict(
        bos=tok.bos_token_id, pad=tok.pad_token_id, eos=tok.eos_token_id,
        image=tok.image_token_id, od=tok.convert_tokens_to_ids("<od>"),
        loc_0=tok.convert_tokens_to_ids("<loc_0>"), loc_999=tok.convert_tokens_to_ids("<loc_999>"),
    )
    # BART convention: the decoder starts with </s>.
    ids["decoder_start"] = ids["eos"]
    ids["vocab_size"] = len(tok)
    return ids


# ----------------------------------------------------------------------------------------- images
def make_image(spec: str, seed: int) -> Image.Image:
    kind, arg = spec.split(":")
    if kind == "skimage":
        import skimage.data

        return Image.fromarray(getattr(skimage.data, arg)()).convert("RGB")
    w, h = (int(v) for v in arg.split("x"))
    rng = np.random.RandomState(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.zeros((h, w, 3))
    img[..., 0] = 255 * xx / (w - 1)
    img[..., 1] = 255 * yy / (h - 1)
    img[..., 2] = 128 + 100 * np.sin(xx / 7.0) * np.cos(yy / 11.0)
    for _ in range(6):  # coloured rectangles and discs: sharp edges exercise the bicubic overshoot/clamp
        x0, y0 = rng.randint(0, w - 20), rng.randint(0, h - 20)
        x1, y1 = x0 + rng.randint(10, w // 2), y0 + rng.randint(10, h // 2)
        img[y0:y1, x0:x1] = rng.randint(0, 256, size=3)
        cx, cy, r = rng.randint(0, w), rng.randint(0, h), rng.randint(5, min(w, h) // 4)
        img[(xx - cx) ** 2 + (yy - cy) ** 2 < r * r] = rng.randint(0, 256, size=3)
    img[::17] = 255 - img[::17]  # thin stripes: high frequencies
    return Image.fromarray(np.clip(np.round(img), 0, 255).astype(np.uint8), "RGB")


def make_processor(tok, size, num_image_tokens):
    ip = CLIPImageProcessorPil(
        size={"height": size, "width": size}, crop_size={"height": size, "width": size},
        do_center_crop=False, do_resize=True, do_rescale=True, do_normalize=True, do_convert_rgb=True,
        image_mean=IMAGENET_MEAN, image_std=IMAGENET_STD, resample=3,  # 3 = PIL.Image.BICUBIC
        image_seq_length=num_image_tokens,
    )
    proc = Florence2Processor(image_processor=ip, tokenizer=tok)
    assert type(proc.image_processor).__name__ == "CLIPImageProcessorPil", type(proc.image_processor)
    return proc


# ----------------------------------------------------------------------------------------- model
def grids(size, vision):
    g, out = size, []
    for s in range(4):
        k, st, p = (7, 4, 3) if s == 0 else (3, 2, 1)
        g = (g + 2 * p - k) // st + 1
        out.append(g)
    return out


def make_config(vision, text, vocab_size, ids, projection_dim=None, max_pos=1024):
    vc = dict(vision)
    vc.setdefault("projection_dim", projection_dim if projection_dim is not None else text["d_model"])
    vc.update(window_size=12, mlp_ratio=4.0, drop_path_rate=0.0, max_position_embeddings=50,
              max_temporal_embeddings=100)
    tc = dict(
        vocab_size=vocab_size, d_model=text["d_model"], encoder_layers=text["layers"],
        decoder_layers=text["layers"], encoder_attention_heads=text["heads"],
        decoder_attention_heads=text["heads"], encoder_ffn_dim=text["ffn"], decoder_ffn_dim=text["ffn"],
        max_position_embeddings=max_pos, bos_token_id=ids["bos"], pad_token_id=ids["pad"],
        eos_token_id=ids["eos"], decoder_start_token_id=ids["decoder_start"],
        forced_eos_token_id=ids["eos"], scale_embedding=False, activation_function="gelu",
    )
    return Florence2Config(vision_config=vc, text_config=tc, image_token_id=ids["image"])


@torch.no_grad()
def redraw(model, seed):
    """Re-draw every parameter; see the module docstring."""
    g = torch.Generator().manual_seed(seed)

    def normal(t, std, mean=0.0):
        t.copy_(torch.randn(t.shape, generator=g, dtype=torch.float32) * std + mean)

    seen = set()
    for name, mod in model.named_modules():
        params = [p for p in mod.parameters(recurse=False) if id(p) not in seen]
        if not params:
            continue
        seen.update(id(p) for p in params)
        if isinstance(mod, nn.Linear):
            normal(mod.weight, 1.0 / math.sqrt(mod.in_features))
            if mod.bias is not None:
                normal(mod.bias, 0.05)
            if name.startswith("model.language_model.") and name.endswith(("out_proj", "fc2")):
                mod.weight.mul_(RESID_SCALE)
        elif isinstance(mod, nn.Conv2d):
            fan_in = (mod.in_channels // mod.groups) * mod.kernel_size[0] * mod.kernel_size[1]
            normal(mod.weight, 1.0 / math.sqrt(fan_in))
            normal(mod.bias, 0.05)
        elif isinstance(mod, nn.LayerNorm):
            normal(mod.weight, 0.1, 1.0)
            normal(mod.bias, 0.05)
        elif isinstance(mod, nn.Embedding):
            std = DEC_POS_STD if name.endswith("decoder.embed_positions") else 1.0
            normal(mod.weight, std)
        else:
            raise RuntimeError(f"unhandled parameter owner {name} {type(mod)}")
    n_all = len({id(p) for p in model.parameters()})
    assert len(seen) == n_all, (len(seen), n_all)
    assert model.lm_head.weight.data_ptr() == model.model.language_model.shared.weight.data_ptr()


def build_model(cfg, seed):
    torch.manual_seed(seed)
    model = Florence2ForConditionalGeneration._from_config(cfg, attn_implementation="eager")
    model = model.float().eval()
    redraw(model, seed)
    return model


# ----------------------------------------------------------------------------------------- capture
def tokens_last(x):
    """[B, C, H, W] -> [B, H*W, C] (row-major tokens, the layout the projector flattens to)."""
    return x.flatten(2).transpose(1, 2).contiguous()


@torch.no_grad()
def capture(model, inputs, dec_start, store_blocks, detail_from_stage=0):
    cap, hooks = {}, []
    vt = model.model.vision_tower
    lm = model.model.language_model

    def first(o):
        return o[0] if isinstance(o, (tuple, list)) else o

    def save(name, fn=lambda t: t):
        def hook(_m, _i, o):
            cap[name] = fn(first(o)).detach().clone()
        return hook

    for s in range(len(vt.convs)):
        hooks.append(vt.convs[s].register_forward_hook(save(f"vision.patch_embed{s}", tokens_last)))
        hooks.append(vt.blocks[s][-1].register_forward_hook(save(f"vision.stage{s}", tokens_last)))
        if store_blocks:
            for b, blk in enumerate(vt.blocks[s]):
                hooks.append(blk.spatial_block.register_forward_hook(
                    save(f"vision.stage{s}.block{b}.spatial", tokens_last)))
                if b < len(vt.blocks[s]) - 1:  # the last block's output is vision.stage{s}
                    hooks.append(blk.register_forward_hook(save(f"vision.stage{s}.block{b}", tokens_last)))
    hooks.append(model.model.multi_modal_projector.register_forward_hook(save("projector.image_features")))

    def enc_pre(_m, args, kwargs):
        cap["encoder.inputs_embeds"] = kwargs["inputs_embeds"].detach().clone()

    hooks.append(lm.encoder.register_forward_pre_hook(enc_pre, with_kwargs=True))
    hooks.append(lm.encoder.layernorm_embedding.register_forward_hook(save("encoder.embeddings")))
    for i, layer in enumerate(lm.encoder.layers):
        hooks.append(layer.register_forward_hook(save(f"encoder.layer{i}")))
    hooks.append(lm.decoder.layernorm_embedding.register_forward_hook(save("decoder.step0.embeddings")))
    for i, layer in enumerate(lm.decoder.layers):
        hooks.append(layer.register_forward_hook(save(f"decoder.step0.layer{i}")))
    try:
        out = model(**inputs, decoder_input_ids=torch.tensor([[dec_start]]), use_cache=False)
    finally:
        for h in hooks:
            h.remove()
    cap["encoder.last_hidden_state"] = out.encoder_last_hidden_state.detach().clone()
    cap["decoder.step0.logits"] = out.logits.detach().clone()
    if not store_blocks:
        for k in [k for k in cap if k.startswith("vision.patch_embed") and k != "vision.patch_embed3"]:
            del cap[k]
    for s in range(detail_from_stage):
        for k in [k for k in cap if k == f"vision.patch_embed{s}" or k.startswith(f"vision.stage{s}.")]:
            del cap[k]
    return cap


# ----------------------------------------------------------------------------------------- generation
def greedy_kwargs(ids):
    return dict(num_beams=1, do_sample=False, max_new_tokens=MAX_NEW_TOKENS, no_repeat_ngram_size=0,
                forced_bos_token_id=None, forced_eos_token_id=None, early_stopping=False,
                decoder_start_token_id=ids["decoder_start"], bos_token_id=ids["bos"],
                eos_token_id=ids["eos"], pad_token_id=ids["pad"])


def beam_kwargs(ids):
    return dict(num_beams=3, do_sample=False, max_new_tokens=MAX_NEW_TOKENS, no_repeat_ngram_size=3,
                early_stopping=True, length_penalty=1.0, num_return_sequences=1,
                forced_bos_token_id=ids["bos"], forced_eos_token_id=ids["eos"],
                decoder_start_token_id=ids["decoder_start"], bos_token_id=ids["bos"],
                eos_token_id=ids["eos"], pad_token_id=ids["pad"])


def plain_generation_config(model, kwargs):
    # Start from an empty GenerationConfig so nothing is inherited from the model config
    # (the model's generation_config carries forced_eos_token_id = eos).
    gc = GenerationConfig(**kwargs)
    model.generation_config = copy.deepcopy(gc)
    return gc


@torch.no_grad()
def run_greedy(model, inputs, ids, check=False):
    gc = plain_generation_config(model, greedy_kwargs(ids))
    out = model.generate(**inputs, generation_config=gc, return_dict_in_generate=True,
                         output_scores=True, output_logits=True)
    seq = out.sequences
    gaps = []
    for sc, lg in zip(out.scores, out.logits):
        assert torch.equal(sc, lg), "greedy must run without logits processors"
        top = torch.topk(lg[0].double(), 2).values
        gaps.append(((top[0] - top[1]).item(), ((top[0] - top[1]) / lg[0].abs().max()).item()))
    if not check:
        return seq, gaps
    # Independent check: a cache-free argmax loop over full decoder forwards gives the same ids.
    dec = torch.tensor([[ids["decoder_start"]]])
    first = model(**inputs, decoder_input_ids=dec, use_cache=False)
    enc_out = BaseModelOutput(last_hidden_state=first.encoder_last_hidden_state)
    for _ in range(MAX_NEW_TOKENS):
        nxt = model(attention_mask=inputs["attention_mask"], encoder_outputs=enc_out, decoder_input_ids=dec,
                    use_cache=False).logits[:, -1].argmax(-1, keepdim=True)
        dec = torch.cat([dec, nxt], 1)
        if nxt.item() == ids["eos"]:
            break
    assert torch.equal(dec, seq), (dec, seq)
    return seq, gaps


@torch.no_grad()
def run_beam(model, inputs, ids):
    gc = plain_generation_config(model, beam_kwargs(ids))
    margins = []
    vocab = model.config.text_config.vocab_size
    orig = model._get_top_k_continuations

    def spy(*args, **kwargs):  # read-only: records the accumulated log-probs the beams are ranked by
        k = gc.num_beams
        acc = kwargs["accumulated_log_probs"][0].double()
        ok = torch.isfinite(acc) & (acc > -1e8)
        not_eos = ok & ((torch.arange(acc.numel()) % vocab) != ids["eos"])
        vals = torch.sort(acc[ok], descending=True).values
        cont = torch.sort(acc[not_eos], descending=True).values
        gaps = []
        if vals.numel() > 2 * k:  # which 2k candidates are taken
            gaps.append((vals[2 * k - 1] - vals[2 * k]).item())
        if cont.numel() > k:  # which k non-eos candidates continue as running beams
            gaps.append((cont[k - 1] - cont[k]).item())
        if gaps:
            margins.append(min(gaps))
        return orig(*args, **kwargs)

    model._get_top_k_continuations = spy
    try:
        out = model.generate(**inputs, generation_config=gc, return_dict_in_generate=True,
                             output_scores=True)
    finally:
        del model._get_top_k_continuations
    return out.sequences, out.sequences_scores, margins


# ----------------------------------------------------------------------------------------- cases
def acceptable(greedy, gaps, beam, margins, ids):
    g = greedy[0, 1:].tolist()
    why = []
    if len(set(g)) < MIN_GREEDY_DISTINCT:
        why.append(f"greedy has {len(set(g))} distinct tokens")
    if len(g) < 8:
        why.append(f"greedy ends after {len(g)} tokens")
    run = max(sum(1 for _ in grp) for _, grp in itertools.groupby(g))
    if run > MAX_GREEDY_RUN:
        why.append(f"greedy repeats one token {run} times")
    if min(r for _, r in gaps) < MIN_REL_GAP_GREEDY:
        why.append(f"greedy rel gap {min(r for _, r in gaps):.2e}")
    if margins and min(margins) < MIN_GAP_BEAM:
        why.append(f"beam margin {min(margins):.2e}")
    b = beam[0, 1:].tolist()
    if len(set(b)) < 6:
        why.append("beam sequence not varied")
    return why


def make_case(name, spec, tok_path, tok):
    ids = token_ids(tok)
    size = spec["size"]
    gr = grids(size, spec["vision"])
    n_img = gr[3] * gr[3] + 1
    assert gr[3] <= 50
    proc = make_processor(tok, size, n_img)
    image = make_image(spec["image"], spec["image_seed"])

    prompts = {"main": spec["prompt"], **spec["extra_prompts"]}
    inputs = {k: dict(proc(text=p, images=image, return_tensors="pt")) for k, p in prompts.items()}
    for v in inputs.values():
        assert v["pixel_values"].dtype == torch.float32
        assert (v["input_ids"][0, :n_img] == ids["image"]).all() and (v["input_ids"][0, n_img:] != ids["image"]).all()
    pv = inputs["main"]["pixel_values"]

    # The resized uint8 image (PIL bicubic) and an exactness check of pixel_values against it.
    raw = proc.image_processor(image, do_rescale=False, do_normalize=False, return_tensors="pt")["pixel_values"]
    assert torch.equal(raw, raw.round()) and raw.min() >= 0 and raw.max() <= 255
    direct = np.asarray(image.resize((size, size), Image.BICUBIC)).transpose(2, 0, 1)[None]
    assert np.array_equal(raw.numpy().astype(np.uint8), direct), "processor resize != PIL bicubic"
    u8 = raw.to(torch.uint8)
    rebuilt = (u8.double() * (1 / 255)).float()
    rebuilt = (rebuilt - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    assert torch.equal(rebuilt, pv), "pixel_values formula check failed"

    max_len = inputs["main"]["input_ids"].shape[1]
    max_pos = spec["text"]["max_pos"]
    assert max(v["input_ids"].shape[1] for v in inputs.values()) <= max_pos
    assert MAX_NEW_TOKENS + 2 <= max_pos
    cfg = make_config(spec["vision"], spec["text"], ids["vocab_size"], ids, max_pos=max_pos)

    seed = spec["seed"]
    for attempt in range(100):
        model = build_model(cfg, seed)
        results, bad = {}, []
        for key, inp in inputs.items():
            greedy, gaps = run_greedy(model, inp, ids)
            beam, beam_score, margins = run_beam(model, inp, ids)
            results[key] = (greedy, gaps, beam, beam_score, margins)
            bad += [f"{key}: {w}" for w in acceptable(greedy, gaps, beam, margins, ids)]
        if not bad:
            break
        print(f"  {name}: seed {seed} rejected: {'; '.join(bad)}")
        seed += 1
    else:
        raise SystemExit(f"{name}: no acceptable seed")
    print(f"  {name}: seed {seed} accepted")
    for key, inp in inputs.items():
        assert torch.equal(run_greedy(model, inp, ids, check=True)[0], results[key][0])

    d = OUT / name
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    # save_pretrained writes config.json, generation_config.json, model.safetensors (lm_head tied).
    model.generation_config = GenerationConfig(**beam_kwargs(ids))
    model.save_pretrained(d)
    shutil.copyfile(tok_path, d / "tokenizer.json")
    with tempfile.TemporaryDirectory() as td:
        proc.save_pretrained(td)
        shutil.copyfile(pathlib.Path(td) / "processor_config.json", d / "processor_config.json")
        proc.image_processor.save_pretrained(td)
        shutil.copyfile(pathlib.Path(td) / "preprocessor_config.json", d / "preprocessor_config.json")
    image.save(d / "image.png")

    # Reload check: the written checkpoint reproduces the step-0 logits exactly.
    reloaded = Florence2ForConditionalGeneration.from_pretrained(d, attn_implementation="eager").eval()
    cap = capture(model, inputs["main"], ids["decoder_start"], spec["store_block_outputs"],
                  spec.get("detail_from_stage", 0))
    cap2 = capture(reloaded, inputs["main"], ids["decoder_start"], False)
    assert torch.equal(cap["decoder.step0.logits"], cap2["decoder.step0.logits"]), "reload mismatch"

    exp = {}
    exp["input_ids"] = inputs["main"]["input_ids"].to(torch.int64)
    exp["pixel_values_u8"] = u8.contiguous()
    if spec["store_pixel_values_f32"]:
        exp["pixel_values"] = pv
    else:
        exp["pixel_values.rows0_8"] = pv[:, :, :8, :].contiguous()
    for k, v in cap.items():
        exp[k] = v.float().contiguous()
    greedy, gaps, beam, beam_score, margins = results["main"]
    exp["greedy_ids"] = greedy.to(torch.int64)
    exp["beam3_ids"] = beam.to(torch.int64)
    exp["beam3_score"] = beam_score.float()
    extra_info = {}
    for key in spec["extra_prompts"]:
        c = capture(model, inputs[key], ids["decoder_start"], False)
        g2, gaps2, b2, bs2, m2 = results[key]
        exp[f"{key}.input_ids"] = inputs[key]["input_ids"].to(torch.int64)
        exp[f"{key}.encoder.inputs_embeds"] = c["encoder.inputs_embeds"].contiguous()
        exp[f"{key}.encoder.last_hidden_state"] = c["encoder.last_hidden_state"].contiguous()
        exp[f"{key}.decoder.step0.logits"] = c["decoder.step0.logits"].contiguous()
        exp[f"{key}.greedy_ids"] = g2.to(torch.int64)
        exp[f"{key}.beam3_ids"] = b2.to(torch.int64)
        exp[f"{key}.beam3_score"] = bs2.float()
        extra_info[key] = dict(
            prompt=prompts[key], input_len=inputs[key]["input_ids"].shape[1],
            greedy_ids=g2[0].tolist(), beam3_ids=b2[0].tolist(),
            greedy_min_gap=min(a for a, _ in gaps2), greedy_min_rel_gap=min(r for _, r in gaps2),
            beam_min_margin=min(m2) if m2 else None,
        )
    save_file(exp, str(d / "expected.safetensors"), metadata={"generator": "make_fixtures.py", "case": name})

    case = dict(
        case=name, seed=seed, base_seed=spec["seed"], image_seed=spec["image_seed"], task=spec["prompt"],
        prompt_text=proc._construct_prompts(spec["prompt"])[0],
        image=dict(source=spec["image"], width=image.width, height=image.height),
        input_size=[size, size], grids=gr, window_size=12, num_image_tokens=n_img,
        input_len=max_len, token_ids=ids,
        vision=dict(spec["vision"], projection_dim=spec["text"]["d_model"]), text=spec["text"],
        init=dict(weights="N(0,1/fan_in)", biases="0.05*N", layernorm="gain 1+0.1N, bias 0.05N",
                  embeddings="N(0,1)", decoder_positions_std=DEC_POS_STD,
                  text_residual_scale=RESID_SCALE, residual_scaled=["out_proj", "fc2"]),
        greedy_kwargs=greedy_kwargs(ids), beam3_kwargs=beam_kwargs(ids),
        greedy_ids=greedy[0].tolist(), beam3_ids=beam[0].tolist(), beam3_score=beam_score.item(),
        greedy_min_gap=min(a for a, _ in gaps), greedy_min_rel_gap=min(r for _, r in gaps),
        greedy_gaps=[round(a, 6) for a, _ in gaps],
        beam_min_margin=min(margins) if margins else None,
        beam_margin_definition="min over beam steps of the accumulated log-prob gaps at the selection "
                               "boundaries: rank 2k-1 vs 2k of all finite candidates, and rank k-1 vs k of "
                               "the non-eos candidates (k = num_beams)",
        extra_prompts=extra_info,
        tensors={k: dict(shape=list(v.shape), dtype=str(v.dtype).replace("torch.", "")) for k, v in exp.items()},
        versions=versions(),
    )
    (d / "case.json").write_text(json.dumps(case, indent=1) + "\n")
    tot = sum(f.stat().st_size for f in d.iterdir())
    print(f"  {name}: greedy {greedy[0].tolist()}\n  beam3 {beam[0].tolist()}\n"
          f"  min greedy gap {case['greedy_min_gap']:.4f} (rel {case['greedy_min_rel_gap']:.4f}), "
          f"beam margin {case['beam_min_margin']}, dir {tot / 1e6:.2f} MB")


def versions():
    import PIL
    import tokenizers

    return dict(python=sys.version.split()[0], torch=torch.__version__, transformers=transformers.__version__,
                tokenizers=tokenizers.__version__, pillow=PIL.__version__, numpy=np.__version__)


def main(argv):
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    OUT.mkdir(parents=True, exist_ok=True)
    which = argv or list(CASES) + ["keys"]
    tok_path = tokenizer_path()
    tok = load_tokenizer(tok_path)
    for name in which:
        if name == "keys":
            import make_keys  # the full-size key lists (make_keys.py)

            make_keys.write_keys()
        else:
            print(f"case {name}")
            make_case(name, CASES[name], tok_path, tok)


if __name__ == "__main__":
    main(sys.argv[1:])
