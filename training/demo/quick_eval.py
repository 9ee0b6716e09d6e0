"""A quick in-training check on fresh scenes (eval seeds), greedy decoding through transformers.

Not the project's metric (that is `visionllm eval`, on our engine, with real AP); this prints
detection F1@0.5, referring-segmentation mIoU and caption exact match so a run can be judged
where it ran."""
import re

import numpy as np
import torch
from PIL import Image, ImageDraw

import batches
import scenes

BOX = re.compile(r"([^<]*)<loc_(\d+)><loc_(\d+)><loc_(\d+)><loc_(\d+)>")
OCR_LINE = re.compile(r"([^<]+)((?:<loc_\d+>){8})")


def dequant(v, size=scenes.SIZE):
    return (int(v) + 0.5) * size / 1000


def parse_boxes(text):
    return [(m.group(1).strip(), [dequant(m.group(i)) for i in range(2, 6)]) for m in BOX.finditer(text)]


def parse_polygon(text):
    vals = [dequant(v) for v in re.findall(r"<loc_(\d+)>", text)]
    return list(zip(vals[0::2], vals[1::2]))


def poly_mask(points, size=scenes.SIZE):
    img = Image.new("L", (size, size), 0)
    if len(points) >= 3:
        ImageDraw.Draw(img).polygon(points, fill=1)
    return np.array(img, dtype=bool)


def shape_mask(shape, size=scenes.SIZE):
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    if shape.kind == 0:
        return (xx - shape.cx) ** 2 + (yy - shape.cy) ** 2 <= shape.r ** 2
    return poly_mask([tuple(v) for v in shape.verts], size)


@torch.no_grad()
def generate(model, enc, tok, device, pixels, prompts, max_new=64):
    ids = batches.pad([enc.prompt(p) for p in prompts], 1, device)
    out = model.generate(input_ids=ids, pixel_values=pixels, attention_mask=(ids != 1).long(),
                         max_new_tokens=max_new, num_beams=1, do_sample=False)
    texts = tok.decode_batch(out.tolist(), skip_special_tokens=False)
    return [t.replace("<s>", "").replace("</s>", "").replace("<pad>", "") for t in texts]


def evaluate(model, enc, tok, device, n=200, batch=50):
    rng = np.random.default_rng(scenes.EVAL_SEED_BASE)
    tp = fp = fn = 0
    ious, cap_ok, cap_n = [], 0, 0
    for start in range(0, n, batch):
        scs = [scenes.sample_scene(rng) for _ in range(min(batch, n - start))]
        pixels = (scenes.render(scs, device) / 255.0 - batches.MEAN.to(device)) / batches.STD.to(device)
        od = generate(model, enc, tok, device, pixels, [batches.PROMPTS["od"]] * len(scs))
        for sc, text in zip(scs, od):
            preds, used = parse_boxes(text), set()
            for s in sc.shapes:
                best = None
                for j, (label, box) in enumerate(preds):
                    if j not in used and label == s.name and scenes.iou(box, s.box) >= 0.5:
                        best = j
                        break
                if best is None:
                    fn += 1
                else:
                    used.add(best)
                    tp += 1
            fp += len(preds) - len(used)
        caps = generate(model, enc, tok, device, pixels, [batches.PROMPTS["caption"]] * len(scs))
        for sc, text in zip(scs, caps):
            cap_ok += text.strip() == scenes.caption(sc)
            cap_n += 1
        picks = [(i, scenes.referring_expressions(sc)) for i, sc in enumerate(scs)]
        picks = [(i, e[0]) for i, e in picks if e]
        if picks:
            res = generate(model, enc, tok, device, pixels[[i for i, _ in picks]],
                           [batches.PROMPTS["res"].format(e) for _, (e, _s) in picks])
            for (_, (_e, shape)), text in zip(picks, res):
                pm, gm = poly_mask(parse_polygon(text)), shape_mask(shape)
                union = (pm | gm).sum()
                ious.append(float((pm & gm).sum() / union) if union else 0.0)
    f1 = 2 * tp / max(1, 2 * tp + fp + fn)
    return dict(n=n, od_f1_50=round(f1, 4), od_tp=tp, od_fp=fp, od_fn=fn,
                res_miou=round(float(np.mean(ious)), 4) if ious else None,
                caption_exact=round(cap_ok / max(1, cap_n), 4), **ocr_accuracy(model, enc, tok, device, n // 2, batch))


def ocr_accuracy(model, enc, tok, device, n, batch):
    """<OCR_WITH_REGION> on `n` fresh scenes with 1-2 words: the share of true words read with their
    exact text (one to one by text; `visionllm eval` also matches boxes)."""
    if n <= 0:
        return {}
    rng = np.random.default_rng(scenes.EVAL_SEED_BASE + 1)
    read = total = 0
    for start in range(0, n, batch):
        scs = [scenes.sample_scene(rng, w_min=1, w_max=2) for _ in range(min(batch, n - start))]
        pixels = (scenes.render(scs, device) / 255.0 - batches.MEAN.to(device)) / batches.STD.to(device)
        for sc, text in zip(scs, generate(model, enc, tok, device, pixels, [batches.PROMPTS["ocr_region"]] * len(scs))):
            got = [m.group(1).strip() for m in OCR_LINE.finditer(text)]
            for w in sc.words:
                total += 1
                if w.text in got:
                    got.remove(w.text)
                    read += 1
    return dict(ocr_words=total, ocr_word_accuracy=round(read / max(1, total), 4))
