"""The tiny Qwen-style byte-level BPE tokenizer, the chat template and the processor built from them."""
from fixture_common import *  # noqa: F401,F403

# ----------------------------------------------------------------------------------------- tokenizer
# Qwen2's pre-tokenizer regex (transformers/models/qwen2/tokenization_qwen2.py, same in Qwen3-VL's tokenizer.json).
PRETOKENIZE_REGEX = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
BPE_VOCAB = 448  # 256 byte symbols + 192 merges
# Special tokens in the real relative order (Qwen3-VL: <|endoftext|> = 151643 ... <|video_pad|> = 151656,
# directly after the BPE vocabulary); here they start at BPE_VOCAB.
SPECIAL_TOKENS = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
    "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
]
# Fixed English training text (repeated TRAIN_REPEAT times so every pair reaches min_frequency).
TRAIN_TEXT = """\
system
user
assistant
You are a helpful assistant. Look at the image and answer the question.
Find the red circle. Where is the blue square? Point to the yellow triangle.
Describe the image in one short sentence. What is in the picture?
What animal is in the photo? A cat is sitting on the floor next to a green box.
The picture shows two dogs, a tree and a small house with a red roof.
What color is the car? The car is white and the sky is blue.
Count the people in the photo. There are three people standing near the door.
Read the text in the image. The sign says open from nine to five.
Is there a circle on the left or on the right? The circle is on the right side.
The quick brown fox jumps over the lazy dog. A bird flies over the water.
Find the object and draw a box around it. The box is at the top of the image.
"""
TRAIN_REPEAT = 4

# ----------------------------------------------------------------------------------------- chat template
# Written for these fixtures in the structure of Qwen3-VL's published template (system message first,
# a loop over messages, content either a string or a list of parts, image/video counting with a
# namespace, optional "Picture k: " prefixes, generation prompt). Tool calls are left out. Only standard
# Jinja: namespace, `is string`, `in` on mappings, `|string`; whitespace control on every tag.
CHAT_TEMPLATE = """\
{%- set image_count = namespace(value=0) -%}
{%- set video_count = namespace(value=0) -%}
{%- if messages[0].role == 'system' -%}
    {{- '<|im_start|>system\\n' -}}
    {%- if messages[0].content is string -%}
        {{- messages[0].content -}}
    {%- else -%}
        {%- for content in messages[0].content -%}
            {%- if 'text' in content -%}
                {{- content.text -}}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{- '<|im_end|>\\n' -}}
{%- endif -%}
{%- for message in messages -%}
    {%- if message.role == 'user' -%}
        {{- '<|im_start|>' + message.role + '\\n' -}}
        {%- if message.content is string -%}
            {{- message.content -}}
        {%- else -%}
            {%- for content in message.content -%}
                {%- if content.type == 'image' or 'image' in content or 'image_url' in content -%}
                    {%- set image_count.value = image_count.value + 1 -%}
                    {%- if add_vision_id -%}
                        {{- 'Picture ' + image_count.value|string + ': ' -}}
                    {%- endif -%}
                    {{- '<|vision_start|><|image_pad|><|vision_end|>' -}}
                {%- elif content.type == 'video' or 'video' in content -%}
                    {%- set video_count.value = video_count.value + 1 -%}
                    {%- if add_vision_id -%}
                        {{- 'Video ' + video_count.value|string + ': ' -}}
                    {%- endif -%}
                    {{- '<|vision_start|><|video_pad|><|vision_end|>' -}}
                {%- elif 'text' in content -%}
                    {{- content.text -}}
                {%- endif -%}
            {%- endfor -%}
        {%- endif -%}
        {{- '<|im_end|>\\n' -}}
    {%- elif message.role == 'assistant' -%}
        {{- '<|im_start|>' + message.role + '\\n' -}}
        {%- if message.content is string -%}
            {{- message.content -}}
        {%- else -%}
            {%- for content in message.content -%}
                {%- if 'text' in content -%}
                    {{- content.text -}}
                {%- endif -%}
            {%- endfor -%}
        {%- endif -%}
        {{- '<|im_end|>\\n' -}}
    {%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{- '<|im_start|>assistant\\n' -}}
{%- endif -%}
"""

