"""The ONNX graph built from the weights without torch (issue 22) against real sentence-transformers."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import numpy as np
import pytest

from consensus_chat.ingest.direct_export import NotBuilt, build_direct
from consensus_chat.ingest.embedder import ModelSpec
from consensus_chat.ingest.onnx_encoder import MIN_COSINE, OnnxQueryEncoder
from consensus_chat.ingest.query_encoder import read_meta
from consensus_chat.ingest.reference_vectors import compute_reference, reference_path, stored_reference

TEXTS = [
    "a", "What is this about?", "  leading and trailing spaces  ", "UPPER case AND lower", "12345 67.89 1e-5",
    "résumé, naïve café — Unicode and punctuation!", "東京の天気は晴れです。", "Ελληνικά και русский текст",
    "emoji 🙂 and symbols ± ∑ √ ≤", "tab\tand\nnewline", "hyphenated-words, (brackets) and [square] {curly}",
    "How are the results measured, and who checks them?",
    "interpretability " * 40,  # about 120 word pieces
    " ".join(f"word{i} and the measurement of thing {i}" for i in range(120)),  # beyond 256: truncated
    "The quick brown fox jumps over the lazy dog. " * 30,
]


@pytest.fixture(scope="module")
def built(spec, tmp_path_factory):
    """The export built from the weights, in its own folder."""
    out = tmp_path_factory.mktemp("direct")
    cosine = build_direct(spec, out, lambda _: None)
    assert cosine >= MIN_COSINE
    return out


def test_the_stored_reference_vectors_are_sentence_transformers_own(spec):
    """Recomputing the packaged reference vectors with sentence-transformers gives the stored ones."""
    stored = stored_reference(spec.weights_sha256)
    assert stored is not None, reference_path(spec.weights_sha256)
    fresh = compute_reference(spec)
    assert fresh["texts"] == stored["texts"]
    diff = np.abs(np.asarray(fresh["vectors"]) - np.asarray(stored["vectors"]))
    assert diff.max() <= 2e-6, diff.max()  # the 6-decimal rounding plus float noise


def test_the_built_graph_matches_sentence_transformers_on_many_texts(spec, built, embedder):
    """Short, long (beyond the 256-piece limit), unicode and mixed-length batches: ONNX vectors = ST vectors."""
    encoder = OnnxQueryEncoder(spec, built, read_meta(built, spec))
    ours = encoder.encode(TEXTS)
    theirs = embedder.encode(TEXTS)
    cosines = np.sum(ours * theirs, axis=1)
    assert cosines.min() >= MIN_COSINE, dict(zip(TEXTS, cosines.round(6)))
    assert np.abs(ours - theirs).max() < 1e-4
    # One at a time too: no batch padding at all.
    alone = np.vstack([encoder.encode([t]) for t in TEXTS[-3:]])
    assert np.sum(alone * theirs[-3:], axis=1).min() >= MIN_COSINE
    assert encoder.count_tokens(TEXTS[-2]) > 256  # the long text really was truncated


def test_the_built_export_has_the_torch_exports_interface(spec, built):
    """Same inputs, output and meta as sentence-transformers' export, so the runtime cannot tell them apart."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(built / "model.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["input_ids", "attention_mask", "token_type_ids"]
    assert [o.name for o in session.get_outputs()] == ["last_hidden_state"]
    meta = read_meta(built, spec)
    assert meta is not None
    assert (meta["dim"], meta["max_tokens"], meta["pooling"], meta["pad_id"], meta["pad_token"]) == \
        (384, 256, "mean", 0, "[PAD]")
    assert OnnxQueryEncoder(spec, built, meta).check() >= MIN_COSINE


