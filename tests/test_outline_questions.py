"""Questions for the sections under a parent area, asked in words the outline code did not know: "What sits under the
Red Teaming heading?" (a parent with no card of its own), "What is Risk Assessment split into?", the parent's name in
other word forms ("the sub-areas of home lead sources"). They are in scope as questions about the page's outline
(`decision.judged`, `Evidence.outline`), and the answer lists the sub-areas, so "the second one" picks from them.
Real model and indexes of the shipped page and tests/data/second-page.txt; the stemmed match on Section records the
parser would make."""

from __future__ import annotations

from conftest import converse
from consensus_chat.ingest.section import Section
from consensus_chat.retriever.outline import children_asked
from consensus_chat.retriever.topic import Topic

RED_TEAMING = ["Third-party red teaming", "Reporting and disclosure"]
RISK_ASSESSMENT = ["Audit techniques and benchmarks", "Downstream impact assessment and forecasting",
                   "Secure evaluation infrastructure", "System safety assessment", "Metrology for AI risk assessment"]


def test_a_heading_without_a_card_of_its_own_lists_its_sub_areas(second_page):
    # Red Teaming is only ever a parent on this page: before, "heading" counted as an uncovered word and it was refused.
    for question in ("What sits under the Red Teaming heading?", "What falls under the Red Teaming umbrella?"):
        answer = second_page.answer(question)
        assert not answer.refused, question
        assert [c.title for c in answer.citations] == RED_TEAMING, question


def test_the_second_one_of_a_heading_list(second_page):
    _, answer = converse(second_page, ["Which areas sit under the Red Teaming heading?", "The second one."])
    assert not answer.refused and answer.citations[0].title == "Reporting and disclosure"


def test_split_into_asks_for_the_sub_areas(assistant):
    answer = assistant.answer("What is the Risk Assessment area split into?")
    assert [c.title for c in answer.citations] == RISK_ASSESSMENT


def test_a_rarer_subject_beside_the_heading_is_not_a_question_about_the_outline(second_page):
    # "sourdough" is rarer in English than any word of "Red Teaming": the question is about something else.
    result = second_page.retriever.search("What sits under the Red Teaming heading in my sourdough notebook?")
    assert result.evidence.outline is not None and not result.in_scope


def _card(title: str, parent: str | None, line: int) -> Section:
    return Section(id=title.lower().replace(" ", "-"), kind="card", code="2.1.1", label="Source Control", title=title,
                   parent=parent, text="Body.", source_file="page.txt", line_start=line, line_end=line)


SECTIONS = [_card("Designing Venues and Routes", None, 1), _card("Exits", "Designing Venues and Routes", 2),
            _card("Barriers", "Designing Venues and Routes", 3), _card("Stewards", None, 4)]


def test_the_parent_named_in_other_word_forms():
    question = "What are the sub-areas of venue and route design?"
    found = children_asked(Topic(question, question, ("venue", "route", "design"), (), ("sub-areas",)), SECTIONS)
    assert found is not None and found[0] == "Designing Venues and Routes"
    assert [s.title for s in found[1]] == ["Exits", "Barriers"]
    # A word of its own beside the parent's words is another question.
    other = "What are the sub-areas of venue and route design for parking?"
    assert children_asked(Topic(other, other, ("venue", "route", "design", "parking"), (), ("sub-areas",)),
                          SECTIONS) is None


def test_most_of_the_parents_words_name_it():
    # Two of its three words, more than any other parent's: "the venue design heading" is "Designing Venues and Routes".
    sections = SECTIONS + [_card("Crowd Design Review", None, 5), _card("Maps", "Crowd Design Review", 6)]
    question = "What sits under the venue design heading?"
    found = children_asked(Topic(question, question, ("sits", "venue", "design", "heading"), (), ()), sections)
    assert found is not None and [s.title for s in found[1]] == ["Exits", "Barriers"]
    # One word is too little to name a parent by, and two parents sharing as many words are not told apart.
    one = "What sits under the venue heading?"
    assert children_asked(Topic(one, one, ("sits", "venue", "heading"), (), ()), sections) is None
    tied = "What sits under the design heading for venues and crowds?"
    assert children_asked(Topic(tied, tied, ("sits", "design", "heading", "venues", "crowds"), (), ()), sections) is None
