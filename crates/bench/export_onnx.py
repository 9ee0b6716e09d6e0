"""Export a Florence-2 to the ONNX layout transformers.js loads, for the browser benchmark's peer
(tests/e2e/bench.mjs): `onnx/vision_encoder.onnx` (pixel_values -> image_features, projector
included), `onnx/embed_tokens.onnx` (input_ids -> inputs_embeds), `onnx/encoder_model.onnx`
(inputs_embeds, attention_mask -> last_hidden_state) and `onnx/decoder_model_merged.onnx` (one
decoder step with a KV cache; an If on `use_cache_branch` picks the first step, which projects
the cross-attention keys and values, or a later one, which reuses them: optimum's merged layout),
beside `config.json` and `generation_config.json`.

    python3 crates/bench/export_onnx.py --model public/models/demo OUT_DIR
    python3 crates/bench/export_onnx.py --model BASE_Q8 --tokens 20 OUT_DIR   (bench.sh base)
    python3 crates/bench/export_onnx.py --size base [--image-size 768] OUT_DIR

`--model DIR` exports a converted model (manifest.json + shards, dequantized exactly as
training/demo/read_converted.py reads them, so the peer computes with the same weight values our
engine holds) and links it as OUT_DIR/ours, which the benchmark page loads into our app;
`--size base|large` the random full-size model of pytorch_peer.py. OUT_DIR also gets
`inputs.json`: the benchmark's prompt ids and pixel values (the instruction the app routes "find
the red circles" to, on public/examples/scene-1000006005.png at the model's input side, written
as OUT_DIR/scene.png for our app; the random model: `<OD>` on pytorch_peer's pattern image), the
token limit both engines get, and the ids transformers' greedy generate() gives, so the bench
checks that both engines answer as the reference does. Every exported graph is run by
onnxruntime against the PyTorch module it came from before it is written.

Needs torch, transformers 5.x, onnx, onnxruntime, Pillow (`pip install onnx onnxscript onnxruntime
pillow`); CI never runs it.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "../.."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "training/demo"))
import pytorch_peer  # noqa: E402  (image(), pixel_values(), build_model(): one recipe for both peers)
from onnx_merge import merge_decoders  # noqa: E402
from read_converted import load_converted  # noqa: E402

OPSET = 17
SCENE = os.path.join(ROOT, "public/examples/scene-1000006005.png")


def scene_at(side, out):
    """public/examples/scene-1000006005.png at the model's input side, written to OUT/scene.png:
    the file both engines are given (the 224 scene itself, or its bicubic enlargement for a larger
    model, so that the processor's own resize is the identity for both)."""
    from PIL import Image
    img = Image.open(SCENE).convert("RGB")
    if img.size != (side, side):
        img = img.resize((side, side), Image.BICUBIC)
    img.save(os.path.join(out, "scene.png"))
    rgb = np.asarray(Image.open(os.path.join(out, "scene.png")).convert("RGB"))
    return pytorch_peer.pixel_values(torch.from_numpy(rgb.copy()))


class VisionEncoder(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, pixel_values):
        out = self.model.model.get_image_features(pixel_values)
        return out if torch.is_tensor(out) else out.pooler_output


class EmbedTokens(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.embed = model.get_input_embeddings()

    def forward(self, input_ids):
        return self.embed(input_ids)


class Encoder(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.encoder = model.model.get_encoder()

    def forward(self, inputs_embeds, attention_mask):
        return self.encoder(inputs_embeds=inputs_embeds, attention_mask=attention_mask).last_hidden_state


class DecoderStep(torch.nn.Module):
    """One decoder step through transformers' own forward, the caches rebuilt from flat tensors
    (`with_past`: the self-attention past and the cross-attention keys/values of step one)."""

    def __init__(self, model, layers, with_past):
        super().__init__()
        self.model, self.layers, self.with_past = model, layers, with_past

    def forward(self, inputs_embeds, encoder_attention_mask, encoder_hidden_states, *past):
        from transformers.cache_utils import DynamicCache, EncoderDecoderCache
        config = self.model.config.text_config
        self_cache, cross_cache = DynamicCache(config=config), DynamicCache(config=config)
        cache = EncoderDecoderCache(self_cache, cross_cache)
        if self.with_past:
            for i in range(self.layers):
                dk, dv, ek, ev = past[4 * i:4 * i + 4]
                self_cache.update(dk, dv, i)
                cross_cache.update(ek, ev, i)
                cache.is_updated[i] = True
        # The language model's decoder and lm_head directly: Florence2Model.forward makes
        # decoder_input_ids from `inputs_embeds` even when decoder embeddings are given.
        out = self.model.model.language_model.decoder(inputs_embeds=inputs_embeds, encoder_hidden_states=encoder_hidden_states,
                                                      encoder_attention_mask=encoder_attention_mask, cache=cache,
                                                      use_cache=True, return_dict=True)
        logits = self.model.lm_head(out.last_hidden_state)
        cache = out.cache
        presents = []
        for i in range(self.layers):
            presents += [cache.self_attention_cache.layers[i].keys, cache.self_attention_cache.layers[i].values,
                         cache.cross_attention_cache.layers[i].keys, cache.cross_attention_cache.layers[i].values]
        return (logits, *presents)


def past_names(prefix, layers):
    return [f"{prefix}.{i}.{side}.{kv}" for i in range(layers) for side in ("decoder", "encoder") for kv in ("key", "value")]


def export(module, args, path, inputs, outputs, dynamic):
    # A fresh wrapper is in training mode, and torch.onnx.export puts the module back in the mode
    # it found: without this the wrapped model would leave here with dropout on (base has 0.1).
    module.eval()
    torch.onnx.export(module, args, path, input_names=inputs, output_names=outputs, dynamic_axes=dynamic,
                      opset_version=OPSET, dynamo=False, do_constant_folding=True)


def check(path, feeds, expected, what, tol=2e-4):
    """Run the exported graph in onnxruntime and compare with the PyTorch module's outputs."""
    import onnxruntime as ort
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    got = session.run(None, {k: v.numpy() if torch.is_tensor(v) else v for k, v in feeds.items()})
    for g, e in zip(got, expected):
        e = e.detach().numpy()
        scale = max(float(np.abs(e).max()), 1e-6)
        diff = float(np.abs(g - e).max()) / scale if e.size else 0.0
        if g.shape != e.shape or diff > tol:
            raise SystemExit(f"{what}: onnxruntime differs from PyTorch (shape {g.shape} vs {e.shape}, rel diff {diff:.2e})")
    print(f"  {what}: onnxruntime equals PyTorch ({len(got)} outputs)", file=sys.stderr)


def ort_greedy(onnx_dir, input_ids, pixels, eos, max_new, layers, heads, dim):
    """Greedy decoding through the four exported graphs as transformers.js drives them."""
    import onnxruntime as ort
    s = {n: ort.InferenceSession(os.path.join(onnx_dir, f"{n}.onnx"), providers=["CPUExecutionProvider"])
         for n in ("vision_encoder", "embed_tokens", "encoder_model", "decoder_model_merged")}
    features = s["vision_encoder"].run(None, {"pixel_values": pixels})[0]
    text = s["embed_tokens"].run(None, {"input_ids": input_ids})[0]
    embeds = np.concatenate([features, text], axis=1)
    mask = np.ones(embeds.shape[:2], np.int64)
    encoded = s["encoder_model"].run(None, {"inputs_embeds": embeds, "attention_mask": mask})[0]
    names = past_names("past_key_values", layers)
    past = {n: np.zeros((1, heads, 0, dim), np.float32) for n in names}
    ids, use_cache = [eos], False
    for _ in range(max_new):
        step = s["embed_tokens"].run(None, {"input_ids": np.array([[ids[-1]]], np.int64)})[0]
        out = s["decoder_model_merged"].run(None, {"inputs_embeds": step, "encoder_attention_mask": mask, "encoder_hidden_states": encoded,
                                                  "use_cache_branch": np.array([use_cache]), **past})
        ids.append(int(out[0][0, -1].argmax()))
        # As transformers.js keeps them: the decoder's new cache, the encoder's from step one.
        past = {n: (o if (".decoder." in n or not use_cache) else past[n]) for n, o in zip(names, out[1:])}
        use_cache = True
        if ids[-1] == eos:
            break
    return ids


def main():
    ap = argparse.ArgumentParser()
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="a converted model directory (manifest.json + shards)")
    src.add_argument("--size", choices=["base", "large"], help="pytorch_peer.py's random full-size model")
    ap.add_argument("--image-size", type=int, default=768, help="input side of the random model")
    ap.add_argument("--tokens", type=int, help="most new tokens (both engines; default 128 for --model, 20 for --size)")
    ap.add_argument("out")
    args = ap.parse_args()
    torch.set_num_threads(2)
    from tokenizers import Tokenizer
    from transformers import GenerationConfig
    from transformers.modeling_outputs import BaseModelOutput

    if args.model:
        model, config = load_converted(args.model)
        tok = Tokenizer.from_file(os.path.join(args.model, "tokenizer.json"))
        side = json.load(open(os.path.join(args.model, "preprocessor_config.json")))["size"]["height"]
        os.makedirs(args.out, exist_ok=True)
        pixels, prompt, name = scene_at(side, args.out), "Locate red circles in the image.", os.path.basename(os.path.normpath(args.model))
        max_new = args.tokens or 128
    else:
        tok = Tokenizer.from_file(pytorch_peer.TOKENIZER)
        image_id, eos = tok.token_to_id("<image>"), tok.token_to_id("</s>")
        model = pytorch_peer.build_model(args.size, image_id, eos)
        config, side = model.config, args.image_size
        pixels, prompt, name = pytorch_peer.pixel_values(pytorch_peer.image(side)), pytorch_peer.OD_PROMPT, f"florence2-{args.size}-random"
        max_new = args.tokens or 20
    text = config.text_config
    layers, heads, dim = text.decoder_layers, text.decoder_attention_heads, text.d_model // text.decoder_attention_heads
    ids = {k: tok.token_to_id(v) for k, v in dict(bos="<s>", eos="</s>", pad="<pad>", image="<image>").items()}
    prompt_ids = tok.encode(f"<s>{prompt}</s>", add_special_tokens=False).ids
    os.makedirs(os.path.join(args.out, "onnx"), exist_ok=True)
    onnx_dir = os.path.join(args.out, "onnx")

    with torch.no_grad():
        # Reference: features, encoder states and transformers' greedy ids for the bench input.
        features = VisionEncoder(model)(pixels)
        input_ids = torch.tensor([prompt_ids])
        embeds = torch.cat([features, model.get_input_embeddings()(input_ids)], dim=1)
        mask = torch.ones(embeds.shape[:2], dtype=torch.long)
        encoded = Encoder(model)(embeds, mask)
        greedy = GenerationConfig(num_beams=1, do_sample=False, max_new_tokens=max_new, decoder_start_token_id=ids["eos"],
                                  bos_token_id=ids["bos"], eos_token_id=ids["eos"], pad_token_id=ids["pad"],
                                  no_repeat_ngram_size=0, forced_bos_token_id=None, forced_eos_token_id=None)
        # transformers fills a None in the passed config from the model's own (the config's
        # forced_eos_token_id 2 would force </s> as the last allowed token): neither engine under
        # test forces it (transformers.js reads the generation_config.json written below).
        model.generation_config.forced_eos_token_id = None
        reference = model.generate(encoder_outputs=BaseModelOutput(last_hidden_state=encoded), attention_mask=mask,
                                   generation_config=greedy)[0].tolist()
        print(f"reference greedy ids ({len(reference) - 1} new): {reference}", file=sys.stderr)

        path = os.path.join(onnx_dir, "vision_encoder.onnx")
        export(VisionEncoder(model), (pixels,), path, ["pixel_values"], ["image_features"],
               {"pixel_values": {0: "batch_size"}, "image_features": {0: "batch_size"}})
        check(path, {"pixel_values": pixels}, [features], "vision_encoder")

        path = os.path.join(onnx_dir, "embed_tokens.onnx")
        export(EmbedTokens(model), (input_ids,), path, ["input_ids"], ["inputs_embeds"],
               {"input_ids": {0: "batch_size", 1: "sequence_length"}, "inputs_embeds": {0: "batch_size", 1: "sequence_length"}})
        check(path, {"input_ids": input_ids.numpy()}, [model.get_input_embeddings()(input_ids)], "embed_tokens")

        path = os.path.join(onnx_dir, "encoder_model.onnx")
        export(Encoder(model), (embeds, mask), path, ["inputs_embeds", "attention_mask"], ["last_hidden_state"],
               {"inputs_embeds": {0: "batch_size", 1: "encoder_sequence_length"},
                "attention_mask": {0: "batch_size", 1: "encoder_sequence_length"},
                "last_hidden_state": {0: "batch_size", 1: "encoder_sequence_length"}})
        check(path, {"inputs_embeds": embeds, "attention_mask": mask.numpy()}, [encoded], "encoder_model")

        # The decoder twice (first step; later steps with a cache), then merged under one If.
        start = model.get_input_embeddings()(torch.tensor([[ids["eos"]]]))
        first = DecoderStep(model, layers, with_past=False)(start, mask, encoded)
        nxt = model.get_input_embeddings()(torch.tensor([[reference[1]]]))
        second = DecoderStep(model, layers, with_past=True)(nxt, mask, encoded, *first[1:])
        base_inputs = ["inputs_embeds", "encoder_attention_mask", "encoder_hidden_states"]
        present = past_names("present", layers)
        seq = {0: "batch_size", 1: "decoder_sequence_length"}
        dyn = {"inputs_embeds": seq, "encoder_attention_mask": {0: "batch_size", 1: "encoder_sequence_length"},
               "encoder_hidden_states": {0: "batch_size", 1: "encoder_sequence_length"}, "logits": seq}
        for n in present:
            dyn[n] = {0: "batch_size", 2: "past_decoder_sequence_length + 1" if ".decoder." in n else "encoder_sequence_length_out"}
        no_past = os.path.join(onnx_dir, "decoder_model.onnx")
        export(DecoderStep(model, layers, False), (start, mask, encoded), no_past, base_inputs, ["logits", *present], dyn)
        check(no_past, {"inputs_embeds": start, "encoder_attention_mask": mask.numpy(), "encoder_hidden_states": encoded}, first, "decoder (first step)")
        past = past_names("past_key_values", layers)
        dyn_past = dict(dyn)
        for n in past:
            dyn_past[n] = {0: "batch_size", 2: "past_decoder_sequence_length" if ".decoder." in n else "encoder_sequence_length_out"}
        with_past = os.path.join(onnx_dir, "decoder_with_past_model.onnx")
        export(DecoderStep(model, layers, True), (nxt, mask, encoded, *first[1:]), with_past, base_inputs + past, ["logits", *present], dyn_past)
        feeds = {"inputs_embeds": nxt, "encoder_attention_mask": mask.numpy(), "encoder_hidden_states": encoded}
        feeds.update({n: v for n, v in zip(past, first[1:])})
        check(with_past, feeds, second, "decoder (step with past)")
        merged = os.path.join(onnx_dir, "decoder_model_merged.onnx")
        merge_decoders(no_past, with_past, merged, heads=heads, head_dim=dim)
        for p in (no_past, with_past):
            os.remove(p)
        check(merged, dict(feeds, use_cache_branch=np.array([True])), second, "decoder_model_merged (cache branch)")
        empty = {n: np.zeros((1, heads, 0, dim), np.float32) for n in past}
        check(merged, {"inputs_embeds": start, "encoder_attention_mask": mask.numpy(), "encoder_hidden_states": encoded,
                       "use_cache_branch": np.array([False]), **empty}, first[:1], "decoder_model_merged (first step)")

        greedy_ids = ort_greedy(onnx_dir, input_ids.numpy(), pixels.numpy(), ids["eos"], len(reference) - 1, layers, heads, dim)
        if greedy_ids != reference:
            raise SystemExit(f"greedy decoding through the exported graphs gives {greedy_ids}, transformers {reference}")
        print(f"  greedy decoding through all four graphs (onnxruntime) equals transformers' ids", file=sys.stderr)

    cfg = config.to_dict()
    cfg["transformers.js_config"] = {"dtype": "fp32"}
    json.dump(cfg, open(os.path.join(args.out, "config.json"), "w"), indent=1)
    json.dump(dict(decoder_start_token_id=ids["eos"], bos_token_id=ids["bos"], eos_token_id=ids["eos"], pad_token_id=ids["pad"],
                   forced_bos_token_id=None, forced_eos_token_id=None, no_repeat_ngram_size=0, num_beams=1),
              open(os.path.join(args.out, "generation_config.json"), "w"), indent=1)
    if args.model:
        # Our app loads the converted model itself from OUT/ours (bench.mjs adds it to the catalog).
        ours = os.path.join(args.out, "ours")
        if os.path.lexists(ours):
            os.remove(ours)
        os.symlink(os.path.abspath(args.model), ours)
    json.dump(dict(model=name, prompt=prompt, scene="scene.png" if args.model else None, ours="ours" if args.model else None, prompt_ids=prompt_ids, image_size=side, max_new_tokens=max_new,
                   pixel_values=pixels.flatten().tolist(), reference_ids=reference,
                   reference_text=tok.decode(reference, skip_special_tokens=False)),
              open(os.path.join(args.out, "inputs.json"), "w"))
    print(f"exported {name} -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
