"""Merge two exported decoder graphs into optimum's `decoder_model_merged` layout: one graph whose
inputs are the with-past decoder's plus a bool `use_cache_branch`, and one If node choosing the
first-step graph (else branch) or the with-past graph (then branch). Weights both graphs hold are
stored once (by content); each branch's intermediate names get a prefix so the two never clash.
Written here (numpy + onnx) instead of depending on optimum, whose pins do not follow transformers
5.x; used by export_onnx.py only.
"""
import hashlib

import onnx
from onnx import helper, numpy_helper


def _dedupe_initializers(graphs):
    """All initializers of `graphs` stored once by content; returns (initializers, renames per graph)."""
    by_content, taken, out, renames = {}, set(), [], []
    for graph in graphs:
        rename = {}
        for init in graph.initializer:
            raw = numpy_helper.to_array(init)
            key = (raw.dtype.str, raw.shape, hashlib.sha256(raw.tobytes()).hexdigest())
            if key not in by_content:
                name = init.name if init.name not in taken else f"{init.name}__{key[2][:12]}"
                taken.add(name)
                by_content[key] = name
                copy = numpy_helper.from_array(raw, name)
                out.append(copy)
            rename[init.name] = by_content[key]
        renames.append(rename)
    return out, renames


def _branch(graph, tag, rename, outer_inputs, output_names):
    """`graph` as an If branch: no inputs (the outer graph's inputs are seen by name), initializer
    names mapped to the shared ones, every other internal name prefixed with `tag`."""
    def name(n):
        if n == "" or n in outer_inputs:
            return n
        if n in rename:
            return rename[n]
        return f"{tag}/{n}"
    nodes = []
    for node in graph.node:
        copy = onnx.NodeProto()
        copy.CopyFrom(node)
        del copy.input[:]
        copy.input.extend(name(i) for i in node.input)
        del copy.output[:]
        copy.output.extend(name(o) for o in node.output)
        copy.name = f"{tag}/{node.name}"
        nodes.append(copy)
    outputs = []
    for out, want in zip(graph.output, output_names):
        if out.name != want:
            raise ValueError(f"{tag}: output {out.name} where {want} was expected")
        vi = onnx.ValueInfoProto()
        vi.CopyFrom(out)
        vi.name = name(out.name)
        outputs.append(vi)
    return helper.make_graph(nodes, f"{tag}_branch", [], outputs)


def merge_decoders(no_past_path, with_past_path, out_path, heads, head_dim):
    no_past, with_past = onnx.load(no_past_path), onnx.load(with_past_path)
    outputs = [o.name for o in with_past.graph.output]
    if outputs != [o.name for o in no_past.graph.output]:
        raise ValueError("the two decoders have different outputs")
    init_names = {i.name for g in (no_past.graph, with_past.graph) for i in g.initializer}
    inputs = [i for i in with_past.graph.input if i.name not in init_names]
    input_names = {i.name for i in inputs}
    missing = [i.name for i in no_past.graph.input if i.name not in init_names and i.name not in input_names]
    if missing:
        raise ValueError(f"first-step inputs the with-past decoder lacks: {missing}")
    initializers, (rename_np, rename_wp) = _dedupe_initializers([no_past.graph, with_past.graph])
    else_branch = _branch(no_past.graph, "first", rename_np, input_names, outputs)
    then_branch = _branch(with_past.graph, "cached", rename_wp, input_names, outputs)
    use_cache = helper.make_tensor_value_info("use_cache_branch", onnx.TensorProto.BOOL, [1])
    node = helper.make_node("If", ["use_cache_branch"], outputs, name="optimum::if", then_branch=then_branch, else_branch=else_branch)
    # The with-past decoder's output types: their sequence dims are symbolic, so they also describe
    # the first step's shorter outputs.
    graph = helper.make_graph([node], "decoder_model_merged", inputs + [use_cache], list(with_past.graph.output), initializer=initializers)
    model = helper.make_model(graph, opset_imports=with_past.opset_import, producer_name="visionllm export_onnx.py")
    model.ir_version = with_past.ir_version
    onnx.checker.check_model(model)
    onnx.save(model, out_path)
