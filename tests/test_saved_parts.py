"""Saved search parts (ingest/saved_parts.py): same results as rebuilding from Chroma; damaged or missing parts
are rebuilt with a logged message, and the next ingest writes them again."""

from __future__ import annotations

import json
import logging
import shutil

import pytest

from conftest import CORPUS, copy_index
from crashpoints import crash_env

QUERIES = ["What is metrology?", "evaluation of model robustness", "2.2.1", "interpretability methods",
           "who wrote the report", "standardisation and repeatability of evaluations", "xyzzy plugh"]


def _parts(index):
    from consensus_chat.ingest.saved_parts import DIRNAME

    found = list(index.glob(f"gen-*/{DIRNAME}"))
    assert len(found) == 1, found
    return found[0]


def _results(index) -> dict:
    """Everything a caller sees, for every query and mode, plus the tables built at open."""
    from consensus_chat.retriever import open_retriever

    r = open_retriever(index)
    state = r._current()
    out = {"sections": [s.to_dict() for s in r.sections()], "vocabulary": state.vocabulary.to_dict(),
           "analyzer": state.analyzer.to_dict(), "lexicon": state.analyzer.lexicon == r._lexicon,
           "chunks": sorted(zip(state.chunk_ids, state.chunk_sections))}
    for q in QUERIES:
        for mode in ("hybrid", "lexical", "dense"):
            out[f"{mode}:{q}"] = r.search(q, k=8, mode=mode).to_dict()
    return out


@pytest.fixture(scope="module")
def from_chroma(index_dir, tmp_path_factory):
    """Results from a copy of the session index whose saved parts were deleted (the pre-parts behaviour)."""
    index = copy_index(index_dir, tmp_path_factory.mktemp("noparts"), "index")
    shutil.rmtree(_parts(index))
    return _results(index)


def test_ingest_saves_parts_and_the_retriever_uses_them(index_dir, tmp_path, monkeypatch, from_chroma):
    from consensus_chat.ingest import records

    parts = _parts(index_dir)
    checksums = json.loads((parts / "checksums.json").read_text())
    manifest = json.loads((index_dir / "manifest.json").read_text())
    assert checksums["generation"] == manifest["generation"] == parts.parent.name
    assert checksums["chunks"] == manifest["chunks"]
    assert any(name.startswith("bm25/") for name in checksums["files"])

    def no_chroma_read(collection):
        raise AssertionError("opened from Chroma although the saved parts are whole")

    monkeypatch.setattr(records, "read_chunks", no_chroma_read)
    # The saved word vectors come from sentence-transformers at ingest (stored as float16); without them the
    # retriever encodes the words with its ONNX query encoder. Same order, scores equal to 1e-3.
    assert "word-vectors.npy" in checksums["files"]
    _assert_close(_results(copy_index(index_dir, tmp_path, "index")), from_chroma)


def _assert_close(got, want, path="results"):
    """Equal, except floats, which may differ by 1e-3."""
    if isinstance(want, float) and isinstance(got, float):
        assert got == pytest.approx(want, abs=1e-3), path
    elif isinstance(want, dict) and isinstance(got, dict):
        assert got.keys() == want.keys(), path
        for key in want:
            _assert_close(got[key], want[key], f"{path}[{key!r}]")
    elif isinstance(want, (list, tuple)) and isinstance(got, (list, tuple)):
        assert len(got) == len(want), path
        for n, (a, b) in enumerate(zip(got, want)):
            _assert_close(a, b, f"{path}[{n}]")
    else:
        assert got == want, path


def test_saved_word_vectors_are_used_without_encoding_the_document(index_dir, tmp_path):
    from consensus_chat.retriever import open_retriever
    from consensus_chat.ingest.words import document_words

    r = open_retriever(copy_index(index_dir, tmp_path, "index"))
    matcher = r._current().matcher
    assert matcher.vectors.matrix.shape[0] > 50  # the document's rarer words, from word-vectors.npy
    assert matcher.vectors.table is not None  # its everyday words, from the model's word table
    encoded = []
    real = matcher.vectors.encoder.encode
    matcher.vectors.encoder = type("Spy", (), {"encode": lambda self, words: encoded.append(list(words)) or real(words)})()
    hits = r.search("Who answers for a failure of an AI system?", k=3).hits
    assert hits
    assert not {w for batch in encoded for w in batch} & set(document_words(r.sections()))  # only question words


def test_missing_parts_are_rebuilt_from_chroma_with_a_message(index_dir, tmp_path, caplog, from_chroma):
    index = copy_index(index_dir, tmp_path, "index")
    shutil.rmtree(_parts(index))
    with caplog.at_level(logging.INFO, logger="consensus_chat.retriever.loading"):
        got = _results(index)
    assert got == from_chroma
    assert "has no saved search parts" in caplog.text


@pytest.mark.parametrize("damage", ["flip a byte of the BM25 scores", "truncate the tables", "garbage checksums",
                                    "remove a BM25 file", "add a file", "other generation"])
