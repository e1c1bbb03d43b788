"""Which sections share a code: answered from the page's code lines (app/codes.py), on the real shipped page."""

from __future__ import annotations

import pytest

from conftest import HISTORY_SHAPES, converse

METROLOGY = "Metrology for AI risk assessment"
AUDIT = "Audit techniques and benchmarks"


@pytest.mark.parametrize("question", ["Do any areas share a code?", "Which two cards on this page share a code?",
                                      "Which sections have the same code?"])
def test_a_question_about_shared_codes_lists_the_cards_that_share_one(assistant, question):
    """Each group of cards with one code, from the code lines; the search alone found the overview."""
    answer = assistant.answer(question)
    titles = [c.title for c in answer.citations]
    assert not answer.refused and {AUDIT, METROLOGY, "Mechanistic interpretability", "Studying goals in systems"} <= set(
        titles)
    assert "LLM chain-of-thought faithfulness and legibility" not in titles  # 1.1.2 is its own
    assert "3.2.1 Benchmarks & Evaluation" in answer.text


@HISTORY_SHAPES
def test_another_area_sharing_that_code_is_read_from_the_section_the_conversation_is_on(assistant, shape):
    *_, answer = converse(assistant, ["What does the page say about measuring AI risk precisely?",
                                      "Which code does it have?", "Does another area share that code?"], shape)
    assert [c.title for c in answer.citations][:2] == [AUDIT, METROLOGY]
    assert answer.listed[0].endswith("audit-techniques-and-benchmarks")


def test_the_same_code_as_a_named_card(assistant):
    answer = assistant.answer(f"Which area has the same code as {METROLOGY}?")
    assert answer.citations[0].title == AUDIT
    alone = assistant.answer("Which area has the same code as LLM chain-of-thought faithfulness and legibility?")
    assert alone.text.startswith("No other section has the code **1.1.2 Learning Objectives**")


def test_a_named_code_keeps_its_own_look_up(assistant):
    """"Which areas share the code 2.2.1?" names the code: the code look-up lists what has it, not every shared code."""
    titles = {c.title for c in assistant.answer("Which areas share the code 2.2.1?").citations}
    assert "System safety assessment" in titles and METROLOGY not in titles


@HISTORY_SHAPES
def test_those_two_after_a_pick_counts_the_whole_list_again(third_page, shape):
    """After "the second one" a plural is about the picked section; "those two" counts the list of two again."""
    listed, _, both = converse(third_page, ["Which areas deal with near misses or whistleblowers?", "the second one",
                                            "What code do those two areas share?"], shape)
    assert {c.title for c in both.citations} == {c.title for c in listed.citations}
    assert "5.2.1" in both.text


@pytest.mark.parametrize("question", ["Which sections have 10.3.12 in common?", "What cards share 10.3.12?"])
def test_a_named_code_shared_without_the_word_code_lists_what_has_it(second_page, question):
    """Before, "share" beside a code (no "code" or "coded") was a topic word, and the answer was one card: nothing to
    count in for "the last one"."""
    listed, last = converse(second_page, [question, "The last one."])
    assert [c.title for c in listed.citations] == ["Jailbreak evaluations", "AI-assisted red teaming"]
    assert not last.refused and last.citations[0].title == "AI-assisted red teaming"


def test_a_named_code_shared_beside_a_parent_title_lists_what_has_it(assistant):
    """Before, the parent's title beside the code made it "the code of the card named": one card. The title named
    says which sections are meant; it is not one of them (the parent has the code too)."""
    answer = assistant.answer("Which Risk Assessment areas share code 2.2.1?")
    assert [c.title for c in answer.citations] == ["Downstream impact assessment and forecasting",
                                                   "System safety assessment"]
