"""Issue 13: the query path runs without torch, and its ONNX encoder is checked against the model of record.

Behaviour only: which modules a cold `search`, `ask` and `serve` import, and that query vectors
match sentence-transformers. Timings belong in `make bench`, not here.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import copy_index, free_port, stop_process, wait_for_port

# Heavy libraries a query must not need: the model of record stays at ingest.
FORBIDDEN = ("torch", "sentence_transformers", "transformers", "sklearn")
# Needed only where llama-index objects are asked for (the adapter, the eval baseline, ingest).
LAZY = ("llama_index",)


def imported_modules(importtime_stderr: str) -> set[str]:
    """Module names from `python -X importtime` output ('import time: self | cumulative | name')."""
    names = set()
    for line in importtime_stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            names.add(line.rsplit("|", 1)[1].strip())
    return names


def top_level(names: set[str]) -> set[str]:
    return {n.split(".")[0] for n in names}


def cli(*args: str) -> list[str]:
    """The CLI under `python -X importtime`, run from this tree (PYTHONPATH is inherited)."""
    return [sys.executable, "-X", "importtime", "-m", "consensus_chat.app.cli", *args]


def clean_env() -> dict:
    env = dict(os.environ)
    env.pop("CONSENSUS_CHAT_MODEL", None)
    return env


@pytest.mark.parametrize("command", [
    ("search", "What is metrology?", "-k", "3"),
    ("ask", "What is metrology?"),
    ("search", "--json", "evaluation", "--code", "3"),
])
def test_search_and_ask_import_neither_torch_nor_llama_index_nor_chromadb(index_dir, command):
    """A small index answers from its saved parts: chromadb is not imported either (retriever/generation.py), nor
    bm25s and the scipy it imports to build an index (ingest/bm25_read.py)."""
    run = subprocess.run(cli(*command, "--index-dir", str(index_dir)), capture_output=True, text=True,
                         timeout=300, env=clean_env())
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip(), "the command printed no result"
    names = imported_modules(run.stderr)
    assert "onnxruntime" in names, "queries were not embedded with the ONNX encoder"
    heavy = top_level(names) & set(FORBIDDEN + LAZY + ("chromadb", "bm25s", "scipy"))
    assert not heavy, f"`{command[0]}` imported {sorted(heavy)} on the query path"


def test_a_question_in_the_documents_words_needs_no_wordfreq(index_dir):
    """Ingest keeps wordfreq's own Zipf values of the document's and the table's words (ingest/wordfreqs.py): a
    cold `ask` made of them imports no wordfreq; a word it never saw is still looked up in wordfreq."""
    from wordfreq import zipf_frequency

    from consensus_chat.ingest.wordfreqs import cached_zipf

    known = cached_zipf()
    assert {"metrology", "responsible"} <= set(known)
    assert all(known[w] == zipf_frequency(w, "en") for w in ("metrology", "responsible", "the"))
    quick = subprocess.run(cli("ask", "What is metrology?", "--index-dir", str(index_dir)), capture_output=True,
                           text=True, timeout=300, env=clean_env())
    assert quick.returncode == 0 and "wordfreq" not in top_level(imported_modules(quick.stderr)), quick.stderr[-2000:]
    assert "zyzzyvas" not in known
    other = subprocess.run(cli("ask", "What is metrology for zyzzyvas?", "--index-dir", str(index_dir)),
                           capture_output=True, text=True, timeout=300, env=clean_env())
    assert other.returncode == 0 and "wordfreq" in top_level(imported_modules(other.stderr)), other.stderr[-2000:]


def test_serve_imports_no_torch_and_answers(index_dir, tmp_path):
    from gradio_client import Client

    import time

    port = free_port()
    log_path = tmp_path / "serve.log"
    # As `make run` starts it: serve then reports the time to a first answer.
    env = clean_env() | {"CONSENSUS_CHAT_RUN_STARTED": f"{time.time():.3f}"}
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cli("serve", "--port", str(port), "--index-dir", str(index_dir)),
                                stdout=log, stderr=subprocess.STDOUT, text=True, env=env)
        try:
            wait_for_port(port, timeout=180, proc=proc)
            reply = Client(f"http://127.0.0.1:{port}/", verbose=False).predict(
                "What is metrology?", [], api_name="/chat")
            assert isinstance(reply, dict) and reply.get("answer"), reply
        finally:
            stop_process(proc)
    output = log_path.read_text()
    assert re.search(r"First answer \d+\.\ds after `make run` started", output), output[-2000:]
    names = top_level(imported_modules(output))
    assert "onnxruntime" in names
    heavy = names & set(FORBIDDEN)
    assert not heavy, f"`serve` imported {sorted(heavy)}"


def test_onnx_query_vectors_match_sentence_transformers(retriever, embedder):
    from consensus_chat.retriever.encoder import OnnxQueryEncoder

    onnx = retriever.embedder.impl
    assert isinstance(onnx, OnnxQueryEncoder) and retriever.embedder.kind == "onnx"
    assert (onnx.dim, onnx.max_tokens, onnx.spec) == (embedder.dim, embedder.max_tokens, embedder.spec)
    # Mixed lengths in one batch (padding), one past max_tokens (truncation), Unicode, empty-ish.
    texts = ["What is metrology?", "Who wrote the report, and when?", "word " * 400, "Ünïcödé ∑ → ✓", "?"]
    a, b = onnx.encode(texts), embedder.encode(texts)
    assert a.shape == b.shape == (len(texts), embedder.dim)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert float(np.min(np.sum(a * b, axis=1))) >= 0.9999
    one = onnx.encode_one("What is metrology?")
    assert float(one @ b[0]) >= 0.9999 and not one.flags.writeable


def _private_cache(monkeypatch, tmp_path, *, with_export: bool):
    """A per-model cache of this test's own (with a copy of the session's export, or empty)."""
    from consensus_chat.ingest.embedder import resolve_model
    from consensus_chat.ingest.query_encoder import encoder_dir

    spec = resolve_model()
    source = encoder_dir(spec)
    monkeypatch.setenv("CONSENSUS_CHAT_CACHE", str(tmp_path / "cache"))
    if with_export:
        shutil.copytree(source, encoder_dir(spec))
    return spec, source


def test_the_export_lives_in_the_per_model_cache_not_in_the_index(index_dir):
    from consensus_chat.ingest.embedder import resolve_model
    from consensus_chat.ingest.query_encoder import encoder_dir, legacy_encoder_dir, read_meta
    from consensus_chat.ingest.config import default_cache_dir

    spec = resolve_model()
    assert encoder_dir(spec).is_relative_to(default_cache_dir())
    assert read_meta(encoder_dir(spec), spec)["weights_sha256"] == spec.weights_sha256
    assert not legacy_encoder_dir(index_dir, spec).exists()


def test_a_damaged_export_falls_back_to_sentence_transformers_with_a_warning(index_dir, tmp_path, monkeypatch, caplog):
    from consensus_chat.ingest.config import Config
    from consensus_chat.ingest.embedder import Embedder
    from consensus_chat.ingest.query_encoder import encoder_dir
    from consensus_chat.retriever.encoder import open_query_encoder

    spec, _ = _private_cache(monkeypatch, tmp_path, with_export=True)
    reference = encoder_dir(spec) / "reference.npy"
    vectors = np.load(reference)
    np.save(reference, np.roll(vectors, 1, axis=0))  # each text now "should" embed as another one
    with caplog.at_level(logging.WARNING, logger="consensus_chat.retriever.encoder"):
        encoder = open_query_encoder(Config.from_env(index_dir=index_dir), spec).impl
    assert isinstance(encoder, Embedder)
    assert any("differs from sentence-transformers" in r.getMessage() for r in caplog.records)


def test_a_cache_without_the_export_gets_it_on_first_open(index_dir, tmp_path, monkeypatch, caplog):
    from consensus_chat.ingest.config import Config
    from consensus_chat.ingest.query_encoder import encoder_dir, read_meta
    from consensus_chat.retriever import open_retriever
    from consensus_chat.retriever.encoder import OnnxQueryEncoder

    spec, _ = _private_cache(monkeypatch, tmp_path, with_export=False)
    with caplog.at_level(logging.WARNING, logger="consensus_chat.retriever.encoder"):
        retriever = open_retriever(config=Config.from_env(index_dir=index_dir))
        encoder = retriever.embedder.impl  # the export runs on first use; wait for it here
    assert isinstance(encoder, OnnxQueryEncoder) and encoder.path == encoder_dir(spec)
    assert read_meta(encoder_dir(spec), spec)["weights_sha256"] == spec.weights_sha256
    assert any("exporting the query encoder" in r.getMessage() for r in caplog.records)
    assert retriever.search("metrology", k=1).hits[0].code == "3.2.1"


def test_an_index_with_its_own_export_from_before_the_cache_keeps_working(index_dir, tmp_path, monkeypatch, caplog):
    """Indexes built before the per-model cache held their export: it is used as it is, and the next ingest
    moves it into the cache instead of exporting again."""
    from consensus_chat.ingest.config import Config
    from consensus_chat.ingest.pipeline import ingest
    from consensus_chat.ingest.query_encoder import encoder_dir, legacy_encoder_dir, read_meta
    from consensus_chat.retriever import open_retriever
    from consensus_chat.retriever.encoder import OnnxQueryEncoder

    dst = copy_index(index_dir, tmp_path, "index")
    spec, source = _private_cache(monkeypatch, tmp_path, with_export=False)
    shutil.copytree(source, legacy_encoder_dir(dst, spec))
    config = Config.from_env(index_dir=dst)
    with caplog.at_level(logging.WARNING, logger="consensus_chat.retriever.encoder"):
        encoder = open_retriever(config=config).embedder.impl
    assert isinstance(encoder, OnnxQueryEncoder) and encoder.path == legacy_encoder_dir(dst, spec)
    assert not any("exporting" in r.getMessage() for r in caplog.records)
    assert read_meta(encoder_dir(spec), spec) is None
    assert ingest(None, config).embedded_chunks == 0
    assert read_meta(encoder_dir(spec), spec)["weights_sha256"] == spec.weights_sha256
    assert (encoder_dir(spec) / "model.onnx").read_bytes() == (source / "model.onnx").read_bytes()


def test_ingest_reuses_the_export(config):
    from consensus_chat.ingest.embedder import resolve_model
    from consensus_chat.ingest.pipeline import ingest
    from consensus_chat.ingest.query_encoder import encoder_dir

    model = encoder_dir(resolve_model()) / "model.onnx"
    before = model.stat().st_mtime_ns
    ingest(None, config)
    assert model.stat().st_mtime_ns == before


def test_a_new_index_with_a_warm_cache_imports_no_torch(index_dir, tmp_path):
    """Ingest into a new folder embeds with the cached ONNX export: no torch, sentence-transformers or llama-index."""
    run = subprocess.run(cli("ingest", "--index-dir", str(tmp_path / "new")), capture_output=True, text=True,
                         timeout=300, env=clean_env())
    assert run.returncode == 0, run.stderr[-2000:]
    assert "(18 chunks embedded)" in run.stdout
    names = imported_modules(run.stderr)
    assert "onnxruntime" in names and "chromadb" in names  # embedded with ONNX, written to Chroma
    heavy = top_level(names) & set(FORBIDDEN + LAZY)
    assert not heavy, f"a warm-cache ingest imported {sorted(heavy)}"
    assert "once per model" not in run.stderr  # nothing one-time left to do


def test_ingest_vectors_match_sentence_transformers(retriever, embedder):
    """The chunks ingest embedded with the ONNX export are sentence-transformers' chunks and vectors."""
    from consensus_chat.ingest.chunker import chunk_section
    from consensus_chat.ingest.records import read_vectors

    state = retriever._current()
    sections = retriever.sections()
    chunks = [c for s in sections for c in chunk_section(s, embedder.count_tokens, embedder.max_tokens)]
    assert sorted(c.id for c in chunks) == sorted(state.chunk_ids)
    assert any(c.n_parts > 1 for c in chunks)  # the long section is split the same way
    texts = {c.id: c.text for c in chunks}
    stored = read_vectors(state.collection, state.chunk_ids, "here")
    reference = embedder.encode([texts[i] for i in state.chunk_ids])
    assert float(np.min(np.sum(stored * reference, axis=1))) >= 0.9999


