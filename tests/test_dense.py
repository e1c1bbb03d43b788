"""Dense search has two paths to the same numbers: the chunk vectors in memory (small indexes) and Chroma's query."""

from __future__ import annotations

import dataclasses

import pytest

QUESTIONS = ["What is metrology?", "evaluation of model robustness", "interpretability methods",
             "chain-of-thought faithfulness", "who wrote the report", "quantum computing recipes",
             "How do we audit frontier models before deployment?", "2.2.1"]
FILTERS = [{}, {"codes": ["2.2"]}, {"codes": ["3", "1.1"]}, {"kinds": ["card"]},
           {"labels": ["Benchmarks & Evaluation"]}, {"codes": ["2"], "kinds": ["card"]}]


@pytest.fixture(params=["sections from the tables", "sections from Chroma's metadata"])
def paths(retriever, request):
    """(the state the retriever loaded, a copy of it whose dense search asks Chroma): the chunks' sections read from
    the generation's tables, as a large index does, or from each result's metadata (a chunk the tables lack)."""
    from consensus_chat.retriever.dense import DenseSearch

    state = retriever._current()
    ids = state.chunk_ids if request.param == "sections from the tables" else None
    return state, dataclasses.replace(state, dense=DenseSearch(state.collection, state.chunk_sections, chunk_ids=ids))


def test_the_shipped_document_is_scored_in_memory(paths):
    state, chroma = paths
    assert state.dense.in_memory and state.dense.vectors.shape == (len(state.chunk_ids), 384)
    assert not chroma.dense.in_memory


@pytest.mark.parametrize("n_cand", [3, 30])
def test_in_memory_and_chroma_give_the_same_sections_and_cosines(retriever, paths, n_cand):
    from consensus_chat.retriever.filters import allowed as filtered, where

    state, chroma = paths
    for q in QUESTIONS:
        vector = retriever.embedder.encode_one(q)
        for f in FILTERS:
            codes, labels, kinds = f.get("codes"), f.get("labels"), f.get("kinds")
            allowed = filtered(state, codes, labels, kinds)
            mine = state.dense.best(vector, n_cand, allowed=allowed)
            theirs = chroma.dense.best(vector, n_cand, where=where(state, codes, labels, kinds))
            assert mine.keys() == theirs.keys(), (q, f)
            assert sorted(mine, key=mine.get) == sorted(theirs, key=theirs.get), (q, f)
            assert all(abs(mine[s] - theirs[s]) < 1e-5 for s in mine), (q, f)
            if allowed is not None:
                assert set(mine) <= allowed


def test_search_ranks_and_scopes_the_same_through_either_path(retriever, paths, monkeypatch):
    state, chroma = paths
    for q in QUESTIONS + ["metrology and quantum computing"]:
        for f in FILTERS[:2]:
            for mode in ("hybrid", "dense"):
                mine = retriever.search(q, k=8, mode=mode, **f)
                monkeypatch.setattr(retriever._generations, "loaded", chroma)
                theirs = retriever.search(q, k=8, mode=mode, **f)
                monkeypatch.setattr(retriever._generations, "loaded", state)
                assert [h.id for h in mine.hits] == [h.id for h in theirs.hits], (q, f, mode)
                assert [h.score for h in mine.hits] == pytest.approx([h.score for h in theirs.hits], abs=1e-5)
                assert (mine.in_scope, mine.notices) == (theirs.in_scope, theirs.notices)
                assert mine.scope_score == pytest.approx(theirs.scope_score, abs=1e-5)


