"""Training batches: scenes -> (pixel values, prompt ids, answer ids) for the multi-task mix."""
import numpy as np
import torch

import scene_words
import scenes

PROMPTS = {
    "od": "Locate the objects with category name in the image.",
    "caption": "What does the image describe?",
    "grounding": "Locate the phrases in the caption: {}",
    "ovd": "Locate {} in the image.",
    "res": "Locate {} in the image with mask",
    "ocr": "What is the text in the image?",
    "ocr_region": "What is the text in the image, with regions?",
}
# Detection first (the priority order), then grounding/open vocabulary, segmentation, caption.
TASK_MIX = [("od", 0.35), ("ovd", 0.2), ("grounding", 0.15), ("res", 0.2), ("caption", 0.1)]


class Mix:
    """What a run trains on: the task shares and the scenes. Round 1 (issue 7) is the default;
    round 2 (issue 17) continues from the shipped model: words on two thirds of the scenes (OCR),
    a quarter of the scenes with 3-4 instances of one class (multi-instance recall), referring
    segmentation mostly on polygons (rotation), captions weighted up, and the full scene mix from
    the first step (the curriculum is for a model that starts from nothing)."""

    def __init__(self, name, tasks, w_max=0, same_class=0.0, res_polygons=0.0, curriculum=True):
        self.name, self.tasks, self.w_max = name, tasks, w_max
        self.same_class, self.res_polygons, self.curriculum = same_class, res_polygons, curriculum


MIXES = {
    "round1": Mix("round1", TASK_MIX),
    "round2": Mix("round2", [("od", 0.22), ("ovd", 0.12), ("grounding", 0.1), ("res", 0.2), ("caption", 0.16),
                             ("ocr", 0.08), ("ocr_region", 0.12)],
                  w_max=2, same_class=0.25, res_polygons=0.7, curriculum=False),
}
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


def pick_task(rng, scene, mix=MIXES["round1"]):
    names, probs = zip(*mix.tasks)
    task = names[rng.choice(len(names), p=probs)]
    if task in ("ocr", "ocr_region"):
        if not scene.words:
            return "od", None, scenes.od_answer(scene)
        answer = scene_words.ocr_answer if task == "ocr" else scene_words.ocr_with_region_answer
        return task, None, answer(scene.words, scene.size)
    if task == "res":
        exprs = scenes.referring_expressions(scene)
        if not exprs:
            return "od", None, scenes.od_answer(scene)
        polygons = [e for e in exprs if e[1].kind != 0]
        if polygons and rng.random() < mix.res_polygons:
            exprs = polygons  # a rotated square, triangle or star rather than a circle
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


def sample_training_scene(rng, mix, n_max, r_range):
    if mix.same_class and rng.random() < mix.same_class:
        n = int(rng.integers(3, 5))
        shapes = scenes.sample_shapes(rng, n, scenes.SIZE, r_range, klass=(int(rng.integers(4)), int(rng.integers(4))))
        sc = scenes.Scene(shapes, scenes.sample_background(rng))
        if mix.w_max:
            sc.words = scene_words.sample_words(rng, int(rng.integers(0, mix.w_max + 1)), [s.box for s in shapes], scenes.SIZE)
        return sc
    return scenes.sample_scene(rng, 1, n_max, r_range=r_range, w_max=mix.w_max)


def cpu_batch(rng, enc, batch, progress, mix_name="round1"):
    """The CPU half of a batch: scenes and token ids (picklable, so worker processes can make it)."""
    mix = MIXES[mix_name]
    n_max, r_range = curriculum(progress) if mix.curriculum else curriculum(1.0)
    scs = [sample_training_scene(rng, mix, n_max, r_range) for _ in range(batch)]
    prompts, answers, tasks = [], [], []
    for sc in scs:
        task, arg, answer = pick_task(rng, sc, mix)
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


def make_batch(rng, enc, batch, progress, device, generator=None, mix_name="round1"):
    return gpu_batch(cpu_batch(rng, enc, batch, progress, mix_name), device, generator)


_WORKER = {}


def _worker_init(tokenizer_path, num_image_tokens):
    from tokenizers import Tokenizer
    _WORKER["enc"] = Encoder(Tokenizer.from_file(tokenizer_path), num_image_tokens)


def _worker_job(seed, batch, progress, mix_name):
    return cpu_batch(np.random.default_rng(seed), _WORKER["enc"], batch, progress, mix_name)


class Prefetcher:
    """CPU halves made ahead by a process pool; batch i is drawn from the seed (seed, i), so a run
    is the same whether or not workers are used (given the same progress values)."""

    def __init__(self, workers, tokenizer_path, num_image_tokens, seed, batch, depth=12, mix_name="round1"):
        import multiprocessing as mp
        self.seed, self.batch, self.depth, self.mix_name = seed, batch, depth, mix_name
        self.pool = mp.get_context("fork").Pool(workers, _worker_init, (tokenizer_path, num_image_tokens))
        self.pending = []

    def next(self, index, progress):
        while len(self.pending) < self.depth:
            i = index + len(self.pending)
            self.pending.append(self.pool.apply_async(_worker_job, ([self.seed, i], self.batch, progress, self.mix_name)))
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
