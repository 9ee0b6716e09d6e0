"""Independent recomputations the generator asserts before writing a case: rotary tables, a ViT block,
the mergers, a decoder layer, multimodal positions, the saved processor."""
from fixture_common import *  # noqa: F401,F403
from fixture_tokenizer import *  # noqa: F401,F403

# ----------------------------------------------------------------------------------------- checks
@torch.no_grad()
def check_rope_tables(model, cap, pos3, cfg):
    """Recompute both rotary tables from the README formulas and compare with what the model used."""
    # Vision: axial 2D rope. inv_freq over head_dim/2 (=: s) with step 2 -> s/2 = head_dim/4 frequencies.
    vc = cfg.vision_config
    hd = vc.hidden_size // vc.num_heads
    s = hd // 2
    inv = 1.0 / (VISION_ROPE_THETA ** (torch.arange(0, s, 2, dtype=torch.float) / s))
    vp = cap["vision.rotary_positions"]  # [N, 2] = (row, col)
    fh, fw = vp[:, 0:1].float() * inv, vp[:, 1:2].float() * inv
    ang = torch.cat([fh, fw, fh, fw], -1)
    assert torch.equal(ang.cos(), cap["vision.rotary_cos"]) and torch.equal(ang.sin(), cap["vision.rotary_sin"])
    # Text: interleaved M-RoPE. inv_freq over head_dim, channel j (< head_dim/2) takes its position from
    # axis H if j % 3 == 1 and j < 3*sec[1], axis W if j % 3 == 2 and j < 3*sec[2], else axis T.
    tc = cfg.text_config
    d = tc.head_dim
    sec = tc.rope_parameters["mrope_section"]
    inv = 1.0 / (TEXT_ROPE_THETA ** (torch.arange(0, d, 2, dtype=torch.float) / d))
    axis = torch.zeros(d // 2, dtype=torch.long)
    for j in range(d // 2):
        if j % 3 == 1 and j < 3 * sec[1]:
            axis[j] = 1
        elif j % 3 == 2 and j < 3 * sec[2]:
            axis[j] = 2
    p = pos3.float()  # [3, L]
    ang = p[axis, :].T * inv  # [L, d/2]
    ang = torch.cat([ang, ang], -1)
    assert torch.equal(ang.cos(), cap["prefill.rotary_cos"][0]), (ang.cos() - cap["prefill.rotary_cos"][0]).abs().max()
    assert torch.equal(ang.sin(), cap["prefill.rotary_sin"][0]), (ang.sin() - cap["prefill.rotary_sin"][0]).abs().max()
    return axis.tolist()


def rotate_half_ref(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], -1)


def layernorm_ref(x, mod):
    return nn.functional.layer_norm(x, (x.shape[-1],), mod.weight, mod.bias, mod.eps)


def rmsnorm_ref(x, mod):
    return mod.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + mod.variance_epsilon))


def attend_ref(q, k, v, causal):
    """q [Hq, L, D], k/v [Hkv, L, D]; GQA: query head h uses kv head h // (Hq / Hkv)."""
    rep = q.shape[0] // k.shape[0]
    k, v = k.repeat_interleave(rep, 0), v.repeat_interleave(rep, 0)
    s = q @ k.transpose(1, 2) * q.shape[-1] ** -0.5
    if causal:
        n = s.shape[-1]
        s = s.masked_fill(torch.ones(n, n, dtype=torch.bool).triu(1), float("-inf"))
    return torch.softmax(s, -1) @ v  # [Hq, L, D]


@torch.no_grad()
def manual_vision_block(blk, x, cos, sin, heads):
    """README description of a ViT block (pre-LN, qkv split as [3, heads, head_dim], 2D rope, full attention)."""
    n, c = x.shape
    qkv = blk.attn.qkv(layernorm_ref(x, blk.norm1)).reshape(n, 3, heads, c // heads)
    q, k, v = qkv[:, 0], qkv[:, 1], qkv[:, 2]  # [N, heads, hd]
    q = q * cos[:, None] + rotate_half_ref(q) * sin[:, None]
    k = k * cos[:, None] + rotate_half_ref(k) * sin[:, None]
    o = attend_ref(q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1), causal=False)
    x = x + blk.attn.proj(o.transpose(0, 1).reshape(n, c))
    h = blk.mlp.linear_fc1(layernorm_ref(x, blk.norm2))
    h = nn.functional.gelu(h, approximate="tanh")  # hidden_act gelu_pytorch_tanh
    return x + blk.mlp.linear_fc2(h)