def test_chroma_results_give_the_same_sections_from_the_tables_as_from_their_metadata(retriever, monkeypatch):
    """A large index asks Chroma for distances only and reads each chunk's section from its tables (the metadata
    was most of a query's time at 100,000 chunks): the same dict, in the same order, as from the metadata; a chunk
    the tables do not list is read from its metadata."""
    from consensus_chat.retriever.dense import DenseSearch
    from consensus_chat.retriever.filters import where

    state = retriever._current()
    by_ids = DenseSearch(state.collection, state.chunk_sections, chunk_ids=state.chunk_ids)
    by_meta = DenseSearch(state.collection, state.chunk_sections)
    asked = []
    query = state.collection.query
    monkeypatch.setattr(state.collection, "query", lambda **kw: asked.append(kw["include"]) or query(**kw),
                        raising=False)
    for q in QUESTIONS:
        vector = retriever.embedder.encode_one(q)
        for f in FILTERS:
            clause = where(state, f.get("codes"), f.get("labels"), f.get("kinds"))
            mine, theirs = by_ids.best(vector, 30, where=clause), by_meta.best(vector, 30, where=clause)
            assert list(mine.items()) == list(theirs.items()), (q, f)
    assert asked[0] == ["distances"] and asked[1] == ["metadatas", "distances"]
    short = DenseSearch(state.collection, state.chunk_sections[1:], chunk_ids=state.chunk_ids[1:])
    asked.clear()
    vector = retriever.embedder.encode_one(QUESTIONS[0])
    assert short.best(vector, 30) == by_meta.best(vector, 30)
    assert asked[0] == ["distances"] and asked[1] == ["metadatas", "distances"]  # the fallback asked again


def test_an_index_above_the_threshold_keeps_the_chroma_query(paths):
    from consensus_chat.retriever.dense import DenseSearch

    state, _ = paths
    big = DenseSearch.open(state.collection, state.chunk_ids, state.chunk_sections, "here",
                           max_in_memory=len(state.chunk_ids) - 1)
    assert not big.in_memory
    small = DenseSearch.open(state.collection, state.chunk_ids, state.chunk_sections, "here")
    assert small.in_memory and (small.vectors == state.dense.vectors).all()


def test_vectors_read_back_in_the_tables_chunk_order(paths):
    from consensus_chat.ingest.records import read_vectors
    from consensus_chat.ingest.errors import IndexCorrupt

    state, _ = paths
    got = state.collection.get(ids=state.chunk_ids[:3], include=["embeddings"])
    by_id = dict(zip(got["ids"], got["embeddings"]))
    for row, cid in enumerate(state.chunk_ids[:3]):
        assert state.dense.vectors[row] == pytest.approx(by_id[cid])
    with pytest.raises(IndexCorrupt, match="ingest --rebuild"):
        read_vectors(state.collection, state.chunk_ids[:-1], "here")


def test_saved_vectors_answer_without_chroma_and_give_identical_hits(config):
    """A small index is scored from the vectors its saved parts hold: Chroma is not opened (nor chromadb
    imported; tests/test_speed.py checks that), and every hit is exactly the one Chroma's vectors give."""
    from consensus_chat.retriever import open_retriever
    from consensus_chat.retriever.dense import DenseSearch
    from consensus_chat.retriever.generation import LazyCollection

    r = open_retriever(config.index_dir)
    state = r._current()
    assert isinstance(state.collection, LazyCollection) and state.dense.in_memory
    saved = [r.search(q, k=8, **f) for q in QUESTIONS for f in FILTERS[:3]]
    assert not state.collection.opened
    from_chroma = DenseSearch.open(state.collection, state.chunk_ids, state.chunk_sections, "here")
    assert state.collection.opened
    assert (from_chroma.vectors == state.dense.vectors).all()
    r._generations.loaded = dataclasses.replace(state, dense=from_chroma)
    assert [r.search(q, k=8, **f) for q in QUESTIONS for f in FILTERS[:3]] == saved


def test_a_store_that_lost_rows_is_not_answered_from_the_saved_parts(config, tmp_path):
    """The shortcut counts Chroma's records against the manifest first; a short store takes Chroma's path,
    which refuses it as before."""
    import shutil

    import chromadb
    from chromadb.config import Settings

    from consensus_chat.ingest.errors import IndexCorrupt
    from consensus_chat.retriever import open_retriever
    from consensus_chat.retriever.generation import stored_records

    idx = tmp_path / "idx"
    shutil.copytree(config.index_dir, idx, ignore=shutil.ignore_patterns(".ingest.lock"))
    manifest = __import__("json").loads((idx / "manifest.json").read_text())
    gen = idx / manifest["generation"]
    assert stored_records(gen) == manifest["chunks"]
    client = chromadb.PersistentClient(str(gen), settings=Settings(anonymized_telemetry=False))
    col = client.get_collection("sections")
    col.delete(ids=col.get(limit=2)["ids"])
    client.close()
    assert stored_records(gen) == manifest["chunks"] - 2
    with pytest.raises(IndexCorrupt, match="incomplete"):
        open_retriever(idx)
