"""Export the model of record to ONNX once per model, so queries (and, once checked, documents) need no torch.

sentence-transformers is the reference: its vectors of the check texts are what an export must reproduce.
For weights whose reference vectors the package stores (ingest/reference_vectors/), the graph is built from
model.safetensors without torch (ingest/direct_export.py) and checked against them; for any other model, or
if that build fails its check, sentence-transformers exports the transformer and embeds the check texts. The runtime
(ingest/onnx_encoder.py) is mean pooling and L2 normalisation over onnxruntime + `tokenizers`, without
torch, transformers or scikit-learn. The export lives in the per-model cache, keyed by the weights' hash,
so every index of the same model shares it:

    <cache dir>/query-encoder/<weights_sha256[:16]>/
        model.onnx       the transformer (last_hidden_state), dynamic batch and sequence axes
        tokenizer.json   the model's fast tokenizer, exactly as sentence-transformers uses it
        reference.npy    sentence-transformers vectors of the check texts (CHECK_TEXTS when exported)
        meta.json        format, model name, full weights hash, dim, max_tokens, pooling

An export is published only after the runtime reproduces the reference vectors (cosine >= MIN_COSINE), and
every open checks again; an export that fails is not used and sentence-transformers takes over, with a
warning. Indexes built before the cache kept their own copy under `<index dir>/query-encoder/`: that copy
is still used, and ingest moves it into the cache instead of exporting again.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

from .config import default_cache_dir
from .embedder import Embedder, ModelSpec, VectorEncoder, load_embedder, overridden
from .errors import ModelError, first_line
from .onnx_encoder import CHECK_TEXTS, FORMAT, MIN_COSINE, OnnxQueryEncoder

log = logging.getLogger(__name__)

DIRNAME = "query-encoder"
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
__all__ = ["CHECK_TEXTS", "MIN_COSINE", "encoder_dir", "legacy_encoder_dir", "read_meta", "export_query_encoder",
           "ensure_query_encoder", "open_document_encoder"]


def encoder_dir(spec: ModelSpec) -> Path:
    """Where the export of this model's weights lives in the per-model cache."""
    return default_cache_dir() / DIRNAME / spec.weights_sha256[:16]


def legacy_encoder_dir(index_dir: Path, spec: ModelSpec) -> Path:
    """Where an index built before the per-model cache kept its own export."""
    return Path(index_dir) / DIRNAME / spec.weights_sha256[:16]


def read_meta(path: Path, spec: ModelSpec) -> dict | None:
    """The export's meta.json if it is complete and made from these weights, else None."""
    try:
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except PermissionError:  # not damage: "exported again" or "--rebuild" would not help
        raise ModelError(f"The query encoder at {path} cannot be read: permission denied. Give this user read access "
                         "to it, or set CONSENSUS_CHAT_CACHE to a folder it can use.") from None
    except (OSError, ValueError) as exc:
        log.warning("Ignoring the damaged query encoder at %s (%s); it will be exported again.", path, exc)
        return None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("weights_sha256") != spec.weights_sha256:
        return None
    if not all((path / name).is_file() for name in ("model.onnx", "tokenizer.json", "reference.npy")):
        return None
    return meta


def export_query_encoder(spec: ModelSpec, note: Callable[[str], None] | None = None) -> Path:
    """Write and check the ONNX export for `spec` in the per-model cache unless it is there; its directory.

    Builds it from the weights with `onnx` and numpy when reference vectors are stored for them, else imports
    torch (through sentence-transformers) and `onnx`. `note` is told what happens (once per model).
    Raises RuntimeError when the fresh export does not reproduce sentence-transformers.
    """
    target = encoder_dir(spec)
    if read_meta(target, spec) is not None:
        return target
    started = time.perf_counter()
    (note or log.info)(f"Exporting the ONNX encoder of {Path(spec.name).name} (once per model, kept in {target.parent})...")
    if _export_direct(spec, target, note or log.info):
        (note or log.info)(f"Exported and checked in {time.perf_counter() - started:.1f}s (built from the weights).")
        return target
    embedder = load_embedder(spec=spec)
    if not isinstance(embedder, Embedder):
        # A stand-in embedder (benchmarks) has no transformer to export; load the real one.
        embedder = Embedder(spec)
    with _staged(target) as tmp:
        _write(embedder, spec, tmp)
        (note or log.info)("Checking the export against sentence-transformers (once per model)...")
        cosine = OnnxQueryEncoder(spec, tmp, read_meta(tmp, spec)).check()
        if cosine < MIN_COSINE:
            raise RuntimeError(f"the ONNX export differs from sentence-transformers (cosine {cosine:.6f} < {MIN_COSINE})")
        _publish(tmp, target, spec)
    (note or log.info)(f"Exported and checked in {time.perf_counter() - started:.1f}s.")
    return target


