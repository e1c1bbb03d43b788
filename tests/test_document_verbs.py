"""Whatever verb asks who made the document ("Who compiled the report?") or says what the page rests on ("the review
this page relies on"), the question is about the source record, not a topic. Real model and index for the answers."""

from __future__ import annotations

import pytest

from consensus_chat.ingest.words import bare, tokens
from consensus_chat.retriever.wording import document_verbs

NOUNS = frozenset("report review guide author authors page document".split())


def _marked(question: str) -> tuple[list[str], list[str]]:
    bares = [bare(m.group(0)) for m in tokens(question)]
    makers, provenance = document_verbs(bares, NOUNS)
    return [bares[i] for i in sorted(makers)], [bares[i] for i in sorted(provenance)]


@pytest.mark.parametrize("question, makers, provenance", [
    ("Who compiled the report?", ["compiled"], []),
    ("Who put together the field guide?", ["put", "together"], []),
    ("Who heads the author list?", ["heads"], []),
    ("Who wrote the review this page relies on?", ["wrote"], ["relies"]),
    ("What is the report the page is built on?", [], ["built"]),
    ("Which source is this page built on?", [], ["built"]),  # "source", one: the work, not its citations
    ("Who runs red teaming exercises?", [], []),  # the verb's object is no document
    ("Which teams compiled the incident reports?", [], []),  # no opening "who"
    ("Does this page cover audits?", [], []),  # a clause about the page, but no document noun before it
    ("Which review is the material on this page taken from?", [], ["taken"]),  # a "from" ending the question
    ("Where does the page say the data comes from?", [], []),  # "from" beside the page only: a topic's source
    ("Which fields does the report draw its examples from?", [], []),  # no participle before "from": a topic
])
def test_the_verbs_about_the_document_are_found(question, makers, provenance):
    assert _marked(question) == (makers, provenance)


@pytest.mark.parametrize("question", [
    "Who compiled the report this page draws on?",
    "Who heads the author list of the consensus report behind this page, and what year did it come out?",
    "Which report are the cards on this page pulled from?",
])
def test_who_made_the_document_is_answered_from_the_source_record(assistant, question):
    answer = assistant.answer(question)
    assert not answer.refused
    assert answer.citations[0].title == "The Singapore Consensus on Global AI Safety Research Priorities"
    assert "Bengio" in answer.text


def test_a_topic_verb_after_who_stays_a_topic_word(retriever):
    result = retriever.search("Who runs the audits of frontier models?", k=3)
    assert result.hits[0].title != "The Singapore Consensus on Global AI Safety Research Priorities"
