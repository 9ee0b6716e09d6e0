"""Train the demo Florence-2 on synthetic scenes (issue 7). Seeded, resumable, CPU or CUDA.

The model is the reference implementation itself (transformers' Florence2ForConditionalGeneration)
with a tiny config, so the checkpoint runs unchanged in our engine. What makes it learn fast (a
sequence-to-sequence detector from scratch otherwise sits on a long plateau):
- a curriculum (one big object first, the evaluation mix from 40% of the run);
- loc-token embeddings initialised as smooth sinusoids of the bin index (tied to the output layer,
  so neighbouring bins start with neighbouring logits);
- Gaussian target smoothing over neighbouring loc bins (dense signal for "almost right" coordinates),
  its width annealed from 6 bins to 1.5;
- large batches, AdamW with warmup and cosine decay, bf16 autocast on CUDA and on CPUs with native
  bf16 (AMX or AVX512-BF16: 1.8x the f32 step on this project's 2-core machine).

Usage:
  python3 training/demo/train.py --out DIR [--time-budget SECONDS | --steps N] [--resume DIR]
                                 [--init-weights public/models/demo]   (continue from the shipped model)
                                 [--mix round1|round2]   (round2: issue 17's mix, with words and OCR)
The schedule (learning rate, curriculum, smoothing) follows progress = elapsed/budget with
--time-budget, or step/N with --steps; DIR/record.json says which, and how many steps ran where.
"""
import argparse
import json
import math
import os
import pathlib
import platform
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import batches  # noqa: E402
import checkpoint  # noqa: E402
import quick_eval  # noqa: E402
from model_config import NUM_IMAGE_TOKENS, build_model  # noqa: E402


def loc_smoothed_loss(logits, labels, loc0, sigma, alpha, radius=12):
    """Cross-entropy; at loc targets, (1-alpha)*NLL + alpha*(Gaussian-smoothed CE over nearby bins)."""
    logp = F.log_softmax(logits.float(), dim=-1)
    valid = labels >= 0
    tgt = labels.clamp(min=0)
    nll = -logp.gather(-1, tgt.unsqueeze(-1)).squeeze(-1)
    is_loc = valid & (tgt >= loc0) & (tgt < loc0 + 1000)
    offs = torch.arange(-radius, radius + 1, device=logits.device)
    w = torch.exp(-(offs.float() ** 2) / (2 * sigma * sigma))
    w = w / w.sum()
    bins = (tgt - loc0).unsqueeze(-1) + offs
    idx = loc0 + bins.clamp(0, 999)
    smooth = -(logp.gather(-1, torch.where(is_loc.unsqueeze(-1), idx, tgt.unsqueeze(-1))) * w).sum(-1)
    per_tok = torch.where(is_loc, (1 - alpha) * nll + alpha * smooth, nll)
    return (per_tok * valid).sum() / valid.sum().clamp(min=1), (nll * valid).sum() / valid.sum().clamp(min=1)


