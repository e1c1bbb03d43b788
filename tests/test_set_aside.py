"""An opening clause that sets something aside ("Leaving X aside, …", "Apart from X, …") is not what the question
asks about: the search reads the rest. Real model and index for the ranking."""

from __future__ import annotations

import pytest

from consensus_chat.retriever.wording import set_aside


@pytest.mark.parametrize("question, rest", [
    ("Leaving leisure boating aside, what about ferries?", "what about ferries?"),
    ("Leaving aside boots and shoes, what protects people at night?", "what protects people at night?"),
    ("Apart from risk assessment, which research areas does the page cover?",
     "which research areas does the page cover?"),
    ("Setting up an audit: what matters?", "Setting up an audit: what matters?"),  # nothing is set aside
    ("What is metrology, apart from measurement?", "What is metrology, apart from measurement?"),  # not an opening
    ("Leaving that aside, what?", "Leaving that aside, what?"),  # the rest asks nothing
])
def test_the_set_aside_clause_is_cut(question, rest):
    assert set_aside(question) == rest


def test_the_ranking_reads_what_is_asked(retriever):
    question = ("Setting audits and benchmarks aside, which part of risk assessment is about anticipating effects on "
                "society?")
    result = retriever.search(question, k=3)
    assert result.in_scope and result.hits[0].title == "Downstream impact assessment and forecasting"
