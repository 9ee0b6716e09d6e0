"""The demo model's geometry and its initialisation (see train.py for why the loc rows are sinusoids)."""
import math

import torch
from transformers import Florence2Config, Florence2ForConditionalGeneration

SIZE = 224
# 224 px: DaViT grids 56/28/14/7, so window 7 tiles every stage without padding; 7x7+1 = 50 image tokens.
VISION = dict(embed_dim=[32, 64, 128, 192], depths=[1, 1, 2, 1], num_heads=[1, 2, 4, 6], num_groups=[1, 2, 4, 6],
              window_size=7, mlp_ratio=4.0, drop_path_rate=0.0, max_position_embeddings=50,
              max_temporal_embeddings=100, patch_size=[7, 3, 3, 3], patch_stride=[4, 2, 2, 2],
              patch_padding=[3, 1, 1, 1], patch_prenorm=[False, True, True, True], qkv_bias=True)
TEXT = dict(d_model=192, layers=3, heads=6, ffn=768, max_pos=128)
NUM_IMAGE_TOKENS = 50


def make_config(tok):
    ids = dict(bos=0, pad=1, eos=2, image=tok.token_to_id("<image>"))
    vc = dict(VISION, projection_dim=TEXT["d_model"])
    tc = dict(vocab_size=tok.get_vocab_size(), d_model=TEXT["d_model"], encoder_layers=TEXT["layers"],
              decoder_layers=TEXT["layers"], encoder_attention_heads=TEXT["heads"],
              decoder_attention_heads=TEXT["heads"], encoder_ffn_dim=TEXT["ffn"], decoder_ffn_dim=TEXT["ffn"],
              max_position_embeddings=TEXT["max_pos"], bos_token_id=0, pad_token_id=1, eos_token_id=2,
              decoder_start_token_id=2, forced_eos_token_id=2, scale_embedding=False,
              activation_function="gelu", dropout=0.0, attention_dropout=0.0, activation_dropout=0.0)
    return Florence2Config(vision_config=vc, text_config=tc, image_token_id=ids["image"])


@torch.no_grad()
def init_loc_rows(model, loc0):
    """<loc_k> embeddings = smooth sinusoids of k (scaled to the init std): tied to lm_head, so the
    output layer starts out treating neighbouring bins as similar."""
    emb = model.get_input_embeddings().weight
    d = emb.shape[1]
    k = torch.arange(1000, dtype=torch.float32).unsqueeze(1)
    freqs = 0.5 * (200.0 ** (torch.arange(d // 2, dtype=torch.float32) / (d // 2 - 1)))  # cycles per 1000 bins
    ang = 2 * math.pi * k * freqs / 1000
    rows = torch.cat([torch.sin(ang), torch.cos(ang)], dim=1)
    emb[loc0:loc0 + 1000] = rows * (emb.std() * math.sqrt(2.0))


def build_model(tok, seed):
    torch.manual_seed(seed)
    config = make_config(tok)
    model = Florence2ForConditionalGeneration._from_config(config, attn_implementation="eager").float()
    init_loc_rows(model, tok.token_to_id("<loc_0>"))
    assert model.lm_head.weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()
    return model, dict(vision=VISION, text=TEXT, size=SIZE, num_image_tokens=NUM_IMAGE_TOKENS,
                       vocab=tok.get_vocab_size())
