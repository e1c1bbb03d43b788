"""Build a BERT encoder's ONNX graph straight from its model.safetensors and config.json, without torch.

The graph is the one `torch.onnx.export` writes for the transformer of an all-MiniLM-style model
(ingest/query_encoder.py): inputs input_ids, attention_mask, token_type_ids (int64, [batch, sequence]),
output last_hidden_state (float32, [batch, sequence, hidden]). Pooling and normalisation stay in
ingest/onnx_encoder.py. Only `onnx`, `safetensors` and numpy are imported: importing
sentence-transformers alone takes several times as long as `import torch`, and the first ingest built
the graph through it.
"""

from __future__ import annotations

import json
from pathlib import Path

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OPSET = 17  # the first with LayerNormalization; the same opset the torch export used


class UnsupportedModel(ValueError):
    """The model is not a plain absolute-position BERT with GELU(erf) that this builder reproduces."""


def _config(model_dir: Path) -> dict:
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    wanted = {"model_type": "bert", "hidden_act": "gelu", "position_embedding_type": "absolute"}
    for key, value in wanted.items():
        if config.get(key, value) != value:
            raise UnsupportedModel(f"{key} is {config.get(key)!r}, not {value!r}")
    if config["hidden_size"] % config["num_attention_heads"]:
        raise UnsupportedModel("hidden_size is not a multiple of num_attention_heads")
    return config


