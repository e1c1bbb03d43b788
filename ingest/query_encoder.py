"""Export the model of record to an ONNX query encoder, so searching never needs torch.

sentence-transformers embeds every document at ingest; queries only need the same transformer,
mean pooling and L2 normalisation, which onnxruntime + `tokenizers` do without torch,
transformers or scikit-learn. Ingest writes the export once per model weights:

    <index dir>/query-encoder/<weights_sha256[:16]>/
        model.onnx       the transformer (last_hidden_state), dynamic batch and sequence axes
        tokenizer.json   the model's fast tokenizer, exactly as sentence-transformers uses it
        reference.npy    sentence-transformers vectors of the check texts (CHECK_TEXTS when exported)
        meta.json        format, model name, full weights hash, dim, max_tokens, pooling

The runtime (retriever/encoder.py) encodes the check texts on every open and uses the export only if
each vector's cosine to the reference is at least MIN_COSINE; otherwise it falls back to
sentence-transformers with a warning.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import warnings
from pathlib import Path

from .embedder import Embedder, ModelSpec, load_embedder

log = logging.getLogger(__name__)

FORMAT = 1
MIN_COSINE = 0.9999
# Fixed, document-independent texts of different lengths, so the check covers padding in a batch.
CHECK_TEXTS = (
    "What is this about?",
    "How are the results measured, and who checks them?",
    "A longer sentence with commas, numbers such as 3.2.1 and 2025, hyphenated-words and (brackets).",
    "résumé, naïve café — Unicode and punctuation!",
)
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def encoder_dir(index_dir: Path, spec: ModelSpec) -> Path:
    """Where the export for this model's weights lives under an index directory."""
    return Path(index_dir) / "query-encoder" / spec.weights_sha256[:16]


def read_meta(path: Path, spec: ModelSpec) -> dict | None:
    """The export's meta.json if it is complete and made from these weights, else None."""
    try:
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except PermissionError:  # not damage: "exported again" or "--rebuild" would not help
        from .store_base import unreadable

        raise unreadable(path, path.parent.parent) from None
    except (OSError, ValueError) as exc:
        log.warning("Ignoring the damaged query encoder at %s (%s); it will be exported again.", path, exc)
        return None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("weights_sha256") != spec.weights_sha256:
        return None
    if not all((path / name).is_file() for name in ("model.onnx", "tokenizer.json", "reference.npy")):
        return None
    return meta


def export_query_encoder(spec: ModelSpec, index_dir: Path) -> Path:
    """Write the ONNX query encoder for `spec` under `index_dir` unless it is already there; its directory.

    Imports torch (through sentence-transformers) and `onnx`: call it from ingest, or once from a
    retriever that opens an index built before exports existed.
    """
    target = encoder_dir(index_dir, spec)
    if read_meta(target, spec) is not None:
        return target
    embedder = load_embedder(spec=spec)
    if not isinstance(embedder, Embedder):
        # A stand-in embedder (benchmarks) has no transformer to export; load the real one.
        embedder = Embedder(spec)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
    try:
        _write(embedder, spec, tmp)
        if target.exists():
            shutil.rmtree(target)  # an incomplete or outdated export
        try:
            os.replace(tmp, target)
        except OSError:
            # Another process published the same export first; theirs is as good as ours.
            if read_meta(target, spec) is None:
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def ensure_query_encoder(spec: ModelSpec, index_dir: Path) -> Path | None:
    """Ingest's call: write (or reuse) the export; on failure warn and go on, since search falls back."""
    try:
        return export_query_encoder(spec, index_dir)
    except (ImportError, OSError, RuntimeError) as exc:
        lines = str(exc).strip().splitlines()
        log.warning("Warning: could not export the ONNX query encoder (%s); searches will embed queries "
                    "with sentence-transformers.", lines[0] if lines else type(exc).__name__)
        return None


def _write(embedder: Embedder, spec: ModelSpec, out: Path) -> None:
    import numpy as np
    import torch

    model = embedder.model
    transformer = model[0].auto_model.eval()
    tokenizer = model.tokenizer

    class LastHiddenState(torch.nn.Module):
        """The transformer with plain tensor inputs and one output, as the exporter wants."""

        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    sample = tokenizer(list(CHECK_TEXTS[:2]), padding=True, return_tensors="pt")
    args = tuple(sample.get(name, torch.zeros_like(sample["input_ids"])) for name in _INPUTS)
    axes = {name: {0: "batch", 1: "sequence"} for name in (*_INPUTS, "last_hidden_state")}
    with warnings.catch_warnings(), torch.no_grad():
        # The TorchScript exporter is deprecated in favour of the dynamo one, which needs
        # onnxscript; its trace warnings are about shapes the dynamic axes already cover, and the
        # reference check below catches an export that computes something else.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message="Exporting aten::index operator")
        torch.onnx.export(
            LastHiddenState(transformer), args, str(out / "model.onnx"), input_names=list(_INPUTS),
            output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=17, dynamo=False,
        )
    tokenizer.backend_tokenizer.save(str(out / "tokenizer.json"))
    np.save(out / "reference.npy", embedder.encode(list(CHECK_TEXTS)))
    meta = {
        "format": FORMAT, "model": spec.name, "weights_sha256": spec.weights_sha256, "dim": embedder.dim,
        "max_tokens": embedder.max_tokens, "pooling": str(getattr(model[1], "pooling_mode", "unknown")) if len(model) > 1 else "none",
        "pad_id": tokenizer.pad_token_id or 0, "pad_token": tokenizer.pad_token or "[PAD]",
        # The texts reference.npy holds, in order: the check uses these, so changing CHECK_TEXTS
        # later cannot make an older export fail against vectors of other texts.
        "check_texts": list(CHECK_TEXTS),
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
