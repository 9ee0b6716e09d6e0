"""The PyTorch peer of `visionllm-bench model`: the reference Florence-2 (transformers 5.x,
`Florence2ForConditionalGeneration`, PyTorch CPU, float32, eval, default attention) on the same
random full-size config, the same image, the same prompt ids, the same decodings, the same thread
count; prints the same fields, one JSON object per decoding (null where a field means nothing on
a CPU: GPU submits, dispatches and bytes).

    python3 crates/bench/pytorch_peer.py --size base [--json] [--image-size 768] [--tokens 20]
                                         [--threads 2] [--runs 1] [--warmup-size 192]
    python3 crates/bench/pytorch_peer.py --size demo [--json] [--threads 2] [--runs 3]
    python3 crates/bench/pytorch_peer.py --size qwen3vl-2b --source DIR --ours OURS.jsonl [--json]
                                         [--tokens 20] [--threads 2] [--runs 1]

`--size qwen3vl-2b` is `visionllm-bench qwen`'s peer: the reference Qwen3VLForConditionalGeneration
loaded from the same random checkpoint (tests/e2e/make_random_checkpoint.py qwen3vl-2b DIR) in
float32, fed the prompt ids and patch grid that our run wrote (`prompt_ids`, `grid` in OURS.jsonl,
so the shapes are the same; the pixel values are random, only time is compared); greedy
`generate` with exactly --tokens new tokens, timed per token by a stopping criterion: the first
token is the vision tower and the prefill, every later one a decode step. The vision tower is also
timed alone.

`--size demo` is `visionllm-bench model --size demo`'s peer: the embedded demo model's own
weights (public/models/demo, Q8 values dequantized exactly by training/demo/read_converted.py),
`<OPEN_VOCABULARY_DETECTION>red circles` on public/examples/scene-1000006020.png, greedy until
eos, one warm-up run, then the median of --runs runs, end to end from the RGB pixels (normalise,
vision, encoder, generate), so `total_ms` compares with ours.

Needs torch and transformers (see README.md); CI never runs it. The weights follow the recipe of
`crates/bench/src/random_model.rs` (same distribution, not the same numbers: only time is
compared): U(-a, a) with variance 1/fan_in, residual branches x0.1, LayerNorm gain 1, biases 0,
row eos of the tied embedding zero so generation never stops early.
"""
import argparse
import json
import os
import resource
import sys
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../.."))
FIX = os.path.join(ROOT, "tests/fixtures/florence2")
TOKENIZER = os.path.join(ROOT, "crates/tasks/tests/fixtures/tokenizer_tiny.json")
OD_PROMPT = "Locate the objects with category name in the image."  # construct_prompt("<OD>")
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
DAMPED = (".conv1.", ".conv2.", ".proj.", ".fc2.", ".out_proj.")


