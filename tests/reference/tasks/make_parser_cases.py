"""Generate the reference cases the Rust task layer is tested against (CI never runs Python).

Runs Hugging Face transformers' own Florence2Processor (prompt construction and
post_process_generation) offline, built from the tiny tokenizer made by make_tiny_tokenizer.py and
the post-processor config of the converted Florence-2 checkpoints (banned grounding phrases
included), and writes crates/tasks/tests/fixtures/parser_cases.json with:
  - parser cases: for every task, hand-written realistic answers, seeded random token soups and
    adversarial strings, each with the reference's transformers-shaped answer;
  - prompt cases: task text (with/without inputs, malformed) -> prompt string or error, and the
    ids of "<s>" + prompt + "</s>" from the Python tokenizer;
  - decode cases: id sequences -> text decoded with special tokens kept.

One documented deviation: the reference maps <loc_k> with k > 999 outside the image (or crashes
for k >= 2^63); the Rust parser clamps k to 999 so results stay inside the image. For those
strings the expected answer is the reference's answer on the same string with every such
<loc_k> replaced by <loc_999> (the regexes only look at "one or more digits", so the structure
of the match is unchanged), and the case is marked "clamped". Plain-text tasks are not clamped.

Usage: python3 tests/reference/tasks/make_parser_cases.py   (deterministic, seed 4)
"""
import json
import pathlib
import random
import re
import sys
import unicodedata

import tokenizers
import torch
import transformers
from transformers import CLIPImageProcessor, PreTrainedTokenizerFast
from transformers.models.florence2.processing_florence2 import Florence2Processor

ROOT = pathlib.Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "crates/tasks/tests/fixtures"
TOKENIZER = FIXTURES / "tokenizer_tiny.json"
OUT = FIXTURES / "parser_cases.json"

# phrase_grounding.banned_grounding_tokens as written by transformers'
# convert_florence2_original_pytorch_to_hf.py into the florence-community checkpoints.
BANNED = [
    "it", "I", "me", "mine", "you", "your", "yours", "he", "him", "his", "she", "her", "hers", "they",
    "them", "their", "theirs", "one", "oneself", "we", "us", "our", "ours", "you", "your", "yours",
    "they", "them", "their", "theirs", "mine", "yours", "his", "hers", "its", "ours", "yours", "theirs",
    "myself", "yourself", "himself", "herself", "itself", "ourselves", "yourselves", "themselves",
    "this", "that", "these", "those", "who", "whom", "whose", "which", "what", "who", "whom", "whose",
    "which", "that", "all", "another", "any", "anybody", "anyone", "anything", "each", "everybody",
    "everyone", "everything", "few", "many", "nobody", "none", "one", "several", "some", "somebody",
    "someone", "something", "each other", "one another", "myself", "yourself", "himself", "herself",
    "itself", "ourselves", "yourselves", "themselves", "the image", "image", "images", "the", "a",
    "an", "a group", "other objects", "lots", "a set",
]
POST_PROCESSOR_CONFIG = {
    "ocr": {"pattern": None, "area_threshold": 0.0},
    "phrase_grounding": {"banned_grounding_tokens": BANNED},
    "pure_text": {}, "description_with_bboxes": {}, "description_with_polygons": {},
    "polygons": {}, "bboxes": {}, "description_with_bboxes_or_polygons": {},
}
TASKS = [
    "<CAPTION>", "<DETAILED_CAPTION>", "<MORE_DETAILED_CAPTION>", "<OCR>", "<OCR_WITH_REGION>", "<OD>",
    "<DENSE_REGION_CAPTION>", "<REGION_PROPOSAL>", "<CAPTION_TO_PHRASE_GROUNDING>",
    "<REFERRING_EXPRESSION_SEGMENTATION>", "<REGION_TO_SEGMENTATION>", "<OPEN_VOCABULARY_DETECTION>",
    "<REGION_TO_CATEGORY>", "<REGION_TO_DESCRIPTION>", "<REGION_TO_OCR>",
]
SIZES = [(640, 480), (768, 768), (1, 1), (333, 777), (4000, 3000), (1920, 1080), (7, 13), (999, 1001)]


def make_processor():
    tok = PreTrainedTokenizerFast(tokenizer_file=str(TOKENIZER), bos_token="<s>", eos_token="</s>",
                                  pad_token="<pad>", unk_token="<unk>")
    tok.image_token = "<image>"
    tok.image_token_id = tok.convert_tokens_to_ids("<image>")
    image_processor = CLIPImageProcessor()
    image_processor.image_seq_length = 577
    return Florence2Processor(image_processor=image_processor, tokenizer=tok,
                              post_processor_config=POST_PROCESSOR_CONFIG)


def loc(k):
    return f"<loc_{k}>"


def box(r, hi=999):
    x1, y1 = r.randint(0, hi), r.randint(0, hi)
    return "".join(loc(v) for v in (x1, y1, r.randint(x1, hi), r.randint(y1, hi)))


