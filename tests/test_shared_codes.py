"""Which sections share a code: answered from the page's code lines (app/codes.py), on the real shipped page."""

from __future__ import annotations

import pytest

from consensus_chat.retriever.wording import code_mentions
from conftest import HISTORY_SHAPES, converse, evals_page_assistant

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


@pytest.mark.parametrize("question", ["List the research areas whose codes start with a 1.",
                                      "Which research areas on this page carry codes starting with 1?",
                                      "Which cards have a section code that begins with the digit 1?"])
def test_codes_starting_with_a_number_list_the_cards_under_that_prefix(assistant, question):
    """A number after "start(s)/begin(s) with" beside the page's codes is a code prefix (retriever/wording.py). Before,
    a bare "1" was no code and "starting" a topic word the page never uses: the question was refused."""
    answer = assistant.answer(question)
    assert not answer.refused
    assert {c.title for c in answer.citations} == {"Explainability", "LLM chain-of-thought faithfulness and legibility",
                                                     "Attributing model behaviours to training data"}


@HISTORY_SHAPES
def test_the_last_card_under_a_code_prefix(third_page, shape):
    listed, last = converse(third_page, ["Which cards have codes starting with 5.1?", "Tell me about the last one."],
                            shape)
    assert [c.title for c in listed.citations] == ["Incident databases", "Serious incident notification"]
    assert last.citations[0].title == "Serious incident notification"


def test_a_number_a_kind_of_code_starts_with_is_not_the_pages(assistant):
    """"building codes starting with 1990": a kind of code beside the number, not the page's numbering."""
    assert assistant.answer("What do building codes starting with 1990 say about fire exits?").refused


def test_a_number_after_start_with_and_no_word_for_codes_is_no_code():
    """Only beside a word for codes is "starting with 5" a code prefix (retriever/wording.code_mentions)."""
    assert [c for c, *_ in code_mentions("Which cards have codes starting with 5?")] == ["5"]
    assert code_mentions("How do I start with 3 testers and grow the red team?") == []


@HISTORY_SHAPES
def test_which_other_card_cites_that_source_lists_the_cards_citing_the_last_ones_keys(second_page, shape):
    """"that source" after a card is the card's source keys: the other cards citing any of them come first, each with
    the sentence that cites it. Before, "that source" was read as "that one" (the card itself) and the card was
    quoted again, so the answer never said where else its sources are cited."""
    first, answer = converse(second_page, ["What do outside red teams add that developers lack?",
                                           "Which other card cites that source?"], shape)
    assert first.citations[0].title == "Third-party red teaming"
    assert [c.title for c in answer.citations] == ["AI-assisted red teaming", "Third-party red teaming"]
    assert answer.text.startswith("**AI-assisted red teaming** also cites Ganguli")
    assert "coverage is uneven (Ganguli)" in answer.text


def test_a_card_whose_sources_no_other_card_cites_says_so(third_page):
    *_, answer = converse(third_page, ["What protection do employees who disclose safety concerns need?",
                                       "Is that source cited anywhere else?"])
    assert answer.text.startswith("No other section cites Bloch-Wehba")
    assert [c.title for c in answer.citations] == ["Whistleblower protections"]


@HISTORY_SHAPES
def test_another_card_with_that_label_is_read_from_the_section_the_conversation_is_on(third_page, shape):
    """The page also has a label called Other: beside "that label", "other" is the word, not that label."""
    *_, answer = converse(third_page, ["What protection do employees who disclose safety concerns need?",
                                       "Does any other card have that label?"], shape)
    assert [c.title for c in answer.citations] == ["Serious incident notification", "Whistleblower protections"]
    assert "the label **Governance & Oversight**" in answer.text


def test_a_question_about_shared_sources_lists_each_key_cited_twice(second_page):
    answer = second_page.answer("Do any cards cite the same source?")
    assert [c.title for c in answer.citations] == ["Third-party red teaming", "AI-assisted red teaming"]
    assert "Ganguli: **Third-party red teaming** and **AI-assisted red teaming**" in answer.text


def test_a_sub_area_carrying_that_code_comes_before_the_area_above_it(assistant):
    """"carry" says how a section holds a code, not a topic (before, the question was answered from the card itself);
    the parent area has its sub-areas' code too, and comes after the sibling the question asks for."""
    *_, answer = converse(assistant, ["What does the page say about forecasting the effects of AI on society?",
                                      "Does any other sub-area carry its code?"])
    assert [c.title for c in answer.citations] == ["System safety assessment", "Risk Assessment",
                                                   "Downstream impact assessment and forecasting"]


@HISTORY_SHAPES
def test_which_other_card_shares_it_after_a_label_shares_that_label(second_page, shape):
    """"it" is what the question before asked for (the label), so the answer lists the cards with that label; before,
    "shares" was searched as a topic word and the answer was another red-teaming card."""
    *_, answer = converse(second_page, ["How does automated jailbreak search help?",
                                        "What label is that card filed under?", "Which other card shares it?"], shape)
    assert [c.title for c in answer.citations] == ["AI-assisted red teaming", "Jailbreak evaluations"]
    assert "Governance & Policy Processes" in answer.text


def test_what_code_a_card_carries_is_its_code_on_a_page_that_uses_the_word(tmp_path_factory):
    """"carry" beside "code" asks what the card has, not a topic: on a development page where other cards use "carry"
    (blind set 41's forty-fifth page, now development data), the answer was another card's code."""
    page = evals_page_assistant("blind41/forty-fifth-page.txt", tmp_path_factory)
    *_, answer = converse(page, ["Which sub-areas are listed under cross-contact in the kitchen?",
                                 "Tell me about the third.", "What code does it carry?"])
    small = "Separate preparation areas in small kitchens"
    assert [c.title for c in answer.citations] == [small] and "coded **2.4 Premises Design" in answer.text
