"""The default scope rule's refit (evals/refit_default.py): which question sets it fits on, and leaving one set out."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from consensus_chat.evals import refit_default
from consensus_chat.evals.blind import BLIND_DIR
from consensus_chat.evals.page_sets import ROOT, SHIPPED_CORPUS


def test_the_fit_reads_the_development_pages_and_the_read_blind_sets_never_the_test_set_or_the_shipped_page():
    sets = refit_default.fit_sets()
    names = {name for name, _ in sets}
    assert names == {"development", *refit_default.READ_SETS}
    shipped = (ROOT / SHIPPED_CORPUS).resolve()
    assert all((ROOT / page["corpus"]).resolve() != shipped for _, page in sets)  # it keeps its own rule
    assert not any(Path(page["questions"]).parts[:2] == ("evals", BLIND_DIR.name) for _, page in sets)
    development = [page for name, page in sets if name == "development"]
    assert len(development) >= 4 and all((ROOT / page["questions"]).exists() for _, page in sets)


def test_the_blind_test_set_can_not_be_fitted_on(monkeypatch):
    monkeypatch.setattr(refit_default, "READ_SETS", (*refit_default.READ_SETS, BLIND_DIR.name))
    with pytest.raises(click.ClickException, match="blind test set"):
        refit_default.fit_sets()


def test_leaving_one_set_out_judges_each_set_by_the_threshold_fitted_on_the_others(retriever):
    from consensus_chat.evals.questions import DEFAULT_QUESTIONS, load_questions
    from consensus_chat.evals.scope_fit import collect, fit_pages, rates

    samples = collect(retriever, load_questions(DEFAULT_QUESTIONS)[::6])
    groups = {("a", "a.jsonl"): samples[0::2], ("b", "b.jsonl"): samples[1::2]}
    levels = {("a", "a.jsonl"): 0.50, ("b", "b.jsonl"): 0.60}
    weights = (0.3, 2.0, 0.0, 0.5)
    found = refit_default.held_out(groups, levels, weights)
    refused = false = 0.0
    for held, other in (("a", "b"), ("b", "a")):
        rule = fit_pages([groups[(other, f"{other}.jsonl")]], (0.3,), (2.0,), (0.0,), [levels[(other, f"{other}.jsonl")]],
                         (0.5,))
        # the held-out page's level clamped to the one page fitted on: the other's
        fit = rates(groups[(held, f"{held}.jsonl")], rule.threshold + levels[(other, f"{other}.jsonl")], *weights)
        group = groups[(held, f"{held}.jsonl")]
        refused += (fit.refusal_rate or 0.0) * sum(not s.in_scope for s in group)
        false += (fit.false_refusal_rate or 0.0) * sum(s.in_scope for s in group)
    assert found["n_in"] + found["n_out"] == len(samples)
    assert found["off_topic_refused"] == round(refused / found["n_out"], 4)
    assert found["in_scope_refused"] == round(false / found["n_in"], 4)
