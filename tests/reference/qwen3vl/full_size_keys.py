"""Every tensor name and shape of Qwen3-VL-2B-Instruct as `save_pretrained` writes it, from
transformers' own model class on the meta device (no weights, no network): the weights crate's
size table for the README is computed from this list with the converter's rules.

The geometry is the published config.json of Qwen/Qwen3-VL-2B-Instruct (ViT: depth 24, width
1024, MLP 4096, 16 heads, patch 16, 2304 learned positions, DeepStack from layers 5, 11, 17;
decoder: Qwen3 with width 2048, 28 layers, 16 query / 8 key-value heads of 128, MLP 6144,
vocabulary 151,936, tied embeddings). The Hub is unreachable here, so it is written out below;
`num_parameters` (printed) is the check against the model card's "2B".

    python3 tests/reference/qwen3vl/full_size_keys.py > tests/fixtures/qwen3vl/keys_2b.json
"""
import json

import torch
from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration

CONFIG = {
    "model_type": "qwen3_vl",
    "image_token_id": 151655,
    "video_token_id": 151656,
    "vision_start_token_id": 151652,
    "vision_end_token_id": 151653,
    "tie_word_embeddings": True,
    "text_config": {
        "hidden_size": 2048, "intermediate_size": 6144, "num_hidden_layers": 28,
        "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 128,
        "vocab_size": 151936, "max_position_embeddings": 262144, "rms_norm_eps": 1e-6,
        "rope_theta": 5000000, "tie_word_embeddings": True,
        "rope_scaling": {"rope_type": "default", "mrope_section": [24, 20, 20], "mrope_interleaved": True},
    },
    "vision_config": {
        "depth": 24, "hidden_size": 1024, "intermediate_size": 4096, "num_heads": 16,
        "patch_size": 16, "temporal_patch_size": 2, "spatial_merge_size": 2, "in_channels": 3,
        "out_hidden_size": 2048, "num_position_embeddings": 2304,
        "deepstack_visual_indexes": [5, 11, 17], "hidden_act": "gelu_pytorch_tanh",
    },
}

with torch.device("meta"):
    model = Qwen3VLForConditionalGeneration(Qwen3VLConfig(**CONFIG))
state = model.state_dict()
tied = [k for k in state if k == "lm_head.weight"]
tensors = {k: {"shape": list(v.shape), "dtype": "BF16"} for k, v in sorted(state.items()) if k not in tied}
print(json.dumps({
    "model": "Qwen3-VL-2B-Instruct (native transformers layout; geometry of its published config.json)",
    "num_parameters": sum(v.numel() for k, v in state.items() if k not in tied),
    "tied_keys_not_in_file": tied,
    "tensors": tensors,
}, indent=1))
