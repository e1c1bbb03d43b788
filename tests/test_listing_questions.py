"""Questions that ask which sections something holds: a code with any verb ("Which cards carry the code 2.2.1?"), and
the sub-areas of a parent whose name holds a word about citations ("Lead Sources in the Home"), or asked with "fall
under". Real model and index for the shipped page; the parent's name from Section records the parser would make."""

from __future__ import annotations

import pytest

from conftest import converse
from consensus_chat.retriever.outline import children_asked
from consensus_chat.ingest.section import Section
from consensus_chat.retriever.topic import Entity, Topic


@pytest.mark.parametrize("question, titles", [
    ("Which cards carry the code 2.2.1?", ["Risk Assessment", "Downstream impact assessment and forecasting",
                                           "System safety assessment"]),
    ("Which areas hold 3.2.1?", ["Audit techniques and benchmarks", "Metrology for AI risk assessment"]),
])
def test_a_code_asked_with_any_verb_lists_its_sections(assistant, question, titles):
    answer = assistant.answer(question)
    assert not answer.refused and [c.title for c in answer.citations][:len(titles)] == titles


@pytest.mark.parametrize("question", ["Which sections of 2.2.1 are about baking bread?", "Is 2.2.1 about stocks?"])
def test_a_code_beside_an_uncovered_topic_is_still_refused(assistant, question):
    assert assistant.answer(question).refused


def test_the_last_one_of_a_code_list(assistant):
    _, answer = converse(assistant, ["Which cards carry the code 2.2.1?", "The last one: what does it focus on?"])
    assert not answer.refused and answer.citations[0].title == "System safety assessment"


def test_what_falls_under_a_parent_lists_its_sub_areas(assistant):
    answer = assistant.answer("What falls under Risk Assessment?")
    assert [c.title for c in answer.citations][:2] == ["Audit techniques and benchmarks",
                                                      "Downstream impact assessment and forecasting"]


def _card(title: str, parent: str | None, line: int) -> Section:
    return Section(id=title.lower().replace(" ", "-"), kind="card", code="2.1.1", label="Source Control", title=title,
                   parent=parent, text="Body.", source_file="page.txt", line_start=line, line_end=line)


SECTIONS = [_card("Lead Sources in the Home", None, 1), _card("Paint and dust", "Lead Sources in the Home", 2),
            _card("Pipes and water", "Lead Sources in the Home", 3)]


def _topic(question: str, meta: tuple[str, ...]) -> Topic:
    start = question.index("Lead")
    entity = Entity("title", "Lead Sources in the Home", ("lead-sources-in-the-home",), start, start + 24)
    return Topic(question=question, text=question, words=(), entities=(entity,), meta=meta)


def test_a_word_about_citations_inside_the_parents_name_still_lists_its_sub_areas():
    found = children_asked(_topic("What are the sub-areas under Lead Sources in the Home?", ("sub-areas", "sources")),
                           SECTIONS)
    assert found is not None and [s.title for s in found[1]] == ["Paint and dust", "Pipes and water"]
    # Asking what it cites is a question about citations, not a list of sub-areas.
    assert children_asked(_topic("Which sources does Lead Sources in the Home cite?", ("sources", "sources", "cite")),
                          SECTIONS) is None


def test_a_title_and_a_topic_joined_by_or_list_one_section_each(assistant):
    answer = assistant.answer("Which parts of the page cover explainability or training data?")
    assert [c.title for c in answer.citations][:2] == ["Explainability", "Attributing model behaviours to training data"]
    # One title alone is answered from it, not turned into a list of its neighbours.
    assert {c.title for c in assistant.answer("Which sections cover explainability?").citations} == {"Explainability"}


def test_where_the_page_talks_about_two_things_lists_both(second_page):
    answer = second_page.answer("Where does the page talk about disclosure or about automatically generated attack "
                                "prompts?")
    assert [c.title for c in answer.citations][:2] == ["Reporting and disclosure", "AI-assisted red teaming"]


HEAT = [_card("Water, Rest and Shade", None, 1),
        _card("Drinking water through a long shift", "Water, Rest and Shade", 2),
        _card("Shaded rest areas near the job", "Water, Rest and Shade", 3)]


def test_a_card_title_quoted_whole_names_no_parent_by_its_words():
    """"Tell me about Shaded rest areas near the job." listed the three sub-areas of "Water, Rest and Shade" (two of
    the parent's three words, and "areas", sit in the card's own title); now the quoted title's words are the card's."""
    question = "Tell me about Shaded rest areas near the job."
    assert children_asked(Topic(question=question, text=question, words=("shaded", "rest"), entities=(),
                                meta=("areas",)), HEAT) is None
    listing = "Which areas sit under rest and shade?"  # the parent named by its words, no title quoted: still a list
    found = children_asked(Topic(question=listing, text=listing, words=("rest", "shade"), entities=(),
                                 meta=("areas",)), HEAT)
    assert found is not None and [s.title for s in found[1]] == [s.title for s in HEAT[1:]]
