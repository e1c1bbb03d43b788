"""Write the query encoder's export without torch: the BERT graph from the weights, checked against stored vectors.

The same folder as the sentence-transformers export (ingest/query_encoder.py) writes: model.onnx
(last_hidden_state), tokenizer.json, reference.npy and meta.json. Only models whose weights have stored
reference vectors (ingest/reference_vectors.py) are built this way; the caller falls back to
sentence-transformers for any other, or when the graph does not reproduce the stored vectors.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from .embedder import ModelSpec
from .onnx_encoder import CHECK_TEXTS, FORMAT, MIN_COSINE, OnnxQueryEncoder
from .reference_vectors import stored_reference


class NotBuilt(RuntimeError):
    """The direct build does not apply to this model, or its graph failed the check; the reason says which."""


class NoReference(NotBuilt):
    """No reference vectors are stored for these weights (any model but the packaged one): the usual case."""


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NotBuilt(f"cannot read {path.name} ({exc})") from None


def _sentence_settings(model_dir: Path) -> tuple[int, int]:
    """(dim, max_tokens) of a Transformer → mean Pooling → Normalize sentence-transformers model, else NotBuilt."""
    modules = _read(model_dir / "modules.json")
    kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules] if isinstance(modules, list) else []
    if kinds != ["Transformer", "Pooling", "Normalize"]:
        raise NotBuilt(f"its modules are {kinds}, not Transformer, Pooling, Normalize")
    pooling_dir = next(m.get("path", "") for m in modules if str(m.get("type", "")).endswith("Pooling"))
    pooling = _read(model_dir / pooling_dir / "config.json")
    modes = sorted(k for k, v in pooling.items() if k.startswith("pooling_mode") and v is True)
    if modes != ["pooling_mode_mean_tokens"]:
        raise NotBuilt(f"its pooling is {modes}, not mean")
    max_tokens = _read(model_dir / "sentence_bert_config.json").get("max_seq_length")
    if not isinstance(max_tokens, int):
        raise NotBuilt("sentence_bert_config.json names no max_seq_length")
    return int(pooling["word_embedding_dimension"]), max_tokens


def build_direct(spec: ModelSpec, out: Path, say: Callable[[str], None] = print) -> float:
    """Write and check the export of `spec` into `out` without torch; the lowest cosine to the stored vectors.

    Raises NotBuilt when no reference vectors are stored for these weights, the model is not one this
    builder reproduces, or the graph's vectors differ from the stored ones (cosine < MIN_COSINE).
    """
    import numpy as np
    from tokenizers import Tokenizer

    from .bert_graph import UnsupportedModel, build_bert_graph

    reference = stored_reference(spec.weights_sha256)
    if reference is None:
        raise NoReference("no reference vectors are stored for these weights")
    model_dir = Path(spec.path)
    if not (model_dir / "model.safetensors").is_file():
        raise NotBuilt("the model has no model.safetensors")
    dim, max_tokens = _sentence_settings(model_dir)
    try:
        build_bert_graph(model_dir, out / "model.onnx")
    except (UnsupportedModel, KeyError, ValueError) as exc:
        raise NotBuilt(f"its graph cannot be built ({exc})") from None
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    padding = tokenizer.padding or {}
    pad_id, pad_token = int(padding.get("pad_id", 0)), str(padding.get("pad_token", "[PAD]"))
    # As sentence-transformers' own tokenizer saves it: no truncation, padded to the longest in a batch
    # (the runtime sets both again anyway).
    tokenizer.no_truncation()
    tokenizer.enable_padding(pad_id=pad_id, pad_token=pad_token)
    tokenizer.save(str(out / "tokenizer.json"))
    vectors = np.asarray(reference["vectors"], dtype=np.float32)
    texts = [str(t) for t in reference["texts"]]
    if vectors.shape != (len(texts), dim) or texts[: len(CHECK_TEXTS)] != list(CHECK_TEXTS):
        raise NotBuilt("the stored reference vectors do not fit this model or the check texts")
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)  # undo the rounding's tiny change of length
    np.save(out / "reference.npy", vectors[: len(CHECK_TEXTS)])
    meta = {
        "format": FORMAT, "model": spec.name, "weights_sha256": spec.weights_sha256, "dim": dim,
        "max_tokens": max_tokens,
        "pooling": "mean", "pad_id": pad_id, "pad_token": pad_token, "check_texts": list(CHECK_TEXTS),
        "built": "directly from model.safetensors (ingest/bert_graph.py), checked against stored reference vectors",
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    say("Checking the export against sentence-transformers' stored vectors of the check texts (once per model)...")
    # Every stored text, the long one too: the runtime's own check covers only CHECK_TEXTS.
    cosine = float(np.min(np.sum(OnnxQueryEncoder(spec, out, meta).encode(texts) * vectors, axis=1)))
    if cosine < MIN_COSINE:
        raise NotBuilt(f"its vectors differ from the stored sentence-transformers vectors (cosine {cosine:.6f} "
                       f"< {MIN_COSINE})")
    return cosine
