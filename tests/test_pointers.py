"""What a list or a follow-up points at: a card's cross-references ("Does it refer to other sections?"), the sentence a
list entry shows for the words that chose it, sections by a label whatever verb asks for them, and a follow-up that is
a bare verb ("What helps?"). Real model and index for the answers."""

from __future__ import annotations

import pytest

from consensus_chat.app.asked import listed_sentence
from consensus_chat.app.crossref import asks_cross_reference, referring
from consensus_chat.app.followup_context import bare_predicate


@pytest.mark.parametrize("question, asks", [
    ("Does it refer to other sections? — Mechanistic interpretability", True),
    ("Does that card point to another part of the page?", True),
    ("Is there a cross-reference in it?", True),
    ("Does it link elsewhere?", True),
    ("Do other sections refer to jailbreak prompts?", False),  # asks about jailbreaks, not where a card points
    ("Which sections refer to red teaming?", False),
    ("What does it refer to?", False),  # no other part of the page is asked about
])
def test_a_question_about_cross_references(question, asks):
    assert asks_cross_reference(question, "Mechanistic interpretability") is asks


def test_sentences_with_a_cross_reference():
    sentences = ["Audits check models (Smith).", "Benchmarks help (Jones, see also 2.1.1 above).", "More (see below)."]
    assert referring(sentences) == sentences[1:]


def test_a_cards_cross_references_are_quoted(assistant):
    first = assistant.answer("Which research area looks inside models for concepts such as deception?")
    follow = assistant.answer("Does it point to another section?", [first])
    assert not follow.refused and follow.citations[0].title == "Mechanistic interpretability"
    assert "(see above)" in follow.text


def test_a_card_without_cross_references_says_so(assistant):
    first = assistant.answer("What is explainability?")
    follow = assistant.answer("Does that card refer to other sections?", [first])
    assert not follow.refused and "does not refer to another section" in follow.text
    assert follow.citations[0].title == "Explainability"


def test_a_list_entry_quotes_the_sentence_that_uses_the_questions_words():
    sentences = ["Explainability techniques attribute behaviour to inputs.", "Current tools are often unreliable."]
    assert listed_sentence(["unreliable", "tools"], sentences) == sentences[1]
    assert listed_sentence(["bread"], sentences) == sentences[0]  # nothing shared: the first, defining sentence
    assert listed_sentence([], sentences) == sentences[0]


def test_a_list_shows_why_each_section_matched(assistant):
    answer = assistant.answer("Which areas deal with explanation tools being unreliable, or with personas developing "
                              "in training?")
    assert not answer.refused and "often unreliable" in answer.text


def test_sections_by_a_label_whatever_verb_asks(third_page):
    answer = third_page.answer("Which cards carry the Other label?")
    assert not answer.refused
    assert [c.title for c in answer.citations] == ["Root cause analysis", "Near-miss reporting"]
    assert third_page.answer("Which areas with the Other label discuss baking bread?").refused


def test_every_is_a_determiner_not_a_topic(third_page):
    answer = third_page.answer("Name every card that cites Leveson.")
    assert [c.title for c in answer.citations] == ["Root cause analysis", "Near-miss reporting"]


def test_part_of_a_parent_lists_its_children(third_page):
    answer = third_page.answer("Which areas are part of Incident Reporting?")
    assert [c.title for c in answer.citations] == ["Near-miss reporting", "Whistleblower protections"]


@pytest.mark.parametrize("question, bare", [
    ("What helps?", True), ("What is being tried?", True), ("Who pays?", True), ("What can be done?", True),
    ("What is metrology?", False), ("Who is responsible?", False), ("What about football?", False),
    ("What's the time?", False),
])
def test_a_bare_verb_names_no_topic(question, bare):
    assert bare_predicate(question) is bare


def test_a_bare_verb_continues_the_last_section(assistant):
    first = assistant.answer("What is system safety assessment?")
    follow = assistant.answer("What helps?", [first])
    assert not follow.refused and follow.citations[0].title == "System safety assessment"
    assert assistant.answer("What about football?", [first]).refused  # a topic of its own


def test_a_category_question_is_no_list_and_why_gives_the_reasoning(second_page):
    first = second_page.answer("Which category is red teaming also part of?")  # "Red Teaming" is also a parent area
    assert not first.refused and first.citations[0].title == "Overview" and "Also in Security" in first.text
    why = second_page.answer("Why?", [first])
    assert "hidden failure modes" in why.text  # the overview's Reasoning line, not its category line again