# ----------------------------------------------------------------------------------------- tokenizer
def build_tokenizer_json() -> str:
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, \
        trainers

    tok = Tokenizer(models.BPE(dropout=None, unk_token=None, continuing_subword_prefix="", end_of_word_suffix="",
                               fuse_unk=False, byte_fallback=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    tok.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    tok.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    trainer = trainers.BpeTrainer(vocab_size=BPE_VOCAB, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=[])
    tok.train_from_iterator([TRAIN_TEXT] * TRAIN_REPEAT, trainer=trainer)
    assert tok.get_vocab_size() == BPE_VOCAB, tok.get_vocab_size()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS])
    for i, t in enumerate(SPECIAL_TOKENS):
        assert tok.token_to_id(t) == BPE_VOCAB + i
    return tok.to_str(pretty=True)


def build_processor(tmp: pathlib.Path, size):
    """Tokenizer (via a tokenizer.json + Qwen-like tokenizer_config.json) + PIL image processor + template."""
    (tmp / "tokenizer.json").write_text(build_tokenizer_json())
    (tmp / "tokenizer_config.json").write_text(json.dumps(dict(
        tokenizer_class="Qwen2Tokenizer", bos_token=None, eos_token="<|im_end|>", pad_token="<|endoftext|>",
        unk_token=None, add_prefix_space=False, errors="replace", split_special_tokens=False,
        model_max_length=262144, clean_up_tokenization_spaces=False,
    ), indent=2))
    tok = Qwen2Tokenizer.from_pretrained(str(tmp))
    for k in ("is_local", "local_files_only"):  # loading artefacts, not tokenizer settings
        tok.init_kwargs.pop(k, None)
    ip = Qwen2VLImageProcessorPil(
        size=dict(size), patch_size=PATCH, temporal_patch_size=TEMPORAL_PATCH, merge_size=MERGE,
        image_mean=IMAGE_MEAN, image_std=IMAGE_STD, do_resize=True, do_rescale=True, do_normalize=True,
        do_convert_rgb=True, resample=3,  # 3 = PIL.Image.BICUBIC
    )
    return build_qwen3vl_processor(ip, tok, CHAT_TEMPLATE)


def build_qwen3vl_processor(ip, tok, template):
    # The video processor needs torchvision (not installed): allow `video_processor=None` (the base class
    # otherwise insists on a BaseVideoProcessor instance; nothing here processes videos).
    orig = ProcessorMixin.check_argument_for_proper_class

    def check(self, argument_name, argument):
        if argument_name == "video_processor" and argument is None:
            return None
        return orig(self, argument_name, argument)

    ProcessorMixin.check_argument_for_proper_class = check
    try:
        proc = Qwen3VLProcessor(image_processor=ip, tokenizer=tok, video_processor=None, chat_template=template)
    finally:
        ProcessorMixin.check_argument_for_proper_class = orig
    assert type(proc.image_processor).__name__ == "Qwen2VLImageProcessorPil", type(proc.image_processor)
    return proc


def save_processor(proc, d: pathlib.Path):
    """Qwen3VLProcessor.save_pretrained without a video processor: the base class would call methods on the
    None attribute, so it runs with `get_attributes()` limited to image processor + tokenizer, and the
    `"video_processor": null` entry is dropped from processor_config.json (same json formatting)."""
    assert "get_attributes" not in Qwen3VLProcessor.__dict__  # inherited from ProcessorMixin
    Qwen3VLProcessor.get_attributes = classmethod(lambda cls: ["image_processor", "tokenizer"])
    try:
        proc.save_pretrained(str(d))
    finally:
        del Qwen3VLProcessor.get_attributes
    f = d / "processor_config.json"
    cfg = json.loads(f.read_text())
    assert cfg.pop("video_processor", "absent") is None
    f.write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")


def token_ids(tok):
    ids = {name: tok.convert_tokens_to_ids(t) for name, t in [
        ("endoftext", "<|endoftext|>"), ("im_start", "<|im_start|>"), ("im_end", "<|im_end|>"),
        ("object_ref_start", "<|object_ref_start|>"), ("object_ref_end", "<|object_ref_end|>"),
        ("box_start", "<|box_start|>"), ("box_end", "<|box_end|>"),
        ("quad_start", "<|quad_start|>"), ("quad_end", "<|quad_end|>"),
        ("vision_start", "<|vision_start|>"), ("vision_end", "<|vision_end|>"), ("vision_pad", "<|vision_pad|>"),
        ("image_pad", "<|image_pad|>"), ("video_pad", "<|video_pad|>")]}
    ids["eos"] = tok.eos_token_id
    ids["pad"] = tok.pad_token_id
    ids["vocab_size"] = len(tok)
    assert ids["eos"] == ids["im_end"] and ids["pad"] == ids["endoftext"]
    return ids