def test_the_report_and_the_gate_read_the_same_targets(tmp_path):
    import json

    from consensus_chat.evals.bench_report import _targets
    from consensus_chat.evals.bench_targets import evaluate, load_targets

    ids = {t.id for t in load_targets()}
    assert {"cold_ask_vs_torch", "no_torch_on_query_path", "serve_peak_rss", "load_p95", "load_errors"} <= ids
    raw = {"cold": {"ask_s": 1.5, "import_torch_s": 3.0, "heavy_modules": ["torch"]},
           "load": {"requests_per_second": 40.0, "p95_s": 1.0, "errors": 0}}
    verdicts = {v.target.id: v.met for v in evaluate(raw)}
    assert verdicts["cold_ask_vs_torch"] is True and verdicts["no_torch_on_query_path"] is False
    assert verdicts["load_rps"] is True and verdicts["serve_peak_rss"] is None  # not measured in this run
    table = "\n".join(_targets(raw))
    assert "| torch, sentence_transformers" in table and "**missed**" in table and "not measured" in table

    results = tmp_path / "bench.json"
    results.write_text(json.dumps(raw))
    gate = [sys.executable, "-m", "consensus_chat.evals.bench_gate", str(results)]
    missed = subprocess.run(gate, capture_output=True, text=True, timeout=120)
    assert missed.returncode == 1 and "missed" in missed.stdout and "no_torch_on_query_path" in missed.stdout
    met = subprocess.run(gate + ["--only", "cold_ask_vs_torch", "--only", "load_errors"], capture_output=True,
                         text=True, timeout=120)
    assert met.returncode == 0, met.stdout + met.stderr
    unknown = subprocess.run(gate + ["--only", "no-such-target"], capture_output=True, text=True, timeout=120)
    assert unknown.returncode == 2 and "no-such-target" in unknown.stderr


