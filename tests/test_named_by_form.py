"""What a question names by its form: a source key that is an everyday word, written with a capital where no sentence
starts ("What point does Reason back up?"), and the report a page rests on, asked with any verb ("Which report does
this page draw on?", `Topic.rests_on`). Real model, real indexes of the shipped page and a page nobody calibrated."""

from __future__ import annotations

import pytest

from conftest import converse

SOURCE = "The Singapore Consensus on Global AI Safety Research Priorities"


@pytest.mark.parametrize("question", ["What point does Reason back up?", "Which claim is Reason brought in for?"])
def test_an_everyday_key_with_a_capital_mid_sentence_is_the_key(third_page, question):
    # The third page cites "Reason" (root cause analysis). Before, "Reason" was the everyday word unless the rest of the
    # question said it was a source ("brought in for"), and the first question was answered from the overview.
    topic = third_page.retriever.analyse(question)
    assert [e.text for e in topic.entities if e.kind == "source-key"] == ["Reason"]
    answer = third_page.answer(question)
    assert not answer.refused and answer.citations[0].title == "Root cause analysis"


@pytest.mark.parametrize("question", ["Reason aside, what do near-miss reports show?",
                                      "What is the reason for reporting near misses?"])
def test_the_same_word_opening_a_sentence_or_in_lower_case_stays_a_word(third_page, question):
    topic = third_page.retriever.analyse(question)
    assert not any(e.kind == "source-key" for e in topic.entities)


@pytest.mark.parametrize("question", ["Which report does this page draw on?", "What report is the page based on?",
                                      "Which report does this page draw its evidence from?"])
def test_the_report_a_page_rests_on_is_the_source_record(assistant, question):
    # Before: the overview's list of research areas (the question has no topic words, so it was "about the document").
    assert assistant.retriever.analyse(question).rests_on
    answer = assistant.answer(question)
    assert not answer.refused and answer.citations[0].title == SOURCE and "2025" in answer.text


def test_who_after_the_report_a_page_rests_on_names_its_authors(assistant):
    _, who = converse(assistant, ["Which report does this page draw on?", "Who?"])
    assert not who.refused and who.citations[0].title == SOURCE and "Bengio" in who.text


def test_asking_what_the_page_says_is_still_the_overview(assistant):
    assert not assistant.retriever.analyse("What does the page say?").rests_on
    assert not assistant.retriever.analyse("Who compiled the report?").rests_on
    assert assistant.answer("What does the page say?").citations[0].title == "Overview"


def test_a_key_beside_everyday_words_only_is_the_topic(third_page):
    # "offer" and "support" name no topic of their own: the question asks what the page cites McGregor for. Before, they
    # were judged as uncovered topic words beside the key (coverage 0.5, little dense support) and it was refused.
    answer = third_page.answer("What does McGregor offer support for?")
    assert not answer.refused and answer.citations[0].title == "Incident databases"
    # A word that names a topic of its own beside the key is still judged by the rule.
    assert third_page.answer("What does McGregor say about baking sourdough bread?").refused
