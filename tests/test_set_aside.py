"""An opening clause that sets something aside ("Leaving X aside, …", "Apart from X, …") is not what the question
asks about: the search reads the rest. Real model and index for the ranking."""

from __future__ import annotations

import pytest

from consensus_chat.retriever.wording import contrasted, set_aside


@pytest.mark.parametrize("question, rest", [
    ("Leaving leisure boating aside, what about ferries?", "what about ferries?"),
    ("Leaving aside boots and shoes, what protects people at night?", "what protects people at night?"),
    ("Apart from risk assessment, which research areas does the page cover?",
     "which research areas does the page cover?"),
    ("Setting up an audit: what matters?", "Setting up an audit: what matters?"),  # nothing is set aside
    ("What is metrology, apart from measurement?", "What is metrology, apart from measurement?"),  # not an opening
    ("Leaving that aside, what?", "Leaving that aside, what?"),  # the rest asks nothing
    ("Not the automated stuff: what about outside testers?", "what about outside testers?"),
    ("Not mandatory notification. I mean voluntary shared databases?", "I mean voluntary shared databases?"),
    ("What is not covered?", "What is not covered?"),  # "not" inside the question sets nothing aside
    ("Not the overview: what does the audit card say?", "what does the audit card say?"),
    ("Forget about audits for now; how are findings made public?", "how are findings made public?"),
    ("Never mind the databases and deadlines; how is a failure investigated?", "how is a failure investigated?"),
    ("Skip the part about outside testers: how do models attack models?", "how do models attack models?"),
    ("I don't want to hear about detectors; just tell me how a fan helps.", "just tell me how a fan helps."),
    ("Never mind. Why is it hard to study goals?", "Why is it hard to study goals?"),
    ("What is forgetting in models?", "What is forgetting in models?"),  # no opening clause
    ("Forget it.", "Forget it."),  # the rest asks nothing
    ("I'm not interested in benchmarks at all; how are findings made public?", "how are findings made public?"),
    ("We don't care about the deadlines: how is a failure investigated?", "how is a failure investigated?"),
    ("I am not asking about outside testers, how do models attack models?", "how do models attack models?"),
    ("I'm not interested in this.", "I'm not interested in this."),  # the rest asks nothing
    # A dash ends the clause after a space; inside a word it joins it, and the clause runs on.
    ("Not interested in chain-of-thought or explainability - what is known about internal cognition?",
     "what is known about internal cognition?"),
    ("Not the disclosure stuff – what about outside testers?", "what about outside testers?"),
    # Other words that turn something away, at the start of the clause (_EXCLUDING).
    ("Leave benchmarks aside: what about wider effects?", "what about wider effects?"),
    ("Leave out anything about jailbreaks. What is said about generated attacks?",
     "What is said about generated attacks?"),
    ("Leaving out whistleblowers and regulators, what does an entry contain?", "what does an entry contain?"),
    ("I don't need anything on databases; what about near misses?", "what about near misses?"),
    ("Don't tell me about cameras or fines; what about drivers?", "what about drivers?"),
    ("Skip the outside red teams part and tell me about generated attacks.", "tell me about generated attacks."),
    ("I'm not sure what metrology is; can you explain?", "I'm not sure what metrology is; can you explain?"),
    ("Don't models hide their reasoning, according to the page?",
     "Don't models hide their reasoning, according to the page?"),  # a question, not a clause turning away
])
def test_the_set_aside_clause_is_cut(question, rest):
    assert set_aside(question) == rest


def test_a_clause_turning_something_away_in_other_words_ranks_what_is_asked(retriever):
    """Before, "Leave benchmarks aside" was not read as an opening clause (a development question), and "benchmarks"
    ranked the audit card first."""
    result = retriever.search("Leave benchmarks aside: what does the page say about predicting AI's wider effects on "
                              "society?", k=3)
    assert result.in_scope and result.hits[0].title == "Downstream impact assessment and forecasting"


def test_the_ranking_reads_what_is_asked(retriever):
    question = ("Setting audits and benchmarks aside, which part of risk assessment is about anticipating effects on "
                "society?")
    result = retriever.search(question, k=3)
    assert result.in_scope and result.hits[0].title == "Downstream impact assessment and forecasting"


@pytest.mark.parametrize("question, kept", [
    ("Which risk assessment sub-area is not about benchmarks but about predicting wider societal impacts?",
     "Which risk assessment sub-area about predicting wider societal impacts?"),
    ("Which area isn't only about single systems, but about the organisation around them?",
     "Which area about the organisation around them?"),
    ("Why bring in outside testers rather than relying on the developer's staff?", None),  # no "not … but"
    ("Is it not enough to test it but?", None),  # nothing is left to ask after "but"
])
def test_what_a_not_but_question_sets_against_what_it_asks_is_cut(question, kept):
    assert contrasted(question) == kept


def test_a_not_but_question_ranks_what_it_asks_and_keeps_its_scope(retriever):
    # Before: "benchmarks" ranked the parent area (Risk Assessment) first; the sub-area asked about was second.
    question = "Which risk assessment sub-area is not about benchmarks but about predicting wider societal impacts?"
    result = retriever.search(question, k=3)
    assert result.in_scope and result.hits[0].title == "Downstream impact assessment and forecasting"
    assert "benchmarks" not in result.searched
    # Scope is read from the whole question: the contrast does not make an off-topic question answerable.
    assert not retriever.search("Which area is not about benchmarks but about baking sourdough bread?").in_scope