def test_profile_summary_groups_samples_by_part():
    from consensus_chat.evals.bench_profile import summarise_profile

    folded = "\n".join([
        "_bootstrap (threading.py:1);run (asyncio/runners.py:118) 60",
        "_bootstrap (threading.py:1);search (/work/x/retriever/core.py:190);_query (chromadb/api/rust.py:560) 30",
        "_bootstrap (threading.py:1);encode (/work/x/retriever/encoder.py:60);run (onnxruntime/capi/x.py:383) 10",
    ])
    prof = summarise_profile(folded)
    assert prof["samples"] == 100
    assert prof["own"][0] == ["run (asyncio/runners.py)", 60.0]
    assert prof["inclusive"][0] == ["_bootstrap (threading.py)", 100.0]
    assert prof["parts"] == {"HTTP, event loop and Gradio": 60.0, "Chroma query (dense search)": 30.0,
                             "ONNX query encoder": 10.0}


def test_the_weights_digest_is_remembered_and_a_changed_file_is_hashed_again(tmp_path, monkeypatch):
    """resolve_model hashes the 90 MB weights once per file version, not on every command; a file changed in
    place (same path, new ctime) is hashed again and refused."""
    from consensus_chat.ingest import embedder as emb
    from consensus_chat.ingest.errors import ModelError

    monkeypatch.setenv("CONSENSUS_CHAT_CACHE", str(tmp_path / "cache"))
    fake = tmp_path / "model"
    shutil.copytree(emb.default_model_path(), fake)
    monkeypatch.setattr(emb, "default_model_path", lambda: fake)
    os.utime(fake / "model.safetensors", (1_700_000_000, 1_700_000_000))  # not modified just now (see "racy")
    hashed = []
    real = emb.sha256_file
    monkeypatch.setattr(emb, "sha256_file", lambda path: hashed.append(path) or real(path))
    assert emb.resolve_model(None).weights_sha256 == emb.DEFAULT_WEIGHTS_SHA256
    assert emb.resolve_model(None).weights_sha256 == emb.DEFAULT_WEIGHTS_SHA256
    assert len(hashed) == 1
    with open(fake / "model.safetensors", "r+b") as f:  # same size, same inode: only the bytes and ctime change
        f.seek(100)
        f.write(b"\x00\x01\x02")
    with pytest.raises(ModelError, match="SHA-256"):
        emb.resolve_model(None)
    assert len(hashed) == 2
