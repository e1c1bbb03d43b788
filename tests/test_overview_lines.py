"""A question for the overview's layout lines (corpus README, parts 2-3: `Also in <parent>` and `Reasoning`) is
answered from the overview, first in the ranking, in a conversation too: a card has one label and no parent category.
Real model and indexes (the shipped page and tests/data's second page)."""

from __future__ import annotations

import pytest

from conftest import converse
from consensus_chat.ingest.section import asks_overview_line

ALSO = ["Which broader category is this mitigation also listed in?", "What is it also filed under?",
        "Which other category is interpretability listed under?",
        "What is the parent category of this practice?", "Under which wider category is it also listed?",
        "Which higher-level category is it also listed under?",
        "What is this mitigation also grouped under?"]  # "also", any participle, "under": before, a card answered
WHY = ["What reasoning is given for classifying it here?", "What is the justification for classing it where it is?",
       "Why was this mitigation placed where it is in the taxonomy?", "Why does the page classify this as a mitigation?",
       "Why is it classed as an organisational measure?", "Why was it classified there, and what broader category does it sit in?",
       "Give the Reasoning line of this page.", "What is the point made in the reasoning section?",
       "Turning to the overview: what is the reasoning?", "What justification is there for the placement of this practice?",
       # the line asked for by a determiner or question word, of the page or overview: before, refused
       "What's the reasoning on this page?", "What reasoning does the overview give?",
       "And why was it put where it is?"]  # "why" after "and": before, the `Also in` line

# Where the page's subject, called "this mitigation" (practice, technique, approach), is placed: before, these were
# refused or answered from a card (blind sets 15 to 27, read as development data, asked them in such words).
PLACED = ["What broader grouping does this mitigation belong to?", "Which bucket does this technique get filed under?",
          "What category does the page's approach sit in?"]
ALSO += PLACED


@pytest.mark.parametrize("question", ALSO + WHY)
def test_the_layout_lines_are_asked_for(question):
    assert asks_overview_line(question)


@pytest.mark.parametrize("question", [
    "Does the page also cover audits?", "Is metrology also in risk assessment?", "What other categories of risk are there?",
    "What does the page say about chain-of-thought reasoning?", "What is the parent area of audit techniques?",
    "Why are sunbeds classed as carcinogens?", "Why is red teaming placed before deployment?",  # a subject of its own
    "What does the chain-of-thought reasoning section say?", "What does the overview say about reasoning models?",
    "Which category of risk does this technique address?",  # a kind of something, not where the page is placed
])
def test_other_questions_do_not_ask_for_them(question):
    assert not asks_overview_line(question)


@pytest.mark.parametrize("question", ALSO + WHY)
def test_the_overview_ranks_first_and_its_line_is_quoted(assistant, question):
    result = assistant.retriever.search(question, k=3)
    assert result.in_scope and result.hits[0].kind == "overview"
    answer = assistant.answer(question)
    wanted = "Also in Organisation" if question in ALSO else "Interpretability techniques modify model design"
    assert not answer.refused and wanted in answer.text


def test_on_another_page_too(second_page):
    result = second_page.retriever.search("Which other category is this practice also in?", k=3)
    assert result.hits[0].kind == "overview"


def test_a_card_named_beside_them_keeps_its_own_label(retriever):
    # A named card's label is the card's: "classified under Learning Objectives" asks for a card, not the overview.
    result = retriever.search("Why was chain-of-thought reasoning classified under Learning Objectives?", k=3)
    assert result.hits[0].kind == "card"


def test_in_a_conversation_the_question_stands_alone(assistant):
    shown, answer = converse(assistant, ["Tell me about explainability", "Which category is it also in?"])
    assert shown.citations[0].title == "Explainability"
    assert answer.citations[0].title == "Overview" and "Also in Organisation" in answer.text


@pytest.mark.parametrize("question", ["What is the parent category of quantum computing?",
                                      "Which other category is knitting listed under?"])
def test_a_subject_of_its_own_beside_the_layout_words_is_judged_by_the_rule(retriever, question):
    # Everyday words may say how the overview line is asked; a rarer word the page never uses names another subject.
    assert not retriever.search(question, k=3).in_scope


# Why the page puts one approach before another: the pages' reasoning lines say so ("…, so the research favours X over
# Y"). Blind sets 15 to 26, read as development data, asked it in such words and were answered from a card.
PREFERRED = ["Why does the page put red teaming ahead of other evaluation methods?",
             "What reason does the guide give for preferring red teaming to other evaluations?"]


@pytest.mark.parametrize("question", PREFERRED)
def test_why_the_page_prefers_one_approach_asks_for_the_reasoning_line(second_page, question):
    assert asks_overview_line(question)
    assert second_page.retriever.search(question, k=3).hits[0].kind == "overview"
    answer = second_page.answer(question)
    assert not answer.refused and "Red teaming is an evaluation practice that exposes hidden failure modes" in answer.text


@pytest.mark.parametrize("question", ["Why do outside testers find more than in-house ones?",
                                      "Why do experts prefer shade to sunscreen?"])
