"""The ranking and the answer agree with what a question asks: a parent's parts asked for rank first (they are what
the answer lists; retriever/search.py with retriever/outline.children_asked), a card or source record is quoted
whole (app/extractive.py), the sentence asked beside a name the page does not know weighs as much as the whole
question, and a source key beside words the page uses, or a word for citing ("attribute"), is what is asked about
(retriever/decision.judged).
Real model, real indexes of the shipped page and of tests/data's pages."""

from __future__ import annotations

import pytest

from conftest import data_page_fixture

from consensus_chat.retriever.outline import children_asked

ninth_page = data_page_fixture("ninth-page.txt", scope="module")


@pytest.mark.parametrize("page, question, parent", [
    ("assistant", "Which topics fall under Risk Assessment?", "Risk Assessment"),
    ("third_page", "Which topics fall under the incident reporting parent area?", "Incident Reporting"),
])
def test_a_parents_parts_rank_before_the_parent(request, page, question, parent):
    retriever = request.getfixturevalue(page).retriever
    result = retriever.search(question, k=3)
    parts = [s.title for s in retriever.sections() if s.parent == parent]
    assert len(result.hits) == 3 and result.hits[0].title in parts and result.hits[0].parent == parent
    # The answer lists the same parts, so its first citation is the ranking's kind of section.
    answer = request.getfixturevalue(page).answer(question)
    assert [c.title for c in answer.citations] == parts


def test_a_title_that_holds_the_parents_name_is_not_the_parent(second_page):
    retriever = second_page.retriever
    question = "As bullet points, list the two claims the page makes about AI-assisted red teaming."
    result = retriever.search(question)
    assert children_asked(result.topic, retriever.sections(), result.evidence) is None
    assert result.hits[0].title == "AI-assisted red teaming"


def test_the_first_card_is_quoted_whole(assistant):
    answer = assistant.answer("What does the page say about system safety?")
    top = answer.sources[0]
    assert top.title == "System safety assessment" and top.kind == "card"
    sentences, _ = assistant.retriever.sentences(top)
    quoted = [c.sentence for c in answer.citations if c.title == top.title]
    # Every sentence of the card, the one nearest the question first and the rest in the card's order.
    assert sorted(quoted) == sorted(sentences) and [q for q in sentences if q in quoted[1:]] == quoted[1:]
    assert "senior leadership" in answer.text  # the card's second sentence, which is not the nearest


def test_the_source_record_is_quoted_whole_too(third_page):
    # Before, only its nearest sentence ("This review examines how safety-critical industries …"), which names no
    # industry; the one that answers came second.
    answer = third_page.answer("Which industries does the incident review compare?")
    assert answer.citations[0].section.kind == "source" and "aviation, medicine and nuclear power" in answer.body


@pytest.mark.parametrize("question, title", [
    # Ranked by the whole question alone, the first sentence's words ("inputs", "attribution") put the card on
    # attributing behaviour to training data (or on chain-of-thought) first.
    ("Shapash, a Python package, draws charts of which inputs drove each prediction. How far does the page trust "
     "such tools?", "Explainability"),
    ("Captum, the PyTorch library, offers integrated gradients and other input attribution methods. How reliable "
     "does the page think such tools are?", "Explainability"),
])
def test_the_asked_sentence_beside_an_unknown_name_weighs_as_much_as_the_whole(assistant, question, title):
    result = assistant.retriever.search(question)
    assert result.in_scope and result.evidence.names and result.hits[0].title == title


@pytest.mark.parametrize("question", ["What does the page attribute to Turpin?", "What does the page attribute to Zou?"])
def test_a_key_beside_words_the_page_uses_is_about_the_key(request, question):
    page = request.getfixturevalue("assistant" if "Turpin" in question else "second_page")
    answer = page.answer(question)
    key = question.rstrip("?").split()[-1]
    assert not answer.refused and key in answer.citations[0].citations


@pytest.mark.parametrize("key", ["Jin", "Sadilek", "Ndraha", "Allard"])
def test_what_a_page_attributes_to_a_key_is_asked_of_the_key_on_a_page_without_that_word(ninth_page, key):
    # "attribute" is a word for citing, like "credit": beside a key it says how the key is asked about. The ninth page
    # never uses the word, and the rule refused these as a question about attributing.
    answer = ninth_page.answer(f"What does the page attribute to {key}?")
    assert not answer.refused and key in answer.citations[0].citations


def test_a_key_beside_a_topic_the_page_never_names_is_still_judged(assistant):
    assert assistant.answer("Is Turpin an expert on cryptocurrency?").refused
