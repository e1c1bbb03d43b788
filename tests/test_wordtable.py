"""The cache of everyday word vectors (ingest/wordtable.py): its most frequent words written by ingest once per
model, the others encoded on first use with the same vectors; missing, damaged or unwritable, it only means
words are encoded on demand, never an error."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from conftest import CLI, CORPUS, RecordingEncode, overwrite_rows


def _run(*args, env):
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=300, env=env)


@pytest.fixture(scope="module")
def cached(tmp_path_factory):
    """An index and a fresh cache dir, filled by one ingest (its stderr kept in first-run.txt)."""
    root = tmp_path_factory.mktemp("wordtable")
    env = {**os.environ, "CONSENSUS_CHAT_CACHE": str(root / "cache")}
    proc = _run("ingest", "--index-dir", str(root / "index"), "--corpus", str(CORPUS), env=env)
    assert proc.returncode == 0, proc.stderr
    (root / "first-run.txt").write_text(proc.stderr)
    return root, env


def test_the_first_run_says_what_it_does_once(cached):
    """The one-time steps of a new model cache (export, check, word table) each say what they are."""
    root, _ = cached
    said = (root / "first-run.txt").read_text()
    for step in ("Exporting the ONNX encoder", "Checking the export against sentence-transformers",
                 "everyday words"):
        line = next((line for line in said.splitlines() if step in line), None)
        assert line is not None and "once per model" in line, (step, said[-2000:])
    assert "Exported and checked in" in said


def _table(root):
    found = list((root / "cache" / "word-vectors").glob("*.npy"))
    assert len(found) == 1, found
    return found[0]


def test_ingest_writes_the_table_once_and_search_reads_it(cached):
    import numpy as np

    from consensus_chat.ingest.embedder import resolve_model
    from consensus_chat.ingest.parser import parse_file
    from consensus_chat.ingest.wordtable import HEAD_WORDS, head_words, table_words, wordpiece_lexicon
    from consensus_chat.ingest.words import document_words

    root, env = cached
    path = _table(root)
    spec = resolve_model(None)
    lexicon = wordpiece_lexicon(str(spec.path))
    head = path.with_suffix(".txt").read_text(encoding="utf-8").split()
    # The most frequent words, then the document's other everyday words (added by its ingest).
    assert head[:HEAD_WORDS] == head_words(lexicon) and {"the", "responsible", "system"} <= set(head[:HEAD_WORDS])
    added = head[HEAD_WORDS:]
    assert added and len(set(head)) == len(head) < len(table_words(lexicon))
    assert set(added) <= set(document_words(parse_file(CORPUS)))
    parts = next((root / "index").glob("gen-*/search-parts"))
    saved = json.loads((parts / "tables.json").read_text(encoding="utf-8"))["vector_words"]
    assert saved and not set(head) & set(saved), "a word saved in the index and in the table"
    matrix = np.load(path, mmap_mode="r")
    assert matrix.shape == (len(head), 384) and matrix.dtype == np.float16
    # A row is the word's own vector from the query encoder (float16-rounded).
    at = head.index("responsible")
    from consensus_chat.retriever import open_retriever

    r = open_retriever(root / "index")
    assert float(np.dot(matrix[at].astype("float32"), r.embedder.encode(["responsible"])[0])) > 0.999
    mtime = path.stat().st_mtime_ns
    proc = _run("ingest", "-q", "--index-dir", str(root / "index"), "--corpus", str(CORPUS), env=env)
    assert proc.returncode == 0 and path.stat().st_mtime_ns == mtime  # not rebuilt


def test_words_beyond_the_cached_head_get_the_same_vectors_on_first_use(cached, monkeypatch):
    """The table answers for every everyday word: a word outside the cached head is encoded when first asked
    for, with exactly the vector (float16) it would have had in the cache, and the cache files stay as they were."""
    import numpy as np

    from consensus_chat.ingest.embedder import resolve_model
    from consensus_chat.ingest.query_encoder import open_document_encoder
    from consensus_chat.ingest.wordtable import EverydayVectors, load_table, table_words, wordpiece_lexicon

    root, env = cached
    monkeypatch.setenv("CONSENSUS_CHAT_CACHE", env["CONSENSUS_CHAT_CACHE"])
    spec = resolve_model(None)
    lexicon = wordpiece_lexicon(str(spec.path))
    encoder = open_document_encoder(spec, stand_ins=False)
    encode = RecordingEncode(encoder)
    rows, vectors = load_table(spec.weights_sha256, lexicon, 384, encode)
    assert sorted(rows) == table_words(lexicon)  # membership: all 22,000 words, not only the head
    head = _table(root).with_suffix(".txt").read_text(encoding="utf-8").split()
    rare = [w for w in ("airplanes", "calculus", "bohemian") if w not in head]
    assert len(rare) == 3 and all(w in rows for w in rare)
    stamp = {p.name: p.stat().st_mtime_ns for p in _table(root).parent.iterdir()}
    got = vectors[[rows[w] for w in rare]]
    assert encode.calls == [rare] and got.dtype == np.float16
    assert np.array_equal(got, encoder.encode(rare).astype(np.float16))
    assert np.array_equal(vectors[rows["calculus"]], got[1]) and len(encode.calls) == 1  # kept: encoded once
    # A cached word encoded on demand comes out bit for bit as its cached row.
    cached_rows = [rows[w] for w in head[::50]]
    fresh = EverydayVectors(sorted(rows, key=rows.get), {}, np.zeros((0, 384), np.float16), encoder.encode)
    assert np.array_equal(fresh[cached_rows], vectors[cached_rows])
    assert stamp == {p.name: p.stat().st_mtime_ns for p in _table(root).parent.iterdir()}


@pytest.mark.parametrize("damage", ["truncate", "garbage", "wrong shape", "zeros of the right shape",
                                    "NaN of the right shape", "another word list"])
def test_a_damaged_table_is_ignored_with_a_warning_and_rewritten_by_ingest(cached, tmp_path, damage):
    import numpy as np

    root, env = cached
    cache = tmp_path / "cache"
    shutil.copytree(root / "cache", cache)
    env = {**env, "CONSENSUS_CHAT_CACHE": str(cache)}
    path = _table(tmp_path)
    good = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(good[: len(good) // 3])
    elif damage == "garbage":
        path.write_bytes(b"\x00not a numpy file" * 100)
    elif damage == "wrong shape":
        np.save(path, np.zeros((3, 384), dtype=np.float16))
    elif damage == "another word list":  # rows would be read as the wrong words' vectors
        listed = path.with_suffix(".txt")
        words = listed.read_text(encoding="utf-8").split()
        listed.write_text("\n".join(words[1:] + words[:1]) + "\n", encoding="utf-8")
    else:  # the right shape and size: only the content check can tell (it lowered hit@1 from 0.960 to 0.891)
        overwrite_rows(path, 0 if damage.startswith("zeros") else np.nan, every=2)
        assert path.stat().st_size == len(good)
    proc = _run("search", "who answers for a failure?", "--json", "--index-dir", str(root / "index"), env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["hits"]
    assert "Ignoring the word-vector cache" in proc.stderr and "Traceback" not in proc.stderr
    proc = _run("ingest", "-q", "--index-dir", str(root / "index"), "--corpus", str(CORPUS), env=env)
    assert proc.returncode == 0, proc.stderr
    assert np.load(path).shape[1] == 384 and path.stat().st_size == len(good)
    rewritten = np.load(path).astype("float32")
    assert np.isfinite(rewritten).all() and (np.linalg.norm(rewritten, axis=1) > 0.99).all()
    proc = _run("search", "who answers for a failure?", "--json", "--index-dir", str(root / "index"), env=env)
    assert "Ignoring the word-vector cache" not in proc.stderr  # whole again, checksum included


def test_an_unwritable_cache_dir_is_not_an_error(cached, tmp_path):
    root, env = cached
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    env = {**env, "CONSENSUS_CHAT_CACHE": str(blocker / "cache")}
    index = tmp_path / "index"
    proc = _run("ingest", "--index-dir", str(index), "--corpus", str(CORPUS), env=env)
    assert proc.returncode == 0, proc.stderr
    assert "Cannot write the word-vector cache" in proc.stderr and "Traceback" not in proc.stderr
    proc = _run("ask", "Who answers for a failure of an AI system?", "--json", "--index-dir", str(index), env=env)
    assert proc.returncode == 0, proc.stderr
    assert not json.loads(proc.stdout)["refused"]