def test_a_graph_that_differs_from_the_stored_vectors_is_not_built(spec, tmp_path, monkeypatch):
    """Damaged reference vectors (or a wrong graph) fail the build's check; nothing is claimed as checked."""
    import consensus_chat.ingest.direct_export as direct

    record = stored_reference(spec.weights_sha256)
    vectors = np.asarray(record["vectors"])
    record = {**record, "vectors": np.roll(vectors, 1, axis=1).tolist()}
    monkeypatch.setattr(direct, "stored_reference", lambda sha: record)
    with pytest.raises(NotBuilt, match="differ"):
        build_direct(spec, tmp_path, lambda _: None)


def test_weights_without_reference_vectors_fall_back_to_sentence_transformers(spec, tmp_path, monkeypatch, caplog):
    """Another model (here: the same folder under another hash) goes to sentence-transformers, with a log line."""
    import consensus_chat.ingest.query_encoder as qe

    monkeypatch.setenv("CONSENSUS_CHAT_CACHE", str(tmp_path / "cache"))
    other = ModelSpec("other", spec.path, "0" * 64)
    with pytest.raises(NotBuilt, match="no reference vectors"):
        build_direct(other, tmp_path, lambda _: None)
    with caplog.at_level(logging.INFO, logger=qe.__name__):
        assert qe._export_direct(other, qe.encoder_dir(other), lambda _: None) is False
    assert "Exporting with sentence-transformers instead" in caplog.text
    assert not qe.encoder_dir(other).exists()


def test_a_failing_direct_build_warns_and_publishes_nothing(spec, tmp_path, monkeypatch, caplog):
    """A build that breaks (here: the graph builder raises) is a warning, and the fallback export runs instead."""
    import consensus_chat.ingest.bert_graph as graph
    import consensus_chat.ingest.query_encoder as qe

    monkeypatch.setenv("CONSENSUS_CHAT_CACHE", str(tmp_path / "cache"))

    def broken(model_dir, out):
        raise graph.UnsupportedModel("hidden_act is 'relu', not 'gelu'")

    monkeypatch.setattr(graph, "build_bert_graph", broken)
    with caplog.at_level(logging.WARNING, logger=qe.__name__):
        assert qe._export_direct(spec, qe.encoder_dir(spec), lambda _: None) is False
    assert "Warning: building the ONNX graph from the weights failed" in caplog.text
    assert "relu" in caplog.text
    assert read_meta(qe.encoder_dir(spec), spec) is None


def test_the_first_export_imports_no_torch(tmp_path):
    """With stored reference vectors, exporting into an empty cache imports no torch, transformers or ST."""
    env = {**os.environ, "CONSENSUS_CHAT_CACHE": str(tmp_path / "cache")}
    code = (
        "import sys, json\n"
        "from consensus_chat.ingest.embedder import resolve_model\n"
        "from consensus_chat.ingest.query_encoder import export_query_encoder, read_meta\n"
        "spec = resolve_model(); path = export_query_encoder(spec, lambda _: None)\n"
        "heavy = [m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules]\n"
        "print(json.dumps({'heavy': heavy, 'built': read_meta(path, spec).get('built', '')}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["heavy"] == [], result
    assert "model.safetensors" in result["built"]


def test_the_built_graph_gives_the_torch_exports_hidden_states_bit_for_bit(spec, built, embedder, tmp_path):
    """Same ops in the same order as torch.onnx.export's graph: identical floats, so no search result moves."""
    import onnxruntime

    from consensus_chat.ingest.query_encoder import _write

    _write(embedder, spec, tmp_path)
    ours, theirs = (onnxruntime.InferenceSession(str(path / "model.onnx"), providers=["CPUExecutionProvider"])
                    for path in (built, tmp_path))
    rng = np.random.default_rng(22)
    for length in (5, 77, 256):
        ids = rng.integers(1000, 30000, (3, length))
        mask = np.ones_like(ids)
        mask[1, length // 2:] = 0
        ids[mask == 0] = 0
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        assert np.array_equal(ours.run(None, feeds)[0], theirs.run(None, feeds)[0]), length
