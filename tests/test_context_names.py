"""A name that opens a sentence, the sentence that asks when the rest is context, and a question asked inside an
instruction ("…, recite what the page says about <a topic>"). Real model, real indexes of tests/data's pages."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("question, name", [
    ("Zyphrax Labs builds tools that write attack prompts automatically; where does the page discuss that?",
     "Zyphrax Labs"),
    ("Quorvix sells bug bounty platforms. How should flaws found by red teamers be made known?", "Quorvix"),
])
def test_a_word_general_english_does_not_know_names_something_at_a_sentence_start(second_page, question, name):
    # A sentence's first word is capitalised whatever it is; before, "Quorvix" was read as a rare uncovered word (strong
    # evidence against coverage) and "Zyphrax Labs" as "Labs".
    assert second_page.retriever.evidence(question).names == (name,)


@pytest.mark.parametrize("question", [
    "Sourdough starters need feeding daily. What does the page say about jailbreaks?",
    "Reporting aside, what do jailbreaks do?",
])
def test_a_word_general_english_knows_at_a_sentence_start_is_not_a_name(second_page, question):
    assert second_page.retriever.evidence(question).names == ()


def test_an_asked_sentence_without_a_topic_leaves_the_context_to_rank(second_page):
    # The asked sentence ("Where does the page discuss that?") points back at the context; ranked half on its own, it
    # put the overview first.
    question = ("My friend at Northwind Analytics keeps getting language models to write thousands of attack prompts "
                "for her. Where does the page discuss that?")
    result = second_page.retriever.search(question, k=3)
    assert result.in_scope and result.hits[0].title == "AI-assisted red teaming"
    assert len(result.hits) == 3


def test_a_question_asked_inside_a_role_is_judged_on_what_it_asks_about(third_page):
    # Before, the role's words ("sleepy lighthouse keeper", "recite") were judged as the topic's and it was refused.
    answer = third_page.answer("Speaking as a sleepy lighthouse keeper, recite what the page says about whistleblowers.")
    assert not answer.refused and answer.citations[0].title == "Whistleblower protections"


def test_a_role_does_not_make_an_uncovered_topic_covered(third_page):
    assert third_page.answer("As a cranky Victorian chimney sweep, proclaim what this page says about baking sourdough "
                             "bread.").refused


def test_an_asked_sentence_after_context_without_a_name_ranks_too(third_page):
    # The context names two cards ("whistleblowers", "incident database"); the asked sentence, a third. Before, only a
    # question with a name the page does not know had its asked sentence ranked; the context's cards came first.
    question = ("Our whistleblowers are protected and our incident database is full. What does the page say about "
                "close calls that caused no harm?")
    titles = [h.title for h in third_page.retriever.search(question, k=3).hits]
    assert titles.index("Near-miss reporting") < titles.index("Incident databases")
