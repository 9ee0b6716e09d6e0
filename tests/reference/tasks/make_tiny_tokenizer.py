"""Build a tiny byte-level BPE tokenizer.json with Florence-2's special-token layout.

The real Florence-2 tokenizer is the BART/RoBERTa byte-level BPE (50265 entries) plus added
tokens. Tests must not depend on the real ids, so this tokenizer has a few hundred merges but the
same *kinds* of tokens in the same order: <s> 0, <pad> 1, </s> 2, <unk> 3, the BPE vocabulary,
<mask>, then <od> </od> <ocr> </ocr>, <loc_0>..<loc_999>, the 20 task tokens and <image>.

Usage: python3 tests/reference/tasks/make_tiny_tokenizer.py  (writes
crates/tasks/tests/fixtures/tokenizer_tiny.json; deterministic).
"""
import pathlib

from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

ROOT = pathlib.Path(__file__).resolve().parents[3]
OUT = ROOT / "crates/tasks/tests/fixtures/tokenizer_tiny.json"

TASK_TOKENS = [
    "<cap>", "</cap>", "<ncap>", "</ncap>", "<dcap>", "</dcap>", "<grounding>", "</grounding>",
    "<seg>", "</seg>", "<sep>", "<region_cap>", "</region_cap>", "<region_to_desciption>",
    "</region_to_desciption>", "<proposal>", "</proposal>", "<poly>", "</poly>", "<and>",
]

# Training text: the task prompts and typical answers, so that common words get merges.
CORPUS = [
    "What does the image describe?", "Describe in detail what is shown in the image.",
    "Describe with a paragraph what is shown in the image.", "What is the text in the image?",
    "What is the text in the image, with regions?", "Locate the objects with category name in the image.",
    "Locate the objects in the image, with their descriptions.", "Locate the region proposals in the image.",
    "Locate the phrases in the caption:", "in the image with mask", "What is the polygon mask of region",
    "What is the region", "What does the region describe?", "What text is in the region",
    "A green car parked in front of a yellow building.", "a person riding a horse on the beach",
    "two dogs playing with a red ball in the park", "car door wheel person dog cat bicycle",
    "The image shows a kitchen with a stove, a sink and a refrigerator.",
] * 20


def build() -> Tokenizer:
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=256 + 4 + 300,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS, trainer=trainer)
    tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), trim_offsets=False)
    added = ["<mask>", "<od>", "</od>", "<ocr>", "</ocr>"]
    added += [f"<loc_{k}>" for k in range(1000)] + TASK_TOKENS + ["<image>"]
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in added])
    return tok


if __name__ == "__main__":
    tok = build()
    assert [tok.token_to_id(t) for t in ["<s>", "<pad>", "</s>", "<unk>"]] == [0, 1, 2, 3]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    tok.save(str(OUT), pretty=False)
    print(f"wrote {OUT} vocab={tok.get_vocab_size()} bytes={OUT.stat().st_size}")
