"""Resumable checkpoints split into parts under 16 MiB (the device tool returns files of 16 MiB at most).

Weights stay f32; Adam's moments are stored in bf16 (halves the size; resuming from them is fine).
Parts are written to temporary names and renamed last, and the index (with sha256 per part) is
written after them, so a run killed mid-save leaves the previous checkpoint intact."""
import hashlib
import io
import json
import os
import pathlib

import torch

PART = 15 * 1024 * 1024 + 512 * 1024


def save(out: pathlib.Path, model, opt, state):
    sd = {k: v.detach().float().cpu().clone() for k, v in model.state_dict().items()}
    osd = opt.state_dict()  # its per-parameter dicts are the optimizer's own: copy, never mutate
    small = lambda k, v: v.to(torch.bfloat16).cpu() if k in ("exp_avg", "exp_avg_sq") else v.cpu()  # noqa: E731
    osd = dict(osd, state={i: {k: small(k, v) for k, v in s.items()} for i, s in osd["state"].items()})
    buf = io.BytesIO()
    torch.save(dict(model=sd, opt=osd, state=state), buf)
    data = buf.getvalue()
    parts = []
    for i in range(0, len(data), PART):
        name = f"ckpt.part{i // PART:02d}"
        tmp = out / (name + ".tmp")
        tmp.write_bytes(data[i:i + PART])
        parts.append(dict(name=name, sha256=hashlib.sha256(data[i:i + PART]).hexdigest()))
    for p in parts:
        os.replace(out / (p["name"] + ".tmp"), out / p["name"])
    (out / "ckpt.json").write_text(json.dumps(dict(parts=parts, bytes=len(data), step=state["step"]), indent=1))


def load_raw(path: pathlib.Path):
    index = json.loads((path / "ckpt.json").read_text())
    chunks = []
    for p in index["parts"]:
        b = (path / p["name"]).read_bytes()
        if hashlib.sha256(b).hexdigest() != p["sha256"]:
            raise SystemExit(f"{path / p['name']}: sha256 mismatch, checkpoint corrupt")
        chunks.append(b)
    return torch.load(io.BytesIO(b"".join(chunks)), map_location="cpu", weights_only=False)


def load(path: pathlib.Path, model, opt, device):
    ck = load_raw(path)
    model.load_state_dict(ck["model"], strict=True)
    if opt is not None and ck["opt"] is not None:  # a weights-only checkpoint restarts Adam
        osd = ck["opt"]
        osd = dict(osd, state={i: {k: (v.float() if k in ("exp_avg", "exp_avg_sq") else v) for k, v in s.items()}
                               for i, s in osd["state"].items()})
        opt.load_state_dict(osd)
    return ck["state"]
