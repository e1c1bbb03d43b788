"""Run the exported encoder without torch: onnxruntime for the transformer, `tokenizers` for the word pieces.

The same mean pooling and L2 normalisation as sentence-transformers' all-MiniLM-style models. Ingest embeds
documents with it and the retriever embeds queries with it, once `check` shows it reproduces the
sentence-transformers vectors saved with the export (ingest/query_encoder.py).
"""

from __future__ import annotations

import os
from pathlib import Path

from .embedder import ModelSpec, VectorEncoder

# Fixed, document-independent texts of different lengths, so the check covers padding in a batch.
CHECK_TEXTS = (
    "What is this about?",
    "How are the results measured, and who checks them?",
    "A longer sentence with commas, numbers such as 3.2.1 and 2025, hyphenated-words and (brackets).",
    "résumé, naïve café — Unicode and punctuation!",
)
MIN_COSINE = 0.9999
# The export folder's layout (ingest/query_encoder.py); bump it when its files change meaning.
FORMAT = 1
# Word pieces per onnxruntime call (batch size x padded length). Its memory arena keeps the largest call's
# buffers for the life of the session, and attention grows with the square of the length: 32 chunks of
# 256 pieces raised ingest's peak RSS by 280 MB, 4 of them by 60 MB, and ran faster on 2 cores. Short
# texts (single words for the word table) still go in large batches.
MAX_BATCH_TOKENS = 1024


class OnnxQueryEncoder(VectorEncoder):
    """all-MiniLM-style sentence embeddings: transformer (ONNX) → mean pooling → L2 normalisation."""

    def __init__(self, spec: ModelSpec, path: Path, meta: dict):
        from tokenizers import Tokenizer

        from .telemetry import import_onnxruntime

        onnxruntime = import_onnxruntime()  # telemetry off before the first session (issue 20)

        super().__init__()
        self.spec = spec
        self.path = path
        self.dim = int(meta["dim"])
        self._check_texts = [str(t) for t in meta.get("check_texts", CHECK_TEXTS)]
        self.max_tokens = int(meta["max_tokens"])
        self._tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=self.max_tokens)
        self._tokenizer.enable_padding(pad_id=int(meta.get("pad_id", 0)), pad_token=meta.get("pad_token", "[PAD]"))
        # Counting word pieces for chunking must see the whole text, as the model's tokenizer does with
        # truncation=False: a second instance without truncation or padding.
        self._counter = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._counter.no_truncation()
        self._counter.no_padding()
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # errors only: its shape-inference notes are not the user's business
        # One request at a time holds the lock (see VectorEncoder), so let it use the cores.
        options.intra_op_num_threads = max(1, min(4, os.cpu_count() or 1))
        # No spin-waiting after a run: its threads would hold the cores the rest of the search needs.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = onnxruntime.InferenceSession(str(path / "model.onnx"), options,
                                                     providers=["CPUExecutionProvider"])
        self._inputs = [i.name for i in self._session.get_inputs()]

    def _encode(self, texts: list[str], batch_size: int):
        import numpy as np

        encodings = self._tokenizer.encode_batch(texts)  # padded to the longest; trimmed per batch below
        lengths = [sum(e.attention_mask) for e in encodings]
        # Longest first, as sentence-transformers does: each batch pads only to its own longest text.
        order = sorted(range(len(texts)), key=lambda i: -lengths[i])
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        start = 0
        while start < len(order):
            width = lengths[order[start]]
            size = max(1, min(batch_size, MAX_BATCH_TOKENS // max(width, 1)))
            batch = order[start : start + size]
            out[batch] = self._run([encodings[i] for i in batch], width)
            start += size
        return out

    def _run(self, encoded, width: int):
        import numpy as np

        ids = np.array([e.ids[:width] for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask[:width] for e in encoded], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask,
                 "token_type_ids": np.array([e.type_ids[:width] for e in encoded], dtype=np.int64)}
        hidden = self._session.run(None, {name: feeds[name] for name in self._inputs})[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)

    def count_tokens(self, text: str) -> int:
        """Word pieces the model sees for this text, including [CLS] and [SEP] (as Embedder.count_tokens)."""
        return len(self._counter.encode(text, add_special_tokens=True).ids)

    def check(self) -> float:
        """The lowest cosine between this encoder and sentence-transformers' saved vectors of the check texts."""
        import numpy as np

        reference = np.load(self.path / "reference.npy")
        if reference.shape != (len(self._check_texts), self.dim):
            return -1.0
        return float(np.min(np.sum(self.encode(self._check_texts) * reference, axis=1)))