def bf16_autocast(device):
    """Whether bf16 autocast pays here: always on CUDA; on a CPU only with native bf16 matmuls
    (emulated bf16 is slower than f32)."""
    if device == "cuda":
        return True
    cpu = getattr(torch, "cpu", None)
    return any(getattr(cpu, name, lambda: False)() for name in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"))


def lr_at(progress, peak, warmup=0.04, floor=0.05):
    if progress < warmup:
        return peak * progress / warmup
    p = (progress - warmup) / (1 - warmup)
    return peak * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(p, 1.0))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--tokenizer", default=str(HERE / "tokenizer.json"))
    ap.add_argument("--time-budget", type=float, default=None, help="seconds of training")
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=8e-4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--resume", default=None, help="a checkpoint directory written by this script")
    ap.add_argument("--init-weights", default=None,
                    help="start from a converted model (e.g. public/models/demo): Q8/Q4 dequantized, fresh Adam")
    ap.add_argument("--save-every", type=float, default=120.0, help="seconds between checkpoints")
    ap.add_argument("--eval-n", type=int, default=200)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--log-every", type=int, default=25)
    ap.add_argument("--workers", type=int, default=0, help="processes making batches ahead (0: inline)")
    ap.add_argument("--mix", default="round1", choices=sorted(batches.MIXES),
                    help="round1: issue 7's mix with its curriculum; round2: issue 17's (words and OCR, "
                         "many instances of one class, polygons, captions up; no curriculum)")
    args = ap.parse_args()
    assert (args.time_budget is None) != (args.steps is None), "give exactly one of --time-budget / --steps"
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.threads:
        torch.set_num_threads(args.threads)

    # The pool forks before CUDA is initialised.
    prefetch = None
    if args.workers > 0:
        prefetch = batches.Prefetcher(args.workers, args.tokenizer, NUM_IMAGE_TOKENS, args.seed, args.batch, mix_name=args.mix)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    torch.backends.cudnn.benchmark = True
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(args.tokenizer)
    model, cfg = build_model(tok, seed=args.seed)
    model.to(device).train()
    enc = batches.Encoder(tok, cfg["num_image_tokens"])
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.98), weight_decay=0.05,
                            fused=device == "cuda")
    state = dict(step=0, samples=0, seconds=0.0, runs=[])
    if args.init_weights:
        import read_converted
        missing, unexpected = model.load_state_dict(read_converted.read(args.init_weights), strict=False)
        tied = {"lm_head.weight", "model.language_model.encoder.embed_tokens.weight",
                "model.language_model.decoder.embed_tokens.weight"}  # all share language_model.shared
        assert not unexpected and set(missing) <= tied, (missing, unexpected)
        print(f"initialised from {args.init_weights}", flush=True)
    if args.resume:
        state = checkpoint.load(pathlib.Path(args.resume), model, opt, device)
        print(f"resumed at step {state['step']} ({state['samples']} samples)", flush=True)
    n_params = sum(p.numel() for p in model.parameters())
    hw = torch.cuda.get_device_name() if device == "cuda" else f"{platform.processor() or 'cpu'} x{torch.get_num_threads()}"
    bf16 = bf16_autocast(device)
    print(f"params {n_params:,} device {hw} batch {args.batch} bf16 {bf16}", flush=True)

    gen = torch.Generator(device=device).manual_seed(args.seed * 1_000_003 + state["step"])
    loc0 = enc.loc0
    start_step, t0, last_save = state["step"], time.time(), time.time()
    base_seconds = state.get("seconds", 0.0)
    run = dict(device=hw, start_step=start_step, batch=args.batch, lr=args.lr, mix=args.mix, bf16=bf16,
               schedule=f"time {args.time_budget}s" if args.time_budget else f"steps {args.steps}")
    log = open(out / "train.log", "a")
    try:
        while True:
            elapsed = time.time() - t0
            if args.time_budget is not None:
                progress = elapsed / args.time_budget
            else:
                progress = (state["step"] - start_step) / args.steps
            if progress >= 1.0:
                break
            lr = lr_at(progress, args.lr)
            for g in opt.param_groups:
                g["lr"] = lr
            sigma = 6.0 - 4.5 * progress
            alpha = 0.6 - 0.3 * progress
            if prefetch is not None:
                part = prefetch.next(state["step"], progress)
            else:
                part = batches.cpu_batch(np.random.default_rng([args.seed, state["step"]]), enc, args.batch, progress, args.mix)
            pixels, prompt_ids, labels, _ = batches.gpu_batch(part, device, gen)
            dec_in = torch.cat([torch.full_like(labels[:, :1], 2), labels[:, :-1]], dim=1)
            dec_in = torch.where(dec_in < 0, torch.ones_like(dec_in), dec_in)
            with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=bf16):
                outp = model(input_ids=prompt_ids, pixel_values=pixels, attention_mask=(prompt_ids != 1).long(),
                             decoder_input_ids=dec_in, use_cache=False)
            loss, nll = loc_smoothed_loss(outp.logits, labels, loc0, sigma, alpha)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            state["step"] += 1
            state["samples"] += args.batch
            if state["step"] % args.log_every == 0 or state["step"] == start_step + 1:
                msg = (f"step {state['step']} t {time.time() - t0:.0f}s progress {progress:.3f} lr {lr:.2e} "
                       f"loss {loss.item():.4f} nll {nll.item():.4f} samples/s "
                       f"{(state['step'] - start_step) * args.batch / (time.time() - t0):.0f}")
                print(msg, flush=True)
                log.write(msg + "\n")
                log.flush()
            if time.time() - last_save > args.save_every:
                state["seconds"] = base_seconds + time.time() - t0
                checkpoint.save(out, model, opt, state)
                last_save = time.time()
    finally:
        if prefetch is not None:
            prefetch.close()
        state["seconds"] = base_seconds + time.time() - t0
        run.update(end_step=state["step"], seconds=round(time.time() - t0, 1))
        state["runs"] = state.get("runs", []) + [run]
        checkpoint.save(out, model, opt, state)
        print(f"saved step {state['step']} to {out}", flush=True)
    model.eval()
    try:
        metrics = quick_eval.evaluate(model, enc, tok, device, n=args.eval_n)
    except Exception as e:  # the checkpoint is already saved; a broken check must not lose the record
        metrics = dict(error=repr(e))
    print(json.dumps(metrics), flush=True)
    record = dict(state=state, metrics=metrics, params=n_params, config=cfg,
                  torch=torch.__version__, python=sys.version.split()[0])
    import transformers
    record["transformers"] = transformers.__version__
    (out / "record.json").write_text(json.dumps(record, indent=1, default=str))


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