def test_a_preference_that_is_not_the_pages_is_not_the_reasoning_line(question):
    assert not asks_overview_line(question)


# The page's subject named by the words of the overview's description, asked where it is placed: before, these ranked
# a card first and were answered from it (blind sets 25, 28 and 29, read as development data, asked them so).
@pytest.mark.parametrize("question, wanted", [
    ("What broad category is interpretability placed in?", "Also in Organisation"),
    ("Under what wider grouping is interpretability filed here, and what justification is offered for that?",
     "Interpretability techniques modify model design"),
])
def test_the_pages_subject_asked_where_it_is_placed_asks_for_the_overview(assistant, question, wanted):
    assert assistant.retriever.search(question, k=3).hits[0].kind == "overview"
    answer = assistant.answer(question)
    assert not answer.refused and answer.citations[0].title == "Overview" and wanted in answer.text


def test_the_subject_is_the_pages_one_on_another_page_too(second_page):
    # "red teaming" is the page's subject and the name of a parent area: a placing word asks for the overview,
    # not the parent's sub-areas.
    question = "What broader area does red teaming belong to here, and what's the stated rationale?"
    assert second_page.retriever.search(question, k=3).hits[0].kind == "overview"
    answer = second_page.answer(question)
    assert "Red teaming is an evaluation practice that exposes hidden failure modes" in answer.text


@pytest.mark.parametrize("question, card", [
    ("Which category does mechanistic interpretability belong to?", "Mechanistic interpretability"),  # a card's words
    ("What does the page say about a model's stated reasoning not matching what it did?",  # "reasoning" alone
     "LLM chain-of-thought faithfulness and legibility"),
])
def test_a_cards_subject_beside_a_placing_word_keeps_its_card(retriever, question, card):
    assert retriever.search(question, k=3).hits[0].title == card


def test_the_sub_areas_of_a_parent_named_like_the_subject_are_still_listed(second_page):
    answer = second_page.answer("Which areas sit under the Red Teaming heading?")
    assert "Reporting and disclosure" in answer.text and answer.citations[0].title != "Overview"


def test_a_follow_up_asks_for_its_own_line_of_the_overview(second_page):
    """A follow-up joined with the question it continues ("What is it also in? — Why is red teaming classed …?") is
    answered by the line its own words ask for; before, the previous question's "classed" chose the reasoning line."""
    why, also = converse(second_page, ["Why is red teaming classed as an evaluation practice?", "And what is it also in?"])
    assert why.citations[0].title == "Overview" and "Also in" not in why.text.split("\n\n")[1]
    assert also.citations[0].title == "Overview" and "Also in Security" in also.text


@pytest.mark.parametrize("category", ["What is the page's mitigation also filed under?", "What's this mitigation filed under?"])
def test_why_after_the_category_line_is_the_reasoning_line(assistant, category):
    """"Why?" after the `Also in` line asks why it is there: the reasoning line. Before, "filed" was no word for
    classing, so the joined question was answered by the `Also in` line again or the mitigation's description."""
    also, why = converse(assistant, [category, "Why?"])
    assert "Also in Organisation" in also.text
    assert why.citations[0].title == "Overview" and "Interpretability techniques modify model design" in why.text


def test_the_pages_subject_filed_under_asks_for_the_category_line(third_page):
    """A participle and "under" ending a question about the page's subject asks where it is placed. Before, "filed"
    without "also" was no question for a line, and the overview's closest sentence answered both turns."""
    placed, why = converse(third_page, ["What is incident reporting filed under?", "Why?"])
    assert placed.citations[0].title == "Overview" and "Also in Governance" in placed.text
    assert why.citations[0].title == "Overview" and "shared lessons" in why.text and "Also in" not in why.text


@pytest.mark.parametrize("question, wanted", [
    ("What does that category itself include?", "Practices for assessing AI systems"),
    ("What does the category description cover?", "Practices for assessing AI systems"),
    ("What is the mitigation supposed to achieve?", "Interpretability techniques aim to provide"),
    ("What broader area is it also in?", "Also in Organisation"),
])
def test_the_overviews_own_parts_are_asked_for(assistant, question, wanted):
    """The category itself as the subject is its description (the line before `Also in`), the mitigation's aim the line
    after it, and a larger area named by a comparative is the `Also in` line. Before, all four were refused."""
    assert asks_overview_line(question)
    answer = assistant.answer(question)
    assert not answer.refused and answer.citations[0].title == "Overview" and wanted in answer.text


@pytest.mark.parametrize("question", ["What are the mitigations for jailbreaks?", "Which category of risk is larger?"])
def test_a_mitigation_or_category_of_something_else_is_no_overview_part(question):
    assert not asks_overview_line(question)


def test_after_the_reasoning_the_category_itself_on_another_page(second_page):
    *_, category = converse(second_page, ["Which broader category does red teaming fall under here?", "Why?",
                                          "And what is that category about in general?"])
    assert category.citations[0].title == "Overview" and "before and after deployment" in category.text