@torch.no_grad()
def manual_merger(m, x, postshuffle):
    """Main merger: LayerNorm over C per patch, then concat 4 consecutive patches. Deepstack mergers:
    concat first, LayerNorm over 4C. Both: fc1 -> exact (erf) GELU -> fc2."""
    c4 = x.shape[-1] * MERGE * MERGE
    x = layernorm_ref(x.reshape(-1, c4), m.norm) if postshuffle else layernorm_ref(x, m.norm).reshape(-1, c4)
    return m.linear_fc2(nn.functional.gelu(m.linear_fc1(x)))


@torch.no_grad()
def manual_text_layer(layer, x, cos, sin, tc):
    """README description of a decoder layer: per-head RMSNorm on q and k (over head_dim, before rope), rope,
    causal GQA attention, SwiGLU MLP, two pre-norm residuals."""
    L = x.shape[0]
    hd, nq, nkv = tc.head_dim, tc.num_attention_heads, tc.num_key_value_heads
    a = layer.self_attn
    h = rmsnorm_ref(x, layer.input_layernorm)
    q = rmsnorm_ref(a.q_proj(h).view(L, nq, hd), a.q_norm).transpose(0, 1)  # [nq, L, hd]
    k = rmsnorm_ref(a.k_proj(h).view(L, nkv, hd), a.k_norm).transpose(0, 1)
    v = a.v_proj(h).view(L, nkv, hd).transpose(0, 1)
    q = q * cos + rotate_half_ref(q) * sin
    k = k * cos + rotate_half_ref(k) * sin
    o = attend_ref(q, k, v, causal=True).transpose(0, 1).reshape(L, nq * hd)
    x = x + a.o_proj(o)
    h = rmsnorm_ref(x, layer.post_attention_layernorm)
    return x + layer.mlp.down_proj(nn.functional.silu(layer.mlp.gate_proj(h)) * layer.mlp.up_proj(h))


def text_positions_reference(input_ids, image_id, grid, merge):
    """Independent get_rope_index for one image: text runs continue a counter; the image block takes
    (t, h, w) = (start, start + row, start + col) over the merged grid, then the counter jumps by
    max(H, W) / merge (not by the number of image tokens)."""
    ids = input_ids.tolist()
    t, hh, ww = grid
    lh, lw = hh // merge, ww // merge
    out, cur, i = [], 0, 0
    while i < len(ids):
        if ids[i] == image_id:
            n = t * lh * lw
            assert ids[i:i + n] == [image_id] * n
            for ti in range(t):
                for r in range(lh):
                    for c in range(lw):
                        out.append((cur + ti, cur + r, cur + c))
            cur += max(hh, ww) // merge
            i += n
        else:
            out.append((cur, cur, cur))
            cur += 1
            i += 1
    return torch.tensor(out, dtype=torch.long).T  # [3, L]


def check_reload_processor(d, rendered, image, inputs, messages):
    """The written files alone (tokenizer.json, tokenizer_config.json, chat_template.jinja,
    preprocessor_config.json) rebuild a processor that gives the same prompt and tensors."""
    tok = AutoTokenizer.from_pretrained(str(d))
    assert type(tok).__name__ == "Qwen2Tokenizer", type(tok)
    ip = Qwen2VLImageProcessorPil.from_pretrained(str(d))
    tmpl = (d / "chat_template.jinja").read_text()
    assert tmpl == CHAT_TEMPLATE
    proc = build_qwen3vl_processor(ip, tok, tmpl)
    assert proc.apply_chat_template(messages, tokenize=False, add_generation_prompt=True) == rendered
    again = proc(text=[rendered], images=[image], return_tensors="pt")
    for k, v in inputs.items():
        assert torch.equal(again[k], v), k
    # the standalone tokenizers library reads tokenizer.json the same way
    from tokenizers import Tokenizer

    raw = Tokenizer.from_file(str(d / "tokenizer.json"))
    plain = tok(rendered, add_special_tokens=False)["input_ids"]
    assert raw.encode(rendered, add_special_tokens=False).ids == plain


