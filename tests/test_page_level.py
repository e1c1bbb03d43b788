"""The page's level of dense support (ingest/page_level.py): computed at ingest, kept in the manifest, read back at
load, clamped to the range the default rule was fitted on; an index without it falls back to the previous rule."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from consensus_chat.ingest.page_level import SCOPE_KEY, nearest_chunk_median, page_level, page_record
from consensus_chat.retriever import scope
from consensus_chat.retriever.scope import ScopeModel


def _brute(v: np.ndarray) -> float:
    sims = v @ v.T
    np.fill_diagonal(sims, -2.0)
    return float(np.median(sims.max(axis=1)))


def _unit(n: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_the_level_is_the_median_nearest_other_chunk_cosine():
    v = _unit(300)
    assert nearest_chunk_median(v) == pytest.approx(_brute(v), abs=1e-6)
    assert nearest_chunk_median(v[:1]) is None and page_record(v[:1]) is None
    # Two identical chunks are each other's nearest (cosine 1), never their own.
    pair = np.vstack([v[:1], v[:1], v[1:2]])
    assert nearest_chunk_median(pair) == pytest.approx(1.0, abs=1e-6)


def test_a_large_index_is_sampled_against_every_chunk_in_batches():
    v = _unit(9000, seed=1)  # more than one batch of 4,096 targets
    sampled = nearest_chunk_median(v, sample=500)
    rows = np.unique(np.linspace(0, 8999, 500).round().astype(int))
    sims = v[rows] @ v.T
    sims[np.arange(len(rows)), rows] = -2.0
    assert sampled == pytest.approx(float(np.median(sims.max(axis=1))), abs=1e-6)
    assert nearest_chunk_median(v, sample=500) == sampled  # the same index, the same number
    assert page_record(v)["sampled"] == 2000


def test_ingest_keeps_the_level_and_a_load_reads_it_back(retriever):
    manifest = retriever.manifest
    level = page_level(manifest)
    assert manifest["format"] == 2 and manifest[SCOPE_KEY]["sampled"] == manifest["chunks"]
    vectors = retriever._current().dense.vectors  # the chunk vectors as Chroma holds them
    assert level == pytest.approx(_brute(np.asarray(vectors)), abs=1e-5)
    assert 0.3 < level < 0.95
    assert page_level({}) is None and page_level({SCOPE_KEY: {"nearest_chunk_median": "x"}}) is None


def test_the_rule_clamps_the_level_to_the_range_it_was_fitted_on():
    rule = ScopeModel(0.3, 0.05, "default", pull_weight=2.0, level_range=(0.48, 0.68))
    assert rule.for_page(0.55).threshold == pytest.approx(0.60)  # inside: dense - 0.55 >= 0.05
    assert rule.for_page(0.97).threshold == pytest.approx(0.73)  # a large index: judged like the 0.68 page
    assert rule.for_page(0.20).threshold == pytest.approx(0.53)
    bound = rule.for_page(0.97)
    assert bound.level_range is None and bound.page_level == 0.68 and bound.for_page(0.2) is bound
    absolute = ScopeModel(0.2, 0.42, "fitted")
    assert absolute.for_page(0.9) is absolute  # a page's own rule reads dense as it is


def test_an_index_without_the_level_gets_the_previous_default(monkeypatch, tmp_path, caplog):
    relative = ScopeModel(0.3, 0.05, "default", pull_weight=2.0, level_range=(0.48, 0.68))
    monkeypatch.setattr(scope, "DEFAULT", relative)
    monkeypatch.setenv("CONSENSUS_CHAT_CALIBRATION", str(tmp_path / "none.json"))
    with caplog.at_level(logging.INFO, logger="consensus_chat.retriever.scope"):
        old = scope.load_scope_model("w", "c", None)
    assert old is scope.PREVIOUS_DEFAULT and old.level_range is None
    assert any("no page level" in r.getMessage() for r in caplog.records)
    assert scope.load_scope_model("w", "c", 0.9).threshold == pytest.approx(0.73)
    # A page's own calibration is not touched by the level.
    (tmp_path / "mine.json").write_text(json.dumps({"model_weights_sha256": "w", "corpus_sha256": "c",
                                                    "coverage_weight": 0.2, "threshold": 0.42}))
    monkeypatch.setenv("CONSENSUS_CHAT_CALIBRATION", str(tmp_path / "mine.json"))
    assert scope.load_scope_model("w", "c", 0.9).threshold == 0.42


def test_the_fits_page_relative_table_is_the_bound_rules_decision(retriever):
    from consensus_chat.evals.questions import DEFAULT_QUESTIONS, load_questions
    from consensus_chat.evals.scope_fit import _Table, collect
    from consensus_chat.retriever.decision import decide

    questions = load_questions(DEFAULT_QUESTIONS)[::5]
    picked = questions + [type(questions[0])("parts", "What does the document say about metrology and quantum "
                                                       "computing?", (), (), "in_scope", 0)]
    samples = collect(retriever, picked)
    level = page_level(retriever.manifest)
    table = _Table(samples, level)
    rule = ScopeModel(0.4, 0.0, "default", pull_weight=2.5, rarest_weight=0.03, level_range=(0.48, 0.6))
    bound = rule.for_page(level)
    calls = table.calls([bound.threshold - level], 0.4, 2.5, 0.03)[0]
    assert list(calls) == [decide(s.evidence, bound).in_scope for s in samples]