WORDS = ["car", "door", "wheel", "person", "a dog", "the image", "image", "it", "a", "the", "cat",
         "traffic light", "a man in a red shirt", "Stop", "EXIT 12", "café", "naïve", "日本語",
         "🙂 smile", "a group", "I", "each other", "  padded  ", "x"]
NOISE = ["<", ">", "<loc_", "<loc_>", "<loc_x>", "<loc_-5>", "<loc_12", "loc_3>", "<loc_1000>",
         "<loc_123456789012345678901234567890>", "<loc_0007>", "<loc_٣>", "<loc_٣٤٥>", "<sep>", "<poly>",
         "</poly>", "<s>", "</s>", "<pad>", "<od>", "</od>", "<box>", "</box>", "<bbox>", "</bbox>",
         "<ground>", "<obj>", "\n", "\t", " ", "\u3000", "\x1c", "\u00a0", "\u2028", "é", "🙂", "<<s>/s>",
         "<po<s>ly>", "< loc_1>", "<LOC_1>", "<loc_1 >"]


def realistic(r, task):
    n = r.randint(0, 4)
    if task in ("<CAPTION>", "<DETAILED_CAPTION>", "<MORE_DETAILED_CAPTION>", "<OCR>", "<REGION_TO_CATEGORY>",
                "<REGION_TO_DESCRIPTION>", "<REGION_TO_OCR>"):
        body = " ".join(r.choice(WORDS) for _ in range(r.randint(1, 8)))
        if task == "<REGION_TO_CATEGORY>" and r.random() < 0.5:
            body += box(r)
        return body
    if task == "<OCR_WITH_REGION>":
        parts = []
        for _ in range(n):
            pts = [r.randint(0, 999) for _ in range(8)]
            parts.append(r.choice(WORDS) + "".join(loc(v) for v in pts))
        return "".join(parts)
    if task in ("<OD>", "<DENSE_REGION_CAPTION>", "<CAPTION_TO_PHRASE_GROUNDING>"):
        return "".join(r.choice(WORDS) + "".join(box(r) for _ in range(r.randint(1, 3))) for _ in range(n))
    if task == "<REGION_PROPOSAL>":
        return "".join(box(r) for _ in range(n))
    if task in ("<REFERRING_EXPRESSION_SEGMENTATION>", "<REGION_TO_SEGMENTATION>", "<OPEN_VOCABULARY_DETECTION>"):
        polys = []
        for _ in range(r.randint(1, 3)):
            polys.append("".join(loc(r.randint(0, 999)) for _ in range(r.choice([6, 8, 12, 7, 3]))))
        poly_text = "<sep>".join(polys)
        if task == "<OPEN_VOCABULARY_DETECTION>":
            if r.random() < 0.5:
                return "".join(r.choice(WORDS) + box(r) for _ in range(n))
            return "".join(r.choice(WORDS) + "<poly>" + poly_text + "</poly>" for _ in range(max(n, 1)))
        if r.random() < 0.5:
            return "<poly>" + poly_text + "</poly>"
        return poly_text
    raise AssertionError(task)


def soup(r, length):
    out = []
    for _ in range(length):
        x = r.random()
        if x < 0.35:
            out.append(loc(r.randint(0, 999)))
        elif x < 0.55:
            out.append(r.choice(WORDS))
        elif x < 0.65:
            out.append(r.choice(["<sep>", "<poly>", "</poly>"]))
        else:
            out.append(r.choice(NOISE))
    return "".join(out)


HAND_WRITTEN = [
    "", " ", "</s><s></s>", "<s>A green car parked in front of a yellow building.</s>",
    "</s><s>car<loc_54><loc_375><loc_906><loc_707>door<loc_710><loc_276><loc_908><loc_537></s>",
    "<loc_54><loc_375><loc_906><loc_707><loc_710><loc_276><loc_908><loc_537>",
    "car<loc_1><loc_2><loc_3>", "car<loc_1><loc_2><loc_3><loc_4><loc_5>", "car\ndog<loc_1><loc_2><loc_3><loc_4>",
    "\n car<loc_1><loc_2><loc_3><loc_4>", "<loc_5>b<loc_1><loc_2><loc_3><loc_4>",
    "the image<loc_0><loc_0><loc_999><loc_999>a dog<loc_100><loc_200><loc_300><loc_400>",
    "café 🙂<loc_10><loc_20><loc_30><loc_40>", "<poly><loc_1><loc_2><loc_3><loc_4><loc_5></poly>",
    "<loc_1><loc_2><loc_3><loc_4><sep><loc_5><loc_6><loc_7>", "<sep></poly><loc_1><loc_2><loc_3>",
    "<loc_1><sep><sep><sep></poly>", "</poly><poly><loc_1><loc_2><loc_3><loc_4>",
    "a cat<poly><loc_1><loc_2><loc_3><loc_4><loc_5><loc_6></poly><poly><loc_7><loc_8></poly>",
    "a cat<loc_1><loc_2><loc_3><loc_4><loc_5><loc_6><poly>", "a<poly><poly><loc_1><loc_2></poly></poly>",
    "STOP<loc_1><loc_2><loc_3><loc_4><loc_5><loc_6><loc_7><loc_8><loc_9>",
    "a<loc_1><loc_2><loc_3><loc_4><loc_5><loc_6><loc_7> b<loc_1><loc_2><loc_3><loc_4><loc_5><loc_6><loc_7><loc_8>",
    "line1\nline2<loc_1><loc_2><loc_3><loc_4><loc_5><loc_6><loc_7><loc_8>",
    "<loc_1000><loc_2000><loc_99999><loc_123456789012345678901234567890>",
    "x<loc_0007><loc_٣><loc_٣٤٥><loc_999>", "<pad>text<pad>", "<<s>/s>x<po<s>ly><loc_1><loc_2><loc_3><loc_4>",
    "\x1c\u3000caption\u00a0\u2028", "<od>car</od><loc_1><loc_2><loc_3><loc_4>",
    "<ground>car<obj><loc_1><loc_2><loc_3><loc_4>",
]


