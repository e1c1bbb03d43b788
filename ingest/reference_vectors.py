"""sentence-transformers' vectors of fixed check texts, computed once per weights and kept in the package.

The first ingest checks the ONNX graph it builds without torch (ingest/direct_export.py) against these, so it
need not import sentence-transformers. They live in ingest/reference_vectors/<weights_sha256[:16]>.json,
rounded to 6 decimals; tests/test_onnx_graph.py recomputes them with sentence-transformers and fails if they
drift. To add a model's: `python -m consensus_chat.ingest.reference_vectors [MODEL_DIR]`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .onnx_encoder import CHECK_TEXTS

FOLDER = Path(__file__).resolve().parent / "reference_vectors"
# Besides the runtime's check texts, one text longer than the model's 256 word pieces, so the build's check
# also covers truncation and every position embedding.
LONG_TEXT = " ".join(
    f"Section {i}: the measurement of length, mass and time is traceable to the SI units ({i * 7 % 100}%), "
    "and the laboratory's uncertainty budget is reviewed every year."
    for i in range(1, 21)
)
REFERENCE_TEXTS = (*CHECK_TEXTS, LONG_TEXT)
DECIMALS = 6


def reference_path(weights_sha256: str) -> Path:
    """Where the stored reference vectors of these weights are (whether or not they exist)."""
    return FOLDER / f"{weights_sha256[:16]}.json"


def stored_reference(weights_sha256: str) -> dict | None:
    """The stored texts and vectors of these exact weights, or None when none are kept (or they are damaged)."""
    try:
        data = json.loads(reference_path(weights_sha256).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("weights_sha256") != weights_sha256:
        return None
    texts, vectors = data.get("texts"), data.get("vectors")
    if not isinstance(texts, list) or not isinstance(vectors, list) or len(texts) != len(vectors) or not texts:
        return None
    return data


def compute_reference(spec) -> dict:
    """The reference record of `spec`'s weights, computed with sentence-transformers (imports torch)."""
    from .embedder import Embedder

    embedder = Embedder(spec)
    vectors = embedder.encode(list(REFERENCE_TEXTS))
    return {
        "model": spec.name if "/" in spec.name and not Path(spec.name).is_absolute() else Path(spec.name).name,
        "weights_sha256": spec.weights_sha256,
        "made_with": "sentence-transformers SentenceTransformer.encode, normalized; rounded to 6 decimals",
        "texts": list(REFERENCE_TEXTS),
        "vectors": [[round(float(x), DECIMALS) for x in row] for row in vectors],
    }


def main(argv: list[str]) -> int:
    """Write the reference vectors of the packaged model (or of MODEL_DIR) into the package."""
    from .embedder import resolve_model
    from .errors import ModelError

    try:
        spec = resolve_model(argv[0] if argv else None)
    except ModelError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    record = compute_reference(spec)
    path = reference_path(spec.weights_sha256)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
