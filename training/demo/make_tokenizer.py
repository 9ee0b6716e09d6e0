"""The demo model's tokenizer: a small byte-level BPE with Florence-2's special-token layout.

Same kinds of tokens in the same order as the real one (<s> 0, <pad> 1, </s> 2, <unk> 3, the BPE
vocabulary, <mask>, <od> </od> <ocr> </ocr>, <loc_0>..<loc_999>, the 20 task tokens, <image>), so
the engine's prompt building and answer parsing run unchanged; merges learnt from the task prompts
and the scene texts, so every word of the scene language is one or two tokens.

Usage: python3 training/demo/make_tokenizer.py OUT.json   (deterministic)
"""
import importlib.util
import pathlib
import re
import sys

import numpy as np
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import scenes  # noqa: E402

spec = importlib.util.spec_from_file_location("tiny", HERE.parents[1] / "tests/reference/tasks/make_tiny_tokenizer.py")
tiny = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tiny)

PROMPTS = [
    "What does the image describe?", "Describe in detail what is shown in the image.",
    "Describe with a paragraph what is shown in the image.", "What is the text in the image?",
    "What is the text in the image, with regions?", "Locate the objects with category name in the image.",
    "Locate the objects in the image, with their descriptions.", "Locate the region proposals in the image.",
    "Locate the phrases in the caption:", "in the image with mask", "What is the polygon mask of region",
    "What is the region", "What does the region describe?", "What text is in the region", "Locate in the image.",
]


def corpus():
    rng = np.random.default_rng(7)
    texts = PROMPTS * 50
    for q in scenes.ovd_queries():
        texts += [f"Locate {q} in the image."] * 5
    for _ in range(2000):
        sc = scenes.sample_scene(rng)
        for t in [scenes.od_answer(sc), scenes.caption(sc), scenes.grounding_answer(sc)]:
            texts += [p for p in re.split(r"<loc_\d+>", t) if p]
        texts += [f"Locate {e} in the image with mask" for e, _ in scenes.referring_expressions(sc)]
    return texts


def build() -> Tokenizer:
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=256 + 4 + 200, special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus(), trainer=trainer)
    tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), trim_offsets=False)
    added = ["<mask>", "<od>", "</od>", "<ocr>", "</ocr>"]
    added += [f"<loc_{k}>" for k in range(1000)] + tiny.TASK_TOKENS + ["<image>"]
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in added])
    return tok


if __name__ == "__main__":
    out = pathlib.Path(sys.argv[1])
    tok = build()
    assert [tok.token_to_id(t) for t in ["<s>", "<pad>", "</s>", "<unk>"]] == [0, 1, 2, 3]
    out.parent.mkdir(parents=True, exist_ok=True)
    tok.save(str(out), pretty=False)
    enc = tok.encode("Locate red circles in the image.")
    print(f"wrote {out} vocab={tok.get_vocab_size()} example={enc.tokens}")