def _export_direct(spec: ModelSpec, target: Path, say: Callable[[str], None]) -> bool:
    """Build the export without torch from the weights (ingest/direct_export.py) and publish it; False, with a
    log line saying why, when sentence-transformers must export instead."""
    from .direct_export import NoReference, build_direct

    with _staged(target) as tmp:  # a folder that cannot be made is not a failed build: it propagates
        try:
            cosine = build_direct(spec, tmp, say)
            _publish(tmp, target, spec)
        except NoReference as exc:  # any model but the packaged one: the usual case
            log.info("Exporting with sentence-transformers instead of building the graph from the weights: %s.", exc)
            return False
        except Exception as exc:  # noqa: BLE001 - whatever broke, sentence-transformers' export is the fallback
            log.warning("Warning: building the ONNX graph from the weights failed (%s); exporting with "
                        "sentence-transformers instead.", first_line(exc))
            return False
    log.info("Built the ONNX graph from the weights; lowest cosine to sentence-transformers' stored vectors %.6f.",
             cosine)
    return True


@contextlib.contextmanager
def _staged(target: Path) -> Iterator[Path]:
    """A new temporary folder beside `target` to write an export into (then `_publish` it); removed at the end."""
    # Beside the target, so that publishing is one rename on the same file system.
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _publish(tmp: Path, target: Path, spec: ModelSpec) -> None:
    if read_meta(target, spec) is not None:
        return  # another process published the same export meanwhile; theirs is as good as ours
    if target.exists():
        shutil.rmtree(target)  # an incomplete or outdated export
    try:
        os.replace(tmp, target)
    except OSError:
        # Another process published the same export first; theirs is as good as ours.
        if read_meta(target, spec) is None:
            raise


def _adopt_legacy(spec: ModelSpec, index_dir: Path | None) -> Path | None:
    """Copy an index's own export (built before the cache) into the cache: no torch, no re-export."""
    if index_dir is None:
        return None
    source = legacy_encoder_dir(index_dir, spec)
    if read_meta(source, spec) is None:
        return None
    target = encoder_dir(spec)
    with _staged(target) as tmp:
        shutil.copytree(source, tmp, dirs_exist_ok=True)
        _publish(tmp, target, spec)
    log.info("Moved the query encoder of %s into the per-model cache %s.", index_dir, target)
    return target


def ensure_query_encoder(spec: ModelSpec, index_dir: Path | None = None,
                         note: Callable[[str], None] | None = None) -> Path | None:
    """Ingest's call: the cached export (reused, taken over from an older index, or exported now); on failure
    warn and return None, since sentence-transformers embeds instead."""
    try:
        if read_meta(encoder_dir(spec), spec) is not None:
            return encoder_dir(spec)
        return _adopt_legacy(spec, index_dir) or export_query_encoder(spec, note)
    except (ImportError, OSError, RuntimeError) as exc:
        log.warning("Warning: could not export the ONNX query encoder (%s); sentence-transformers will embed "
                    "documents and queries.", first_line(exc))
        return None


def open_document_encoder(spec: ModelSpec, index_dir: Path | None = None,
                          note: Callable[[str], None] | None = None, *, stand_ins: bool = True) -> VectorEncoder:
    """What ingest embeds with: the checked ONNX export (no torch), else sentence-transformers with a warning.

    With `stand_ins`, a stand-in installed with `use_embedder` (benchmarks) wins over both.
    """
    stand_in = overridden(spec) if stand_ins else None
    if stand_in is not None:
        return stand_in
    path = ensure_query_encoder(spec, index_dir, note)
    if path is None:
        return load_embedder(spec=spec)
    try:
        encoder = OnnxQueryEncoder(spec, path, read_meta(path, spec))
        cosine = encoder.check()
    except (OSError, ValueError, RuntimeError, TypeError) as exc:
        reason = f"it cannot be opened ({first_line(exc)})"
    else:
        if cosine >= MIN_COSINE:
            return encoder
        reason = f"it differs from sentence-transformers (cosine {cosine:.6f} < {MIN_COSINE})"
    log.warning("Warning: not embedding with the ONNX encoder at %s: %s. Delete that folder to export it again; "
                "embedding with sentence-transformers instead.", path, reason)
    return load_embedder(spec=spec)


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
        # reference check catches an export that computes something else.
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
