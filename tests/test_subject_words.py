"""A page's subject (words in most of its sections: "red teaming" on a page about red teaming) beside everyday words
is what the question asks about (retriever/evidence.telling); a parent's parts asked with words that name no topic
of the page ("its risk assessment heading", "the Incident Reporting parent") are listed (retriever/outline.children_asked).
Real model, real indexes of the shipped page and two pages nobody calibrated."""

from __future__ import annotations

import pytest

from consensus_chat.retriever.outline import children_asked
from consensus_chat.retriever.evidence import WordEvidence, coverage, telling


def _word(word: str, covered: bool, zipf: float, ubiquitous: bool = False) -> WordEvidence:
    return WordEvidence(word=word, covered=covered, rewrite=None, zipf=zipf, ubiquitous=ubiquitous)


RED, TEAMS = _word("red", True, 5.3, ubiquitous=True), _word("teams", True, 5.0, ubiquitous=True)


def test_the_pages_subject_counts_beside_everyday_words_only():
    outside, offer = _word("outside", False, 5.2), _word("offer", False, 5.0)
    assert telling((RED, TEAMS, outside, offer)) == [RED, TEAMS, outside, offer]
    assert 0.4 < coverage((RED, TEAMS, outside, offer)) < 0.6
    # Beside a word that names a topic of its own, the subject's words say nothing about coverage.
    bread = _word("bread", False, 4.5)
    assert telling((RED, TEAMS, offer, bread)) == [offer, bread] and coverage((RED, TEAMS, offer, bread)) == 0.0
    # Only the subject's words: they are the topic.
    assert coverage((RED, TEAMS)) == 1.0


def test_a_question_about_the_pages_subject_in_everyday_words_is_answered(second_page):
    answer = second_page.answer("What do outside red teams offer?")
    assert not answer.refused and answer.citations[0].title == "Third-party red teaming"
    assert second_page.answer("How do red teams bake sourdough bread?").refused


@pytest.mark.parametrize("page, question, titles", [
    ("assistant", "What topics does the page group under its risk assessment heading?",
     ["Audit techniques and benchmarks", "Downstream impact assessment and forecasting",
      "Secure evaluation infrastructure", "System safety assessment", "Metrology for AI risk assessment"]),
    ("second_page", "What sub-areas sit under Red Teaming?", ["Third-party red teaming", "Reporting and disclosure"]),
    ("third_page", "Which areas fall under the Incident Reporting parent?",
     ["Near-miss reporting", "Whistleblower protections"]),
])
def test_a_parents_parts_asked_with_words_that_name_no_topic_are_listed(request, page, question, titles):
    answer = request.getfixturevalue(page).answer(question)
    assert not answer.refused and [c.title for c in answer.citations] == titles
    assert answer.text.splitlines()[0].endswith(f"has {len(titles)} sections under it:")


def test_a_covered_topic_beside_the_parent_is_not_a_list_of_its_parts(assistant):
    retriever = assistant.retriever
    question = "Which areas under Risk Assessment deal with benchmarks?"
    result = retriever.search(question)
    assert children_asked(result.topic, retriever.sections(), result.evidence) is None
    listed = "What topics does the page group under its risk assessment heading?"
    result = retriever.search(listed)
    assert children_asked(result.topic, retriever.sections(), result.evidence) is not None