def clamp_locs(text):
    def repl(m):
        return loc(999) if int(m.group(1)) > 999 else m.group(0)
    return re.sub(r"<loc_(\d+)>", repl, text)


def main():
    processor = make_processor()
    r = random.Random(4)
    parser_cases = []
    for task in TASKS:
        texts = list(HAND_WRITTEN)
        texts += [realistic(r, task) for _ in range(40)]
        texts += [soup(r, r.randint(1, 40)) for _ in range(30)]
        for text in texts:
            size = r.choice(SIZES)
            # Plain-text answers keep their text verbatim, so only coordinate tasks are clamped.
            plain = processor.tasks_answer_post_processing_type[task] == "pure_text"
            clamped = text if plain else clamp_locs(text)
            answer = processor.post_process_generation(clamped, task=task, image_size=size)
            case = {"task": task, "image_size": list(size), "text": text, "expected": answer}
            if clamped != text:
                case["clamped"] = True
            parser_cases.append(case)

    prompt_cases = []
    inputs = [None, "a red car", "<loc_1><loc_20><loc_300><loc_999>", "  spaced out  ", "café 🙂", ""]
    texts = [t if i is None else t + i for t in TASKS for i in inputs]
    texts += ["hello world", "", "<OD> extra", "extra <OD>", "prefix <OPEN_VOCABULARY_DETECTION>cat",
              "<CAPTION_TO_PHRASE_GROUNDING>A man<loc_1> and <OD>", "<OCR_WITH_REGION>", "<OCR>x",
              "<REGION_TO_CATEGORY> <loc_1><loc_2><loc_3><loc_4> ", "<od>", "<CAPTION><CAPTION>"]
    for text in texts:
        try:
            prompt = processor._construct_prompts(text)[0]
        except ValueError as e:
            prompt_cases.append({"text": text, "error": str(e)})
            continue
        ids = processor.tokenizer("<s>" + prompt + "</s>", add_special_tokens=False)["input_ids"]
        prompt_cases.append({"text": text, "prompt": prompt, "ids": ids})

    raw = tokenizers.Tokenizer.from_file(str(TOKENIZER))
    for case in prompt_cases:
        if "ids" in case:  # the transformers wrapper and the raw tokenizer must agree
            assert raw.encode("<s>" + case["prompt"] + "</s>", add_special_tokens=False).ids == case["ids"]
    decode_cases = []
    for case in prompt_cases[:40]:
        if "ids" in case:
            decode_cases.append({"ids": case["ids"], "text": raw.decode(case["ids"], skip_special_tokens=False)})
    vocab = raw.get_vocab_size()
    for _ in range(20):
        ids = [r.randrange(vocab) for _ in range(r.randint(1, 30))]
        decode_cases.append({"ids": ids, "text": raw.decode(ids, skip_special_tokens=False)})

    # Python's \d (and int()) accept every Unicode decimal digit; Rust reads them from this table.
    nd_starts = [c for c in range(0x110000) if unicodedata.category(chr(c)) == "Nd" and unicodedata.digit(chr(c)) == 0]
    for s in nd_starts:
        assert all(unicodedata.digit(chr(s + d)) == d for d in range(10))
    assert sum(1 for c in range(0x110000) if unicodedata.category(chr(c)) == "Nd") == 10 * len(nd_starts)

    doc = {
        "generator": "tests/reference/tasks/make_parser_cases.py",
        "versions": {"python": sys.version.split()[0], "transformers": transformers.__version__,
                     "tokenizers": tokenizers.__version__, "torch": torch.__version__,
                     "unicode": unicodedata.unidata_version},
        "banned_grounding_tokens": sorted(set(BANNED)),
        "unicode_decimal_digit_zeros": nd_starts,
        "parser_cases": parser_cases,
        "prompt_cases": prompt_cases,
        "decode_cases": decode_cases,
    }
    OUT.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {OUT}: {len(parser_cases)} parser, {len(prompt_cases)} prompt, {len(decode_cases)} decode cases, "
          f"{OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
