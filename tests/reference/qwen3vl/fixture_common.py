"""Shared by make_fixtures.py and its modules: imports, paths and the real preprocessing constants."""
import copy
import itertools
import json
import math
import pathlib
import shutil
import sys
import tempfile

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file
from torch import nn

import transformers
from transformers import (
    AutoTokenizer,
    GenerationConfig,
    Qwen2Tokenizer,
    Qwen2VLImageProcessorPil,
    Qwen3VLConfig,
    Qwen3VLForConditionalGeneration,
    Qwen3VLProcessor,
)
from transformers.processing_utils import ProcessorMixin
from transformers.vision_utils import get_vision_interpolation_indices_and_weights


ROOT = pathlib.Path(__file__).resolve().parents[3]
OUT = ROOT / "tests/fixtures/qwen3vl"
PHOTO = ROOT / "tests/fixtures/florence2/geom2_photo/image.png"

# Real Qwen3-VL preprocessing constants (Qwen3-VL-2B-Instruct preprocessor_config.json).
IMAGE_MEAN = [0.5, 0.5, 0.5]
IMAGE_STD = [0.5, 0.5, 0.5]
PATCH = 16
MERGE = 2
TEMPORAL_PATCH = 2

MAX_NEW_TOKENS = 16
MIN_MARGIN = 0.05  # top-1 minus top-2 logit at every greedy step (absolute)
MIN_DISTINCT = 8  # distinct tokens among the generated ids
MAX_RUN = 3  # longest run of one repeated token
MIN_LEN = 12  # generated tokens before a possible eos

TEXT_ROPE_THETA = 5_000_000.0  # Qwen3-VL-2B-Instruct text rope_theta
VISION_ROPE_THETA = 10_000.0  # Qwen3VLVisionConfig default (axial rope)
RMS_EPS = 1e-6

# Init recipe (see redraw()). With tied embeddings, N(0, 1) token embeddings dominate the residual stream
# and the model predicts its own input token forever; small embeddings, a stronger residual branch and a
# larger final-norm gain (logit scale) give varied greedy ids with comfortable margins.
EMBED_STD = 0.15
POS_EMBED_STD = 0.5
RESID_SCALE = 2.0  # text o_proj and down_proj weights
FINAL_NORM_GAIN = 4.0  # model.language_model.norm.weight ~ N(4, 0.4^2)
INIT = dict(
    linear_weight="N(0, 1/fan_in)  (std = 1/sqrt(in_features)); text o_proj and down_proj then x2",
    linear_bias="0.05 * N(0, 1)",
    conv3d_weight="N(0, 1/fan_in), fan_in = 3*2*16*16 = 1536",
    conv3d_bias="0.05 * N(0, 1)",
    layernorm="weight 1 + 0.1 N, bias 0.05 N (vision norms, merger norms)",
    rmsnorm="weight 1 + 0.1 N (input/post_attention norms, q_norm/k_norm); final norm 4 + 0.4 N",
    embed_tokens="0.15 * N(0, 1) (tied: also the lm_head)",
    pos_embed="0.5 * N(0, 1)",
    order="modules in named_modules() order, parameters in registration order, one torch.Generator "
          "seeded with the case seed, torch.randn per tensor",
)

# ----------------------------------------------------------------------------------------- cases
CASES = {
    # 96x64 (W x H) is a multiple of 32 and inside [min_pixels, max_pixels]: no resize at all.
    "tiny": dict(
        seed=1000,
        image="synthetic:96x64",
        image_seed=1000,
        size=dict(shortest_edge=32 * 32, longest_edge=128 * 128),
        system=None,
        prompt="find the red circle",
        vision=dict(depth=3, hidden_size=32, num_heads=2, intermediate_size=64, num_position_embeddings=16,
                    deepstack_visual_indexes=[0, 1]),
        text=dict(hidden_size=48, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                  intermediate_size=96, mrope_section=[4, 2, 2]),
    ),
    # 75x53 (W x H): smart_resize rounds to 64x64 = 4096 px < min_pixels 12288, so the image is scaled UP
    # (ceil branch) to 160x96; the 4x4 position grid is interpolated to 6x10 patches.
    "odd": dict(
        seed=2000,
        image="synthetic:75x53",
        image_seed=2000,
        size=dict(shortest_edge=96 * 128, longest_edge=256 * 256),
        system="You are a helpful assistant.",
        prompt="Where is the blue square?",
        vision=dict(depth=3, hidden_size=48, num_heads=3, intermediate_size=80, num_position_embeddings=16,
                    deepstack_visual_indexes=[1]),
        text=dict(hidden_size=40, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1, head_dim=24,
                  intermediate_size=72, mrope_section=[4, 4, 4]),
    ),
    # The Florence-2 photograph (skimage chelsea, 451x300): 288x448 rounded is > max_pixels 35840, so it is
    # scaled DOWN (floor branch) to 224x128; the 10x10 position grid is interpolated to 8x14 patches.
    "photo": dict(
        seed=3000,
        image="file:tests/fixtures/florence2/geom2_photo/image.png",
        image_seed=0,
        size=dict(shortest_edge=32 * 32, longest_edge=160 * 224),
        system=None,
        prompt="What animal is in the photo?",
        vision=dict(depth=4, hidden_size=32, num_heads=4, intermediate_size=64, num_position_embeddings=100,
                    deepstack_visual_indexes=[0, 2, 3]),
        text=dict(hidden_size=48, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2, head_dim=32,
                  intermediate_size=96, mrope_section=[6, 5, 5]),
    ),
}