def image(side):
    """random_model::image: red ramp across, green ramp down, 32-pixel blue checkerboard (HWC u8)."""
    import torch
    den = max(side - 1, 1)
    x = torch.arange(side).view(1, side).expand(side, side)
    y = torch.arange(side).view(side, 1).expand(side, side)
    blue = torch.where(((x // 32 + y // 32) % 2) == 0, 0, 255)
    return torch.stack([x * 255 // den, y * 255 // den, blue], dim=-1).to(torch.uint8)


def pixel_values(rgb):
    """The processor's rescale (f64 multiply, stored f32) and f32 normalisation; the image is
    already at the input size, so the bicubic resize is the identity."""
    import torch
    x = (rgb.to(torch.float64) * (1 / 255)).to(torch.float32).permute(2, 0, 1)
    mean = torch.tensor(MEAN, dtype=torch.float32).view(3, 1, 1)
    std = torch.tensor(STD, dtype=torch.float32).view(3, 1, 1)
    return ((x - mean) / std).unsqueeze(0)


def build_model(size, image_token_id, eos):
    import torch
    from transformers import Florence2Config, Florence2ForConditionalGeneration
    with open(os.path.join(FIX, f"config_{size}.json")) as f:
        cfg = json.load(f)
    cfg["image_token_id"] = image_token_id
    model = Florence2ForConditionalGeneration._from_config(Florence2Config.from_dict(cfg)).float().eval()
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in model.named_parameters():  # tied weights are visited once
            last = name.rsplit(".", 2)[-2] if name.count(".") else name
            if name.endswith(".weight") and "norm" in last:
                p.fill_(1.0)
            elif name.endswith(".bias"):
                p.zero_()
            else:
                fan_in = max(1, p[0].numel()) if p.dim() > 1 else 1
                a = (3.0 / fan_in) ** 0.5 * (0.1 if any(k in name for k in DAMPED) else 1.0)
                p.uniform_(-a, a, generator=gen)
        model.model.language_model.shared.weight[eos].zero_()
    return model


def generation_config(decoding, tokens, t):
    from transformers import GenerationConfig
    ids = dict(decoder_start_token_id=t["decoder_start"], bos_token_id=t["bos"], eos_token_id=t["eos"], pad_token_id=t["pad"])
    if decoding == "greedy":
        return GenerationConfig(num_beams=1, do_sample=False, max_new_tokens=tokens, no_repeat_ngram_size=0,
                                forced_bos_token_id=None, forced_eos_token_id=None, early_stopping=False, **ids)
    return GenerationConfig(num_beams=3, do_sample=False, max_new_tokens=tokens, no_repeat_ngram_size=3,
                            early_stopping=True, length_penalty=1.0, num_return_sequences=1,
                            forced_bos_token_id=t["bos"], forced_eos_token_id=t["eos"], **ids)


def measure(model, side, prompt_ids, t, tokens, decodings):
    """Vision + projector, encoder, then generate() from the encoder's output, each timed alone."""
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList
    from transformers.modeling_outputs import BaseModelOutput

    class StepClock(StoppingCriteria):  # called once per generated token: per-step times
        def __init__(self):
            self.times = []

        def __call__(self, input_ids, scores, **kwargs):
            self.times.append(time.perf_counter())
            return torch.zeros(input_ids.shape[0], dtype=torch.bool)

    with torch.inference_mode():
        pixels = pixel_values(image(side))
        t0 = time.perf_counter()
        features = model.model.get_image_features(pixels)
        features = features if torch.is_tensor(features) else features.pooler_output
        vision_ms = (time.perf_counter() - t0) * 1000
        n_image = features.shape[-2]
        input_ids = torch.tensor([[t["image"]] * n_image + prompt_ids])
        mask = torch.ones_like(input_ids)
        out = {}
        for decoding in decodings:
            t0 = time.perf_counter()
            embeds = model.get_input_embeddings()(input_ids)
            embeds = embeds.masked_scatter((input_ids == t["image"]).unsqueeze(-1).expand_as(embeds), features.to(embeds.dtype))
            encoded = model.model.get_encoder()(inputs_embeds=embeds, attention_mask=mask).last_hidden_state
            encoder_ms = (time.perf_counter() - t0) * 1000
            clock = StepClock()
            t0 = time.perf_counter()
            seq = model.generate(encoder_outputs=BaseModelOutput(last_hidden_state=encoded), attention_mask=mask,
                                 generation_config=generation_config(decoding, tokens, t),
                                 stopping_criteria=StoppingCriteriaList([clock]))
            decode_ms = (time.perf_counter() - t0) * 1000
            new = seq.shape[-1] - 1
            out[decoding] = dict(vision_ms=vision_ms, encoder_ms=encoder_ms, tokens=new,
                                 decode_ms_per_token=decode_ms / max(new, 1),
                                 first_step_ms=(clock.times[0] - t0) * 1000 if clock.times else None,
                                 prompt_tokens=input_ids.shape[-1])
        return out


def demo(args):
    """The demo model, greedy, end to end from the scene's RGB pixels (see the module docs)."""
    import statistics
    import torch
    import transformers
    from PIL import Image
    from tokenizers import Tokenizer
    sys.path.insert(0, os.path.join(ROOT, "training/demo"))
    from read_converted import load_converted
    torch.set_num_threads(args.threads)
    model_dir = os.path.join(ROOT, "public/models/demo")
    model, config = load_converted(model_dir)
    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    t = dict(bos=tok.token_to_id("<s>"), pad=tok.token_to_id("<pad>"), eos=tok.token_to_id("</s>"), image=config.image_token_id)
    t["decoder_start"] = t["eos"]
    prompt_ids = tok.encode("<s>Locate red circles in the image.</s>", add_special_tokens=False).ids
    rgb = torch.from_numpy(__import__("numpy").asarray(Image.open(os.path.join(ROOT, "public/examples/scene-1000006020.png")).convert("RGB")).copy())

    def once():
        with torch.inference_mode():
            t0 = time.perf_counter()
            pixels = pixel_values(rgb)
            features = model.model.get_image_features(pixels)
            features = features if torch.is_tensor(features) else features.pooler_output
            t1 = time.perf_counter()
            input_ids = torch.tensor([[t["image"]] * features.shape[-2] + prompt_ids])
            embeds = model.get_input_embeddings()(input_ids)
            embeds = embeds.masked_scatter((input_ids == t["image"]).unsqueeze(-1).expand_as(embeds), features.to(embeds.dtype))
            mask = torch.ones_like(input_ids)
            from transformers.modeling_outputs import BaseModelOutput
            encoded = model.model.get_encoder()(inputs_embeds=embeds, attention_mask=mask).last_hidden_state
            t2 = time.perf_counter()
            seq = model.generate(encoder_outputs=BaseModelOutput(last_hidden_state=encoded), attention_mask=mask,
                                 generation_config=generation_config("greedy", 1024, t))
            t3 = time.perf_counter()
        new = seq.shape[-1] - 1
        return dict(vision_ms=(t1 - t0) * 1000, encoder_ms=(t2 - t1) * 1000, decode_ms_per_token=(t3 - t2) * 1000 / max(new, 1),
                    total_ms=(t3 - t0) * 1000, tokens=new, ids=seq[0].tolist())

    once()
    rows = [once() for _ in range(args.runs)]
    out = {
        "adapter": f"PyTorch {torch.__version__} CPU, {args.threads} threads",
        "image": 224,
        **{k: round(statistics.median(r[k] for r in rows), 3) for k in ("vision_ms", "encoder_ms", "decode_ms_per_token", "total_ms")},
        "tokens": rows[0]["tokens"],
        "token_ids": rows[0]["ids"],
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "precision": "f32/f32 (Q8 values)",
        "decoding": "greedy",
        "model": f"demo (public/models/demo), transformers {transformers.__version__}",
        "runs": len(rows),
    }
    print(json.dumps(out) if args.json else "\n".join(f"  {k:<22} {v}" for k, v in out.items()))


def qwen(args):
    """Qwen3-VL-2B, greedy, on our prompt and grid (see the module docs)."""
    import statistics
    import torch
    import transformers
    from transformers import Qwen3VLForConditionalGeneration, StoppingCriteria, StoppingCriteriaList
    torch.set_num_threads(args.threads)
    ours = [json.loads(l) for l in open(args.ours) if l.strip().startswith("{")][-1]
    prompt_ids, (gt, gh, gw) = ours["prompt_ids"], ours["grid"]
    start = time.perf_counter()
    model = Qwen3VLForConditionalGeneration.from_pretrained(args.source, dtype=torch.float32).eval()
    print(f"loaded {args.source} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    v = model.config.vision_config
    patch_len = v.in_channels * v.temporal_patch_size * v.patch_size * v.patch_size
    gen = torch.Generator().manual_seed(0)
    pixel_values = torch.randn(gt * gh * gw, patch_len, generator=gen)
    grid_thw = torch.tensor([[gt, gh, gw]])
    input_ids = torch.tensor([prompt_ids])
    mask = torch.ones_like(input_ids)

    class StepClock(StoppingCriteria):  # called once per generated token
        def __init__(self):
            self.times = []

        def __call__(self, input_ids, scores, **kwargs):
            self.times.append(time.perf_counter())
            return torch.zeros(input_ids.shape[0], dtype=torch.bool)

    def once(tokens):
        with torch.inference_mode():
            t0 = time.perf_counter()
            model.model.get_image_features(pixel_values=pixel_values, image_grid_thw=grid_thw)
            vision_ms = (time.perf_counter() - t0) * 1000
            clock = StepClock()
            t0 = time.perf_counter()
            seq = model.generate(input_ids=input_ids, attention_mask=mask, pixel_values=pixel_values, image_grid_thw=grid_thw,
                                 max_new_tokens=tokens, min_new_tokens=tokens, do_sample=False, num_beams=1,
                                 stopping_criteria=StoppingCriteriaList([clock]))
        first = (clock.times[0] - t0) * 1000
        steps = len(clock.times) - 1
        return dict(vision_ms=vision_ms, first_token_ms=first, prefill_ms=first - vision_ms,
                    decode_ms_per_token=(clock.times[-1] - clock.times[0]) * 1000 / max(steps, 1),
                    tokens=seq.shape[-1] - input_ids.shape[-1])

    once(2)
    rows = [once(args.tokens) for _ in range(args.runs)]
    out = {
        "model": f"qwen3vl-2b (random weights), transformers {transformers.__version__}",
        "adapter": f"PyTorch {torch.__version__} CPU, {args.threads} threads",
        "threads": args.threads,
        "precision": "f32/f32",
        "decoding": "greedy",
        "image": ours["image"],
        "grid": [gt, gh, gw],
        "prompt_tokens": len(prompt_ids),
        **{k: round(statistics.median(r[k] for r in rows), 3) for k in ("vision_ms", "first_token_ms", "prefill_ms", "decode_ms_per_token")},
        "tokens": rows[0]["tokens"],
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "runs": len(rows),
    }
    print(json.dumps(out) if args.json else "\n".join(f"  {k:<22} {v}" for k, v in out.items()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="base", choices=["base", "large", "demo", "qwen3vl-2b"])
    ap.add_argument("--source", help="qwen3vl-2b: the random checkpoint directory")
    ap.add_argument("--ours", help="qwen3vl-2b: our JSON line (prompt_ids, grid, image)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--image-size", type=int, default=768)
    ap.add_argument("--tokens", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--warmup-size", type=int, default=192, help="input side of the untimed warm-up (0: none)")
    args = ap.parse_args()
    if args.size == "demo":
        return demo(args)
    if args.size == "qwen3vl-2b":
        if not (args.source and args.ours):
            ap.error("--size qwen3vl-2b needs --source DIR and --ours FILE")
        return qwen(args)

    import statistics
    import torch
    import transformers
    from tokenizers import Tokenizer
    torch.set_num_threads(args.threads)
    tok = Tokenizer.from_file(TOKENIZER)
    t = dict(bos=tok.token_to_id("<s>"), pad=tok.token_to_id("<pad>"), eos=tok.token_to_id("</s>"),
             image=tok.token_to_id("<image>"))
    t["decoder_start"] = t["eos"]
    prompt_ids = tok.encode(f"<s>{OD_PROMPT}</s>", add_special_tokens=False).ids  # as encode_prompt
    start = time.perf_counter()
    model = build_model(args.size, t["image"], t["eos"])
    print(f"random {args.size} model in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    decodings = ["greedy", "beam3"]
    if args.warmup_size:
        measure(model, args.warmup_size, prompt_ids, t, 2, decodings)
    runs = [measure(model, args.image_size, prompt_ids, t, args.tokens, decodings) for _ in range(args.runs)]
    for decoding in decodings:
        rows = [r[decoding] for r in runs]
        med = {k: statistics.median(r[k] for r in rows) for k in ("vision_ms", "encoder_ms", "decode_ms_per_token", "first_step_ms")}
        out = {
            "adapter": f"PyTorch {torch.__version__} CPU, {args.threads} threads",
            "image": args.image_size,
            **{k: round(v, 3) for k, v in med.items()},
            "tokens": rows[0]["tokens"],
            "submits_per_token": None,
            "dispatches_per_token": None,
            "peak_device_bytes": None,
            "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "precision": "f32/f32",
            "decoding": decoding,
            "model": f"florence2-{args.size} (random weights), transformers {transformers.__version__}",
            "prompt_tokens": rows[0]["prompt_tokens"],
            "runs": len(rows),
        }
        if args.json:
            print(json.dumps(out))
        else:
            print("\n".join([f"{out['model']} on {out['adapter']}"] + [f"  {k:<22} {v}" for k, v in out.items() if k not in ("model", "adapter")]))


if __name__ == "__main__":
    main()