def test_damaged_parts_are_rebuilt_from_chroma(index_dir, tmp_path, caplog, from_chroma, damage):
    index = copy_index(index_dir, tmp_path, "index")
    parts = _parts(index)
    if damage == "flip a byte of the BM25 scores":
        path = parts / "bm25" / "data.csc.index.npy"
        raw = bytearray(path.read_bytes())
        raw[-3] ^= 0xFF
        path.write_bytes(bytes(raw))
    elif damage == "truncate the tables":
        path = parts / "tables.json"
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "garbage checksums":
        (parts / "checksums.json").write_text("{not json")
    elif damage == "remove a BM25 file":
        (parts / "bm25" / "vocab.index.json").unlink()
    elif damage == "add a file":
        (parts / "bm25" / "stray.npy").write_bytes(b"\0")
    else:
        checksums = json.loads((parts / "checksums.json").read_text())
        checksums["generation"] = "gen-elsewhere"
        (parts / "checksums.json").write_text(json.dumps(checksums))
    with caplog.at_level(logging.WARNING, logger="consensus_chat.retriever.loading"):
        got = _results(index)
    assert got == from_chroma
    assert "saved search parts" in caplog.text and "damaged" in caplog.text, caplog.text


def test_the_next_ingest_writes_missing_or_damaged_parts_again(index_dir, tmp_path, from_chroma):
    from consensus_chat.ingest.config import Config
    from consensus_chat.ingest.pipeline import ingest
    from consensus_chat.ingest.saved_parts import load_parts

    index = copy_index(index_dir, tmp_path, "index")
    manifest = json.loads((index / "manifest.json").read_text())
    shutil.rmtree(_parts(index))
    report = ingest([CORPUS], Config.from_env(index_dir=index))
    assert report.added == report.updated == report.removed == 0  # nothing changed: same generation
    assert json.loads((index / "manifest.json").read_text())["generation"] == manifest["generation"]
    load_parts(index / manifest["generation"], manifest["generation"], manifest["chunks"])

    (_parts(index) / "tables.json").write_text("[]")
    ingest([CORPUS], Config.from_env(index_dir=index))
    load_parts(index / manifest["generation"], manifest["generation"], manifest["chunks"])
    assert _results(index) == from_chroma


def test_a_crash_before_the_swap_leaves_the_old_pair(index_dir, tmp_path):
    """Killed right after the new generation's parts are written: the manifest still names the old generation,
    whose parts are whole."""
    import subprocess
    import sys

    from consensus_chat.ingest.saved_parts import load_parts

    index = copy_index(index_dir, tmp_path, "index")
    before = json.loads((index / "manifest.json").read_text())
    changed = tmp_path / "corpus.txt"
    changed.write_text(CORPUS.read_text(encoding="utf-8").replace("standardisation", "standardization", 1),
                       encoding="utf-8")
    code = ("from consensus_chat.ingest.config import Config; from consensus_chat.ingest.pipeline import ingest; import sys; "
            "ingest([sys.argv[1]], Config.from_env(index_dir=sys.argv[2]))")
    proc = subprocess.run([sys.executable, "-c", code, str(changed), str(index)], capture_output=True,
                          env=crash_env("parts-saved"), timeout=300)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    after = json.loads((index / "manifest.json").read_text())
    assert after["generation"] == before["generation"]
    load_parts(index / before["generation"], before["generation"], before["chunks"])


def test_query_terms_split_as_bm25s_tokenize_does():
    import bm25s

    from consensus_chat.ingest.lexical import query_terms, stemmer

    stem = stemmer()
    texts = QUERIES + ["The AI's chain-of-thought: 2.2.1, GPT-4 and the the THE models' modelling?", "", "a an",
                       "Ünïcode wörds and 42 numbers", "repeated repeated words words"]
    for text in texts:
        tokens = bm25s.tokenize([text], stopwords="en", stemmer=stem, show_progress=False)
        inverse = {v: k for k, v in tokens.vocab.items()}
        assert query_terms(text, stem) == [inverse[i] for i in tokens.ids[0]], text



@pytest.mark.parametrize("raw", [
    b'{"a": [1, 2.5, "\\u00e9 \xc3\xa9 \\u2028", null, true], "b": {"c": -0.0, "c": 1e-300}}',  # same values
    b'{"x": NaN, "big": 123456789012345678901234567890}',  # orjson refuses, json accepts
    b'{"a": 1,}',  # damaged: json's error
    b'\xff\xfe{}',  # random bytes: json's UnicodeDecodeError
])
def test_large_json_reads_as_json_does(raw):
    """The index's large JSON files are read with orjson (ingest/bigjson.py): the same values as json, and what
    orjson refuses goes to json, which accepts it or raises what it always did."""
    import math

    from consensus_chat.ingest.bigjson import BIG, loads

    big = raw[:-1] + b', "pad": "' + b"p" * BIG + b'"}'  # over the size from which orjson reads it
    for given in (big, big.decode("utf-8", "replace")):
        try:
            expected = json.loads(given.decode("utf-8") if isinstance(given, bytes) else given)
        except ValueError as exc:
            with pytest.raises(type(exc)):
                loads(given)
            continue
        got = loads(given)
        if "x" in expected:
            assert math.isnan(got.pop("x")) and math.isnan(expected.pop("x"))
        assert got == expected and json.dumps(got) == json.dumps(expected)
