"""Small pieces of English that change what a question asks: a fragment asked of the last section ("And the
function?"), the page's own reasoning, a length written as one adjective, "report" as a verb, and words for how a
named source is used. Real model and index for the answers."""

from __future__ import annotations

import pytest

from consensus_chat.ingest.section import asks_overview_line
from consensus_chat.ingest.words import bare, tokens, used_as_verb


def test_a_fragment_of_page_words_is_asked_of_the_last_section(assistant):
    first = assistant.answer("What are the lifecycle stage and actor tags here?")
    follow = assistant.answer("And the function?", [first])
    assert not follow.refused and follow.citations[0].title == "Tags" and "Measure" in follow.text


def test_a_fragment_naming_something_else_is_not(assistant):
    first = assistant.answer("What is system safety assessment?")
    follow = assistant.answer("What about Brexit?", [first])
    assert follow.refused  # a name the document never mentions is a topic of its own


@pytest.mark.parametrize("question, asked", [
    ("What is the page's reasoning?", True),
    ("What is the page's one-sentence rationale for reporting incidents?", True),
    ("What is the rationale behind this page?", True),
    ("What reasoning does the page give for audits?", False),  # the reasoning for a topic, not the page's
    ("What is the rationale for audits?", False),
    ("What does the page give as its reasoning?", True),  # the page's own, last in the question
    ("What does the document offer as the rationale?", True),
    ("What does the page say about its reasoning on audits?", False),
])
def test_the_pages_own_reasoning_asks_for_the_overview_line(question, asked):
    assert asks_overview_line(question) is asked


def test_the_pages_reasoning_is_quoted(assistant):
    answer = assistant.answer("What is the page's one-sentence rationale?")
    assert not answer.refused and answer.citations[0].title == "Overview"
    assert "modify model design to provide insights" in answer.citations[0].sentence


@pytest.mark.parametrize("question, verb", [
    ("How should I report it?", True),
    ("Do they document near misses?", True),
    ("What does the report say?", False),
    ("Which sections report on audits?", False),
])
def test_report_after_a_subject_or_modal_is_a_verb(question, verb):
    bares = [bare(m.group(0)) for m in tokens(question)]
    at = next(i for i, w in enumerate(bares) if w in ("report", "document"))
    assert used_as_verb(bares, at) is verb


def test_report_as_a_verb_is_a_topic_word(retriever):
    assert "report" in retriever.analyse("How should I report it?").words
    assert "report" not in retriever.analyse("What does the report say about audits?").words


@pytest.mark.parametrize("question, title", [
    ("Where does the IAISR reference come up, and what is it backing each time?", "System safety assessment"),
    ("What point is the citation to Bordt backing up?", "Explainability"),
    ("Which card mentions Hobbhahn, and in what connection?", "Metrology for AI risk assessment"),
])
def test_words_for_how_a_named_source_is_used_ask_about_the_source(retriever, question, title):
    result = retriever.search(question, k=5)
    assert result.in_scope and title in [h.title for h in result.hits[:3]]


def test_a_named_source_beside_another_topic_is_still_refused(retriever):
    assert not retriever.search("What does Hobbhahn say about baking bread?", k=3).in_scope


def test_after_a_refusal_words_only_the_source_record_uses_go_on_with_what_was_refused(third_page):
    refused = third_page.answer("What caused the 2003 Northeast blackout in North America?")
    assert refused.refused
    follow = third_page.answer("How many people lost power?", [refused])  # "nuclear power" is in the abstract only
    assert follow.refused
    about = third_page.answer("Who wrote the review?", [refused])  # a question about the document stands alone
    assert not about.refused and "Rivera" in about.text


def test_instead_leans_on_the_last_answer(assistant):
    first = assistant.answer("Are current explainability tools reliable?")
    assert first.citations[0].title == "Explainability"
    follow = assistant.answer("What should happen instead?", [first])
    assert not follow.refused and follow.citations[0].title == "Explainability"


def test_a_word_for_citing_asks_about_the_last_sections_sources(third_page):
    first = third_page.answer("Why not just make the deadlines very short?")
    assert first.citations[0].title == "Serious incident notification"
    for question in ("Which source backs it?", "Is an example source named?"):
        follow = third_page.answer(question, [first])
        assert follow.citations[0].title == "Serious incident notification" and "Wright" in follow.text
