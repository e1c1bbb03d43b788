"""Saved search parts (retriever/saved_parts.py): same results as rebuilding from Chroma; damaged or missing parts
are rebuilt with a logged message, and the next ingest writes them again."""

from __future__ import annotations

import json
import logging
import shutil

import pytest

from conftest import CORPUS

QUERIES = ["What is metrology?", "evaluation of model robustness", "2.2.1", "interpretability methods",
           "who wrote the report", "standardisation and repeatability of evaluations", "xyzzy plugh"]


def _copy(index_dir, tmp_path):
    dst = tmp_path / "index"
    shutil.copytree(index_dir, dst, ignore=shutil.ignore_patterns("*.lock"))
    return dst


def _parts(index):
    from retriever.saved_parts import DIRNAME

    found = list(index.glob(f"gen-*/{DIRNAME}"))
    assert len(found) == 1, found
    return found[0]


def _results(index) -> dict:
    """Everything a caller sees, for every query and mode, plus the tables built at open."""
    from retriever import open_retriever

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
    index = _copy(index_dir, tmp_path_factory.mktemp("noparts"))
    shutil.rmtree(_parts(index))
    return _results(index)


def test_ingest_saves_parts_and_the_retriever_uses_them(index_dir, tmp_path, monkeypatch, from_chroma):
    from retriever import saved_parts

    parts = _parts(index_dir)
    checksums = json.loads((parts / "checksums.json").read_text())
    manifest = json.loads((index_dir / "manifest.json").read_text())
    assert checksums["generation"] == manifest["generation"] == parts.parent.name
    assert checksums["chunks"] == manifest["chunks"]
    assert any(name.startswith("bm25/") for name in checksums["files"])

    def no_chroma_read(collection):
        raise AssertionError("opened from Chroma although the saved parts are whole")

    monkeypatch.setattr(saved_parts, "read_chunks", no_chroma_read)
    # The saved word vectors come from sentence-transformers at ingest (stored as float16); without them the
    # retriever encodes the words with its ONNX query encoder. Same order, scores equal to 1e-3.
    assert "word-vectors.npy" in checksums["files"]
    _assert_close(_results(_copy(index_dir, tmp_path)), from_chroma)


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
    from retriever import open_retriever
    from retriever.wordmatch import document_words

    r = open_retriever(_copy(index_dir, tmp_path))
    matcher = r._current().matcher
    assert matcher.vectors.matrix.shape[0] > 50  # the document's rarer words, from word-vectors.npy
    assert matcher.vectors.table is not None  # its everyday words, from the model's word table
    encoded = []
    real = matcher.vectors.encoder.encode
    matcher.vectors.encoder = type("Spy", (), {"encode": lambda self, words: encoded.append(list(words)) or real(words)})()
    hits = r.search("Who answers for a failure of an AI system?", k=3).hits
    assert hits
    assert not {w for batch in encoded for w in batch} & set(document_words(r.sections()))  # only question words