def build_bert_graph(model_dir: Path, out: Path) -> None:
    """Write model_dir's BERT (model.safetensors + config.json) to `out` as an ONNX graph of last_hidden_state."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from safetensors.numpy import load_file

    model_dir = Path(model_dir)
    config = _config(model_dir)
    weights = load_file(str(model_dir / "model.safetensors"))
    # Checkpoints saved from BertModel have no prefix; from BertForX they have "bert.".
    prefix = "bert." if "bert.embeddings.word_embeddings.weight" in weights else ""
    hidden, heads = int(config["hidden_size"]), int(config["num_attention_heads"])
    head_dim, eps = hidden // heads, float(config.get("layer_norm_eps", 1e-12))
    nodes, inits = [], []

    def weight(name: str):
        key = prefix + name
        if key not in weights:
            raise UnsupportedModel(f"model.safetensors has no {key}")
        return weights[key].astype(np.float32, copy=False)

    def const(name: str, array) -> str:
        inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(op: str, inputs: list[str], name: str, **attrs) -> str:
        nodes.append(helper.make_node(op, inputs, [name], name=f"{op}_{name}", **attrs))
        return name

    def linear(x: str, name: str) -> str:
        # torch's Linear keeps weight as [out, in]; MatMul wants [in, out].
        w = const(f"{name}.weight", weight(f"{name}.weight").T.copy())
        return node("Add", [node("MatMul", [x, w], f"{name}.mm"), const(f"{name}.bias", weight(f"{name}.bias"))], name)

    def layer_norm(x: str, name: str) -> str:
        return node("LayerNormalization", [x, const(f"{name}.weight", weight(f"{name}.weight")),
                                           const(f"{name}.bias", weight(f"{name}.bias"))], name, axis=-1, epsilon=eps)

    # Embeddings: word + absolute position (0..sequence-1) + token type, then LayerNorm.
    seq = node("Gather", [node("Shape", ["input_ids"], "ids_shape"), const("one_i", np.array(1, np.int64))],
               "seq_len", axis=0)
    positions = node("Range", [const("zero_i", np.array(0, np.int64)), seq, "one_i"], "positions")
    emb = "embeddings"
    words = node("Gather", [const(f"{emb}.word", weight(f"{emb}.word_embeddings.weight")), "input_ids"], "words")
    where = node("Gather", [const(f"{emb}.position", weight(f"{emb}.position_embeddings.weight")), positions], "where")
    types = node("Gather", [const(f"{emb}.type", weight(f"{emb}.token_type_embeddings.weight")), "token_type_ids"],
                 "types")
    # Summed in the order transformers sums them, so the float rounding is the same as the torch export's.
    x = layer_norm(node("Add", [node("Add", [words, types], "emb_sum1"), where], "emb_sum2"), f"{emb}.LayerNorm")

    # Additive attention mask [batch, 1, 1, sequence]: 0 where attended, the float32 minimum where padded,
    # as transformers' BertModel computes it.
    mask = node("Cast", ["attention_mask"], "mask_f", to=TensorProto.FLOAT)
    mask = node("Unsqueeze", [mask, const("mask_axes", np.array([1, 2], np.int64))], "mask_4d")
    inverted = node("Sub", [const("one_f", np.array(1.0, np.float32)), mask], "mask_inv")
    additive = node("Mul", [inverted, const("min_f", np.array(np.finfo(np.float32).min, np.float32))], "mask_add")

    split_shape = const("split_shape", np.array([0, 0, heads, head_dim], np.int64))
    merge_shape = const("merge_shape", np.array([0, 0, hidden], np.int64))
    # Queries and keys are each scaled by head_dim ** -0.25 before their product, as torch's
    # scaled_dot_product_attention exports it (the same rounding as the torch export, not just the same maths).
    scale = const("scale", np.array(head_dim ** -0.25, np.float32))
    half, root2 = const("half", np.array(0.5, np.float32)), const("root2", np.array(np.sqrt(2.0), np.float32))
    for i in range(int(config["num_hidden_layers"])):
        p = f"encoder.layer.{i}"

        def heads_of(kind: str, perm: list[int]) -> str:
            projected = linear(x, f"{p}.attention.self.{kind}")
            return node("Transpose", [node("Reshape", [projected, split_shape], f"{p}.{kind}.split")],
                        f"{p}.{kind}.heads", perm=perm)

        q, k, v = heads_of("query", [0, 2, 1, 3]), heads_of("key", [0, 2, 3, 1]), heads_of("value", [0, 2, 1, 3])
        q, k = node("Mul", [q, scale], f"{p}.q_scaled"), node("Mul", [k, scale], f"{p}.k_scaled")
        scores = node("Add", [node("MatMul", [q, k], f"{p}.qk"), additive], f"{p}.masked")
        probs = node("Softmax", [scores], f"{p}.probs", axis=-1)
        context = node("Transpose", [node("MatMul", [probs, v], f"{p}.context")], f"{p}.context_t", perm=[0, 2, 1, 3])
        context = node("Reshape", [context, merge_shape], f"{p}.merged")
        attended = linear(context, f"{p}.attention.output.dense")
        x = layer_norm(node("Add", [attended, x], f"{p}.residual1"), f"{p}.attention.output.LayerNorm")
        inner = linear(x, f"{p}.intermediate.dense")
        # GELU as BERT's "gelu": 0.5 * x * (1 + erf(x / sqrt(2))).
        erf = node("Erf", [node("Div", [inner, root2], f"{p}.gelu_div")], f"{p}.gelu_erf")
        gelu = node("Mul", [node("Mul", [inner, node("Add", [erf, "one_f"], f"{p}.gelu_add")], f"{p}.gelu_x"), half],
                    f"{p}.gelu")
        x = layer_norm(node("Add", [linear(gelu, f"{p}.output.dense"), x], f"{p}.residual2"), f"{p}.output.LayerNorm")
    nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"], name="output"))

    graph = helper.make_graph(
        nodes, "bert_last_hidden_state",
        [helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "sequence"]) for name in INPUTS],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", hidden])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="consensus-chat bert_graph")
    model.ir_version = 8  # onnxruntime 1.14 and later read it
    # No onnx.checker pass (a quarter of a second on the first run): onnxruntime refuses a malformed graph
    # when it opens it, and the caller checks the vectors against sentence-transformers' anyway.
    onnx.save(model, str(out))
