"""Ingest against real Chroma stores: idempotence, changes, model refusal, server mode, crashes, locks."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import CLI, CORPUS, free_port
from crashpoints import STAGES, crash_env
from consensus_chat.ingest.config import Config
from consensus_chat.ingest.errors import IndexCorrupt, IndexNotFound, ModelError, ModelMismatch
from consensus_chat.ingest.parser import parse_file
from consensus_chat.ingest.pipeline import ingest

QUESTIONS = ["Which sections cite Turpin?", "secure evaluation infrastructure for auditors",
             "how do goals emerge in agentic systems", "metrology", "3.2.2"]


def _cfg(path, **kw) -> Config:
    return Config.from_env(index_dir=path, **kw)


def _edited_corpus(tmp_path, *, change=True, add=False):
    """A copy of the corpus with one card changed and, optionally, one added."""
    text = CORPUS.read_text(encoding="utf-8")
    if change:
        text = text.replace("Current approaches generally lack standardisation, repeatability, and precision.",
                            "Current approaches still lack standardisation and precision (Newkey).")
    if add:
        text = text.replace(
            "3.2.1 Benchmarks & EvaluationThe Singapore Consensus",
            "3.2.1 Benchmarks & EvaluationRisk Assessment > Incident databases\n"
            "Shared incident databases help regulators learn from failures (Newkey).\n"
            "2.2.1 Risk AssessmentThe Singapore Consensus",
        )
    path = tmp_path / "edited.txt"
    path.write_text(text, encoding="utf-8")
    return path


def test_second_ingest_embeds_nothing(tmp_path):
    cfg = _cfg(tmp_path / "idx")
    first = ingest([CORPUS], cfg)
    assert (first.added, first.updated, first.removed, first.sections) == (14, 0, 0, 14)
    generation = json.loads((tmp_path / "idx" / "manifest.json").read_text())["generation"]
    second = ingest([CORPUS], cfg)
    assert (second.added, second.updated, second.unchanged, second.removed, second.embedded_chunks) == (0, 0, 14, 0, 0)
    manifest = json.loads((tmp_path / "idx" / "manifest.json").read_text())
    assert manifest["generation"] == generation  # no new store was written
    assert manifest["model"]["weights_sha256"] == "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
    assert manifest["parser_version"] and manifest["corpus"][0]["sha256"]
    assert len(manifest["sections"]) == 14 and all(len(v["hash"]) == 64 for v in manifest["sections"].values())


def test_changed_added_and_removed_sections_without_duplicates(tmp_path):
    from consensus_chat.retriever import open_retriever

    cfg = _cfg(tmp_path / "idx")
    ingest([CORPUS], cfg)
    changed = ingest([_edited_corpus(tmp_path, change=True, add=True)], cfg)
    assert (changed.added, changed.updated, changed.removed) == (1, 1, 0)
    assert changed.embedded_chunks == 2  # only the new and the changed card were embedded
    r = open_retriever(cfg.index_dir)
    ids = [s.id for s in r.sections()]
    assert len(ids) == len(set(ids)) == 15
    hits = r.search("Newkey", k=5).hits
    assert {h.title for h in hits if h.matched_by} == {"Metrology for AI risk assessment", "Incident databases"}
    back = ingest([CORPUS], cfg)
    assert (back.added, back.updated, back.removed) == (0, 1, 1)
    r2 = open_retriever(cfg.index_dir)
    assert len(r2.sections()) == 14
    assert r2._current().collection.count() == json.loads((cfg.index_dir / "manifest.json").read_text())["chunks"]


def test_long_sections_are_split_not_truncated(embedder):
    from consensus_chat.ingest.chunker import chunk_section

    source = next(s for s in parse_file(CORPUS) if s.kind == "source")
    chunks = chunk_section(source, embedder.count_tokens, embedder.max_tokens)
    assert len(chunks) > 1
    assert all(embedder.count_tokens(c.text) <= embedder.max_tokens for c in chunks)
    joined = " ".join(c.text for c in chunks)
    for word in source.text.split():
        assert word in joined  # every word survives somewhere
    assert all(c.text.startswith(source.title) for c in chunks)  # each part keeps the section header


def test_index_built_with_another_model_is_refused(tmp_path, config):
    from consensus_chat.retriever import open_retriever

    other = tmp_path / "other-model"
    from consensus_chat.ingest.embedder import default_model_path

    shutil.copytree(default_model_path(), other)
    with open(other / "model.safetensors", "ab") as f:
        f.write(b"\0")  # different weights, so a different hash
    with pytest.raises(ModelMismatch, match="--rebuild"):
        ingest([CORPUS], config.with_(model=str(other)))
    with pytest.raises(ModelMismatch, match="--rebuild"):
        open_retriever(config.index_dir, model=str(other))
    proc = subprocess.run([CLI, "search", "metrology", "--index-dir", str(config.index_dir), "--model", str(other)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "--rebuild" in proc.stderr and "Traceback" not in proc.stderr


def test_tampered_default_weights_are_refused(tmp_path, monkeypatch):
    from consensus_chat.ingest import embedder as emb

    fake = tmp_path / "model"
    shutil.copytree(emb.default_model_path(), fake)
    with open(fake / "model.safetensors", "ab") as f:
        f.write(b"tampered")
    monkeypatch.setattr(emb, "default_model_path", lambda: fake)
    with pytest.raises(ModelError, match="SHA-256"):
        emb.resolve_model(None)


def test_missing_and_corrupt_index_are_detected(tmp_path):
    from consensus_chat.retriever import open_retriever

    with pytest.raises(IndexNotFound, match="consensus-chat ingest"):
        open_retriever(tmp_path / "nothing")
    cfg = _cfg(tmp_path / "idx")
    ingest([CORPUS], cfg)
    manifest = json.loads((cfg.index_dir / "manifest.json").read_text())
    shutil.rmtree(cfg.index_dir / manifest["generation"])
    with pytest.raises(IndexCorrupt, match="ingest --rebuild"):
        open_retriever(cfg.index_dir)
    (cfg.index_dir / "manifest.json").write_text('{"generation": ')
    with pytest.raises(IndexCorrupt, match="ingest --rebuild"):
        open_retriever(cfg.index_dir)
    proc = subprocess.run([CLI, "search", "x", "--index-dir", str(cfg.index_dir)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2 and "ingest --rebuild" in proc.stderr and "Traceback" not in proc.stderr
    assert ingest([CORPUS], cfg, rebuild=True).added == 14
    assert open_retriever(cfg.index_dir).search("metrology").hits


def test_partial_store_is_detected(tmp_path):
    """A store that lost chunks (e.g. a half-copied directory) is refused, naming the fix."""
    import chromadb
    from chromadb.config import Settings
    from consensus_chat.retriever import open_retriever

    cfg = _cfg(tmp_path / "idx")
    ingest([CORPUS], cfg)
    gen = json.loads((cfg.index_dir / "manifest.json").read_text())["generation"]
    client = chromadb.PersistentClient(str(cfg.index_dir / gen), settings=Settings(anonymized_telemetry=False))
    col = client.get_collection("sections")
    col.delete(ids=[col.get(limit=1)["ids"][0]])
    with pytest.raises(IndexCorrupt, match="ingest --rebuild"):
        open_retriever(cfg.index_dir)


def _search_titles(r):
    return [[h.id for h in r.search(q, k=5).hits] for q in QUESTIONS]


# Six moments across the write path: after embedding, with an empty new store, half-written, whole with its
# search parts saved, with the new manifest written but not yet swapped in, and just after the swap.
CRASH_STAGES = ("embedded", "generation-created", "batch-written", "parts-saved", "manifest-temp-written",
                "published")
assert set(CRASH_STAGES) <= set(STAGES)


@pytest.mark.parametrize("stage", CRASH_STAGES)
def test_sigkill_at_each_stage_leaves_a_readable_index(tmp_path, config, stage):
    """Kill an ingest with SIGKILL at a given moment; the index opens and answers, as before or after."""
    from consensus_chat.retriever import open_retriever

    idx = tmp_path / "idx"
    shutil.copytree(config.index_dir, idx, ignore=shutil.ignore_patterns(".ingest.lock"))
    before = _search_titles(open_retriever(idx))
    edited = _edited_corpus(tmp_path, change=True, add=True)
    env = crash_env(stage)
    proc = subprocess.run([CLI, "ingest", "--corpus", str(edited), "--index-dir", str(idx), "--quiet"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, proc.stderr)
    r = open_retriever(idx)
    count = len(r.sections())
    assert count in (14, 15)  # the old index or the new one, never a broken one
    if count == 14:
        assert _search_titles(r) == before
    else:
        assert r.search("Incident databases").hits[0].title == "Incident databases"
    if stage == "batch-written":
        # The next ingest recovers: it finishes and leaves no half-written generation behind.
        done = subprocess.run([CLI, "ingest", "--corpus", str(edited), "--index-dir", str(idx), "--json"],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert len(open_retriever(idx).sections()) == 15
        assert len(list(idx.glob("gen-*"))) <= 2


def test_sigkill_at_random_moments(tmp_path, config):
    """Time-based kills too, not only at the named stages."""
    from consensus_chat.retriever import open_retriever

    idx = tmp_path / "idx"
    shutil.copytree(config.index_dir, idx, ignore=shutil.ignore_patterns(".ingest.lock"))
    edited = _edited_corpus(tmp_path, change=True, add=True)
    for delay in (1.0, 3.5):
        proc = subprocess.Popen([CLI, "ingest", "--corpus", str(edited), "--index-dir", str(idx), "--rebuild",
                                 "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert len(open_retriever(idx).sections()) in (14, 15)


def test_two_ingests_at_once_wait_for_each_other(tmp_path, config):
    from consensus_chat.retriever import open_retriever

    idx = tmp_path / "idx"
    shutil.copytree(config.index_dir, idx, ignore=shutil.ignore_patterns(".ingest.lock"))
    cmd = [CLI, "ingest", "--index-dir", str(idx), "--rebuild", "--json"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert [json.loads(o)["added"] for o, _ in outs] == [14, 14]
    r = open_retriever(idx)
    assert len(r.sections()) == 14 and r._current().collection.count() == 18


def test_a_held_lock_makes_the_second_ingest_refuse(tmp_path, config):
    from filelock import FileLock

    idx = tmp_path / "idx"
    shutil.copytree(config.index_dir, idx, ignore=shutil.ignore_patterns(".ingest.lock"))
    with FileLock(str(idx / ".ingest.lock")):
        proc = subprocess.run([CLI, "ingest", "--index-dir", str(idx), "--rebuild"], capture_output=True, text=True,
                              timeout=120, env={**os.environ, "CONSENSUS_CHAT_LOCK_TIMEOUT": "1"})
    assert proc.returncode == 2 and "Another ingest" in proc.stderr and "Traceback" not in proc.stderr


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    """A real `chroma run` server on a free loopback port."""
    from consensus_chat.evals.procs import ChromaServer

    with ChromaServer(tmp_path_factory.mktemp("chroma-server") / "data") as server:
        yield server.port


def test_server_mode_gives_the_same_results_as_embedded(tmp_path, config, chroma_server, retriever):
    from consensus_chat.retriever import open_retriever

    cfg = _cfg(tmp_path / "lock-dir", chroma_host="127.0.0.1", chroma_port=chroma_server)
    first = ingest([CORPUS], cfg)
    assert first.added == 14 and first.index.startswith("chroma://")
    assert ingest([CORPUS], cfg).embedded_chunks == 0
    remote = open_retriever(tmp_path / "lock-dir", chroma_host="127.0.0.1", chroma_port=chroma_server)
    for q in QUESTIONS + ["who wrote the report?", "red teaming audits"]:
        for mode in ("hybrid", "dense", "lexical"):
            local_hits = retriever.search(q, k=5, mode=mode).hits
            remote_hits = remote.search(q, k=5, mode=mode).hits
            assert [h.id for h in remote_hits] == [h.id for h in local_hits], (q, mode)
            # Scores agree to 1e-3: the embedded index keeps its word vectors as float16 (ingest/saved_parts.py).
            assert [h.score for h in remote_hits] == pytest.approx([h.score for h in local_hits], abs=1e-3)
    proc = subprocess.run([CLI, "search", "metrology", "--json", "--chroma-host", "127.0.0.1", "--chroma-port",
                           str(chroma_server), "--index-dir", str(tmp_path / "lock-dir")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["hits"][0]["title"] == "Metrology for AI risk assessment"


def test_unreachable_chroma_server_is_one_clear_line(tmp_path):
    port = free_port()
    proc = subprocess.run([CLI, "ingest", "--chroma-host", "127.0.0.1", "--chroma-port", str(port),
                           "--index-dir", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Cannot reach the Chroma server" in proc.stderr and "chroma run" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_store_pages_reads_every_chunk_once(config):
    from consensus_chat.ingest.store import open_store, pages

    store = open_store(config)
    manifest, collection = store.open_current()
    try:
        got = list(pages(collection, ["metadatas"], page=5))
        ids = [i for page in got for i in page["ids"]]
        assert [len(p["ids"]) for p in got] == [5, 5, 5, 3]
        assert len(ids) == len(set(ids)) == manifest["chunks"] == 18
        assert all(m["chunk_hash"] for p in got for m in p["metadatas"])
    finally:
        store.close(collection)


def test_ingest_takes_an_embedder(tmp_path, embedder, monkeypatch):
    from consensus_chat.ingest import embedder as emb

    def no_loading(*args, **kwargs):
        raise AssertionError("ingest loaded a model although one was passed")

    monkeypatch.setattr(emb, "load_embedder", no_loading)
    report = ingest([CORPUS], _cfg(tmp_path / "idx"), embedder=embedder)
    assert report.added == 14 and report.embedded_chunks == 18


def test_unreadable_old_index_is_logged_and_re_embedded(tmp_path, config, caplog):
    """The "read the old index" path names what it skipped instead of swallowing it."""
    from consensus_chat.ingest.pipeline import _old_embeddings
    from consensus_chat.ingest.store import open_store

    idx = tmp_path / "idx"
    shutil.copytree(config.index_dir, idx, ignore=shutil.ignore_patterns(".ingest.lock"))
    store = open_store(config.with_(index_dir=idx))
    manifest = store.read_manifest()
    assert len(_old_embeddings(store, manifest, {"x"} | _chunk_hashes(store, manifest))) == 18
    (idx / manifest["generation"] / "chroma.sqlite3").unlink()
    with caplog.at_level("WARNING", logger="consensus_chat.ingest.pipeline"):
        assert _old_embeddings(store, manifest, {"x"}) == {}
    assert "Re-embedding everything" in caplog.text and "missing" in caplog.text


def _chunk_hashes(store, manifest) -> set[str]:
    from consensus_chat.ingest.store import pages

    collection = store.open_generation(manifest["generation"])
    try:
        return {m["chunk_hash"] for p in pages(collection, ["metadatas"]) for m in p["metadatas"]}
    finally:
        store.close(collection)


def test_retriever_keeps_answering_and_logs_when_the_new_index_is_damaged(tmp_path, config, caplog):
    from consensus_chat.retriever import open_retriever

    idx = tmp_path / "idx"
    shutil.copytree(config.index_dir, idx, ignore=shutil.ignore_patterns(".ingest.lock"))
    r = open_retriever(idx)
    before = r._current()
    (idx / "manifest.json").write_bytes(b"\x83\x00 not json")
    with caplog.at_level("WARNING", logger="consensus_chat.retriever.reload"):
        assert r.search("metrology").hits[0].title == "Metrology for AI risk assessment"
    assert r._current() is before
    assert "Not switching to the new index" in caplog.text and "manifest.json is damaged" in caplog.text


def test_ingest_of_an_unchanged_but_emptied_store_rebuilds(tmp_path, config):
    """Plain ingest must not call a truncated store "unchanged"."""
    idx = tmp_path / "idx"
    shutil.copytree(config.index_dir, idx, ignore=shutil.ignore_patterns(".ingest.lock"))
    gen = json.loads((idx / "manifest.json").read_text())["generation"]
    os.truncate(idx / gen / "chroma.sqlite3", 4096)
    report = ingest([CORPUS], config.with_(index_dir=idx))
    assert report.repaired and report.embedded_chunks == 18 and report.unchanged == 14
    assert not (idx / gen).exists()  # the broken generation is not kept around
    assert ingest([CORPUS], config.with_(index_dir=idx)).embedded_chunks == 0


def test_the_default_corpus_is_package_data(tmp_path):
    """A built wheel carries corpus/ and finds the document through importlib.resources, like a checkout."""
    from conftest import ROOT
    from consensus_chat.ingest.config import default_corpus

    assert default_corpus().read_bytes() == CORPUS.read_bytes()
    # Build from a copy: setuptools writes build/ and *.egg-info next to the sources.
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".*", "build", "dist", "*.egg-info", "__pycache__",
                                                             "tests", "docs", "test-artifacts"))
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(tmp_path / "dist"), str(src)], capture_output=True, text=True, timeout=300,
                           cwd=tmp_path)
    assert build.returncode == 0, build.stderr
    wheel = next((tmp_path / "dist").glob("consensus_chat-*.whl"))
    import zipfile

    with zipfile.ZipFile(wheel) as zf:
        assert zf.read("consensus_chat/corpus/interpretability-singapore-consensus.txt") == CORPUS.read_bytes()
        zf.extractall(tmp_path / "site")
    # Only the unpacked wheel on the path (no checkout, no editable finder for these packages).
    code = ("import sys; sys.meta_path[:] = [f for f in sys.meta_path if 'Editable' not in type(f).__name__ "
            "and 'editable' not in getattr(f, '__module__', '')]; "
            f"sys.path.insert(0, {str(tmp_path / 'site')!r}); "
            "from consensus_chat.ingest.config import default_corpus; print(default_corpus())")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env,
                           cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    path = found.stdout.strip()
    assert path.startswith(str(tmp_path / "site")) and open(path, "rb").read() == CORPUS.read_bytes()
