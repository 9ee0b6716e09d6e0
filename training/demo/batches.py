"""Training batches: scenes -> (pixel values, prompt ids, answer ids) for the multi-task mix."""
import numpy as np
import torch

import scenes

PROMPTS = {
    "od": "Locate the objects with category name in the image.",
    "caption": "What does the image describe?",
    "grounding": "Locate the phrases in the caption: {}",
    "ovd": "Locate {} in the image.",
    "res": "Locate {} in the image with mask",
}
# Detection first (the priority order), then grounding/open vocabulary, segmentation, caption.
TASK_MIX = [("od", 0.35), ("ovd", 0.2), ("grounding", 0.15), ("res", 0.2), ("caption", 0.1)]
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


class Encoder:
    """Token ids for prompts and answers; text pieces are cached (the scene language is small)."""

    def __init__(self, tok, num_image_tokens):
        self.tok = tok
        self.loc0 = tok.token_to_id("<loc_0>")
        self.image = tok.token_to_id("<image>")
        self.num_image_tokens = num_image_tokens
        self.cache = {}

    def prompt(self, text):
        ids = self.cache.get(("p", text))
        if ids is None:
            ids = self.tok.encode(text).ids  # <s> ... </s> from the post-processor
            self.cache[("p", text)] = ids
        return [self.image] * self.num_image_tokens + ids

    def piece(self, text):
        ids = self.cache.get(text)
        if ids is None:
            ids = self.tok.encode(text, add_special_tokens=False).ids
            self.cache[text] = ids
        return ids

    def answer(self, text):
        """<s> answer </s>, the answer split into text pieces and <loc_k> ids."""
        out = [0]
        i = 0
        while i < len(text):
            j = text.find("<loc_", i)
            if j < 0:
                out += self.piece(text[i:])
                break
            if j > i:
                out += self.piece(text[i:j])
            k = text.index(">", j)
            out.append(self.loc0 + int(text[j + 5:k]))
            i = k + 1
        return out + [2]


def curriculum(progress):
    """(n_max, r_range) by training progress in [0, 1]: one big object first, the eval mix from 40%."""
    if progress < 0.08:
        return 1, (0.12, 0.2)
    if progress < 0.2:
        return 2, (0.09, 0.2)
    if progress < 0.4:
        return 3, (0.07, 0.2)
    return 4, (0.07, 0.2)


def pick_task(rng, scene):
    names, probs = zip(*TASK_MIX)
    task = names[rng.choice(len(names), p=probs)]
    if task == "res":
        exprs = scenes.referring_expressions(scene)
        if not exprs:
            return "od", None, scenes.od_answer(scene)
        expr, shape = exprs[rng.integers(len(exprs))]
        return task, expr, scenes.res_answer(scene, shape)
    if task == "ovd":
        present = sorted({s.name for s in scene.shapes})
        if rng.random() < 0.6:  # mostly queries that hit something, in all four forms
            colour, shape = present[rng.integers(len(present))].split()
            query = [f"{colour} {shape}s", f"{colour} {shape}", f"{shape}s", f"{colour} shapes"][rng.integers(4)]
        else:
            qs = scenes.ovd_queries()
            query = qs[rng.integers(len(qs))]
        return task, query, scenes.ovd_answer(scene, query)
    if task == "grounding":
        cap = scenes.caption(scene)
        return task, cap, scenes.grounding_answer(scene)
    if task == "caption":
        return task, None, scenes.caption(scene)
    return "od", None, scenes.od_answer(scene)


def cpu_batch(rng, enc, batch, progress):
    """The CPU half of a batch: scenes and token ids (picklable, so worker processes can make it)."""
    n_max, r_range = curriculum(progress)
    scs = [scenes.sample_scene(rng, 1, n_max, r_range=r_range) for _ in range(batch)]
    prompts, answers, tasks = [], [], []
    for sc in scs:
        task, arg, answer = pick_task(rng, sc)
        text = PROMPTS[task].format(arg) if arg is not None else PROMPTS[task]
        prompts.append(enc.prompt(text))
        answers.append(enc.answer(answer))
        tasks.append(task)
    return scs, prompts, answers, tasks


def gpu_batch(part, device, generator=None):
    """The device half: render and normalise the scenes, pad the ids."""
    scs, prompts, answers, tasks = part
    pixels = scenes.render(scs, device, generator)
    pixels = (pixels / 255.0 - MEAN.to(device)) / STD.to(device)
    return pixels, pad(prompts, 1, device), pad(answers, -100, device), tasks


def make_batch(rng, enc, batch, progress, device, generator=None):
    return gpu_batch(cpu_batch(rng, enc, batch, progress), device, generator)


_WORKER = {}


def _worker_init(tokenizer_path, num_image_tokens):
    from tokenizers import Tokenizer
    _WORKER["enc"] = Encoder(Tokenizer.from_file(tokenizer_path), num_image_tokens)


def _worker_job(seed, batch, progress):
    return cpu_batch(np.random.default_rng(seed), _WORKER["enc"], batch, progress)


class Prefetcher:
    """CPU halves made ahead by a process pool; batch i is drawn from the seed (seed, i), so a run
    is the same whether or not workers are used (given the same progress values)."""

    def __init__(self, workers, tokenizer_path, num_image_tokens, seed, batch, depth=12):
        import multiprocessing as mp
        self.seed, self.batch, self.depth = seed, batch, depth
        self.pool = mp.get_context("fork").Pool(workers, _worker_init, (tokenizer_path, num_image_tokens))
        self.pending = []

    def next(self, index, progress):
        while len(self.pending) < self.depth:
            i = index + len(self.pending)
            self.pending.append(self.pool.apply_async(_worker_job, ([self.seed, i], self.batch, progress)))
        return self.pending.pop(0).get()

    def close(self):
        self.pool.terminate()


def pad(seqs, value, device):
    n = max(len(s) for s in seqs)
    out = np.full((len(seqs), n), value, dtype=np.int64)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = s
    t = torch.from_numpy(out)
    if str(device).startswith("cuda"):
        t = t.pin_memory()
    return t.to(device, non_blocking=True)
