"""A question written with context around one asked sentence ("We're a bank. Our testers only know web apps. What
does the page say about bringing in external testers?") is judged by that sentence when the whole is not in scope:
the context sets the scene. Real model, real indexes (the shipped page and tests/data's second page)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from consensus_chat.ingest.text import asked_sentence
from consensus_chat.retriever.decision import decide

BANK = ("We're a mid-sized insurer rolling out a claims chatbot. Our security people have only ever tested web apps "
        "and the board is nervous. Management wants an outside firm to look at the model before launch. What does "
        "the page say about bringing in external testers?")


@pytest.mark.parametrize("text, asked", [
    ("We run a bank. What does the page say about red teaming?", "What does the page say about red teaming?"),
    ("What does the page say about red teaming? We run a bank.", "What does the page say about red teaming?"),
    ("What does the page say about red teaming?", None),  # one sentence: the question itself
    ("We run a bank. Is red teaming covered? And jailbreaks?", None),  # several questions: the whole decides
    ("We run a bank. Tell me about red teaming.", None),  # no question mark
    # A semicolon joins two sentences: the clause after it is the asked one.
    ("Our bank hires pen testers; what does the page say about red teaming?", "what does the page say about red teaming?"),
    ("What is red teaming; what is a jailbreak?", "what is a jailbreak?"),
    ("What does the page say about red teaming (external; internal)?", None),  # inside parentheses: one sentence
    # A dash before a question word too; not a hyphen, nor a dash before anything else.
    ("Quorvix runs bounties - what does the page say about red teaming?", "what does the page say about red teaming?"),
    ("Quorvix runs bounties — how should findings be shared?", "how should findings be shared?"),
    ("Is third-party red teaming - the outside kind - covered?", None),
    ("We run a bank. Is red-team work what the page covers?", "Is red-team work what the page covers?"),
])
def test_the_asked_sentence_is_the_one_question_among_context(text, asked):
    assert asked_sentence(text) == asked


def test_a_covered_question_inside_unrelated_context_is_answered(second_page):
    result = second_page.retriever.search(BANK, k=3)
    assert result.in_scope and result.evidence.asked is not None
    assert not second_page.answer(BANK).refused
    # Without the asked sentence the whole question would have been refused: the context's own words ("insurer",
    # "claims", "board") are what the page does not use.
    whole = replace(result.evidence, ask=None)
    assert not decide(whole, second_page.retriever.scope_model).in_scope


def test_a_covered_clause_after_a_semicolon_is_answered(second_page):
    question = ("Our insurer's board keeps asking about Acme Bank's pen-testing vendors; what does the page say about "
                "bringing in external testers?")
    result = second_page.retriever.search(question, k=3)
    assert result.in_scope and result.evidence.asked is not None
    assert result.hits[0].section.title == "Third-party red teaming"
    assert not decide(replace(result.evidence, ask=None), second_page.retriever.scope_model).in_scope


@pytest.mark.parametrize("question", [
    "I run red-team exercises for a bank; what temperature should I bake sourdough bread at?",
])
def test_an_uncovered_clause_after_a_semicolon_is_refused(second_page, question):
    assert not second_page.retriever.search(question, k=3).in_scope


@pytest.mark.parametrize("question", [
    "I run red-team exercises for a bank. What temperature should I bake sourdough bread at?",  # asked: off topic
    "We bake sourdough bread every weekend and our oven runs hot. What does the page say?",  # asked: nothing named
])
def test_context_does_not_make_an_uncovered_question_covered(second_page, question):
    assert not second_page.retriever.search(question, k=3).in_scope
    assert second_page.answer(question).refused


def test_a_question_of_one_sentence_gathers_nothing_more(retriever):
    evidence = retriever.evidence("How can I tell whether a model's stated reasoning matches what it really did?")
    assert evidence.asked is None


@pytest.mark.parametrize("text, asked", [
    ("i found a flaw in our chatbot yesterday, how should i report it", "how should i report it"),
    ("we run a bank, what does the page say about red teaming?", "what does the page say about red teaming?"),
    ("we run a bank, what does the page say about red teaming", "what does the page say about red teaming"),
    ("Which cards cover audits, and how do they differ?", None),  # "and" after the comma: one question
    ("red teaming, jailbreaks and disclosure", None),  # no clause opens with a question word
    ("According to the paper, which benchmarks matter?", None),  # a frame, not the user's story: one question
])
def test_typed_in_a_hurry_a_comma_before_a_question_word_ends_the_context(text, asked):
    assert asked_sentence(text, typed=True) == asked
    assert asked_sentence(text) is None  # ranking reads the whole: the context's words can name the card


@pytest.mark.parametrize("question", [
    "i found a hole in a support bot last month, how should i go about reporting it",
    "we run a small insurer, what does the page say about bringing in external testers",
])
def test_a_covered_clause_typed_after_a_comma_is_answered(second_page, question):
    """Lower-case questions typed as one run-on sentence lost the asked-sentence reading that the same words with a full
    stop and a capital had, and were refused for the context's words ("hole", "insurer")."""
    answer = second_page.answer(question)
    assert not answer.refused and answer.citations[0].title in ("Reporting and disclosure", "Third-party red teaming")


def test_an_uncovered_clause_typed_after_a_comma_is_refused(second_page):
    assert second_page.answer("i run red-team exercises for a bank, how long should i bake sourdough bread").refused
