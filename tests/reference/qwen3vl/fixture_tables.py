"""The two tables the Rust tests read besides the cases: chat-template renderings and smart_resize."""
from fixture_common import *  # noqa: F401,F403
from fixture_tokenizer import *  # noqa: F401,F403


def smart_resize(height, width, factor, min_pixels, max_pixels):
    """Independent copy of qwen2_vl's smart_resize (checked against the processor's output size)."""
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar




# ----------------------------------------------------------------------------------------- chat template cases
TEMPLATE_CASES = [
    dict(messages=[{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "find the red circle"}]}],
         add_generation_prompt=True),
    dict(messages=[{"role": "system", "content": "You are a helpful assistant."},
                   {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Where is the blue square?"}]}],
         add_generation_prompt=True),
    dict(messages=[{"role": "user", "content": "hello"},
                   {"role": "assistant", "content": [{"type": "text", "text": "hi"}]},
                   {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "image"},
                                                {"type": "image", "image": "x.png"}, {"type": "text", "text": "b"}]}],
         add_generation_prompt=False),
    dict(messages=[{"role": "system", "content": [{"type": "text", "text": "sys"}]},
                   {"role": "user", "content": [{"type": "image"}, {"type": "image"}, {"type": "text", "text": "two"}]}],
         add_generation_prompt=True, add_vision_id=True),
    dict(messages=[{"role": "user", "content": "no image, plain string"}], add_generation_prompt=True),
]


def write_chat_template_cases():
    """tests/fixtures/qwen3vl/chat_template_cases.json: messages -> the string the reference renders
    (ProcessorMixin.apply_chat_template, tokenize=False), for testing a minijinja rendering of
    chat_template.jinja. Also rendered with plain jinja2 with and without trim_blocks/lstrip_blocks
    (every tag has whitespace control, so the environment settings do not matter)."""
    from jinja2 import Environment

    with tempfile.TemporaryDirectory() as td:
        proc = build_processor(pathlib.Path(td), CASES["tiny"]["size"])
    rows = []
    for c in TEMPLATE_CASES:
        kw = {k: v for k, v in c.items() if k != "messages"}
        ref = proc.apply_chat_template(copy.deepcopy(c["messages"]), tokenize=False, **kw)
        for env in (Environment(), Environment(trim_blocks=True, lstrip_blocks=True)):
            assert env.from_string(CHAT_TEMPLATE).render(messages=c["messages"], **kw) == ref
        rows.append(dict(c, rendered=ref))
    (OUT / "chat_template_cases.json").write_text(json.dumps(dict(
        template="any <case>/chat_template.jinja (all identical)", cases=rows), indent=1) + "\n")
    print(f"chat_template_cases.json: {len(rows)} cases")


# ----------------------------------------------------------------------------------------- smart_resize table
def write_smart_resize_table():
    """tests/fixtures/qwen3vl/smart_resize.json: (height, width, min_pixels, max_pixels) -> resized (h, w) from
    the reference function, covering the three branches, Python's round-half-to-even ties, the
    max(factor, ...) clamp and the real Qwen3-VL limits (65536 .. 16777216)."""
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize as ref

    factor = PATCH * MERGE
    limits = [(32 * 32, 128 * 128), (96 * 128, 256 * 256), (32 * 32, 160 * 224), (65536, 16777216)]
    sizes = [(64, 96), (53, 75), (300, 451), (48, 80), (80, 48), (16, 16), (112, 144), (144, 176), (33, 47),
             (100, 1000), (31, 6000), (1080, 1920), (480, 640), (4000, 3000), (224, 224), (240, 400),
             (2, 300), (1, 150)]
    rows = []
    for mn, mx in limits:
        for h, w in sizes:
            rh, rw = ref(h, w, factor=factor, min_pixels=mn, max_pixels=mx)
            assert (rh, rw) == smart_resize(h, w, factor, mn, mx)
            hb, wb = round(h / factor) * factor, round(w / factor) * factor
            branch = "max_pixels" if hb * wb > mx else "min_pixels" if hb * wb < mn else "round"
            ties = [v for v in (h, w) if (v / factor) % 1 == 0.5]
            rows.append(dict(height=h, width=w, min_pixels=mn, max_pixels=mx, resized_height=rh,
                             resized_width=rw, branch=branch, half_tie=bool(ties)))
    out = dict(
        function="transformers.models.qwen2_vl.image_processing_pil_qwen2_vl.smart_resize (5.24.0)",
        factor=factor,
        note="Python round() is round-half-to-even (round(2.5) == 2). half_tie=true marks rows where h/f or "
             "w/f is exactly .5, so f64::round (half away from zero) would give a different first-step size "
             "(which changes the result in some of them, e.g. 48x80). Branches: 'round' keeps round(h/f)*f x round(w/f)*f; "
             "'max_pixels': beta = sqrt(h*w/max), floor(h/beta/f)*f (at least f); 'min_pixels': "
             "beta = sqrt(min/(h*w)), ceil(h*beta/f)*f. All in f64.",
        cases=rows,
    )
    (OUT / "smart_resize.json").write_text(json.dumps(out, indent=1) + "\n")
    print(f"smart_resize.json: {len(rows)} rows, {sum(r['half_tie'] for r in rows)} with a .5 tie")


