"""A fragment after "and"/"what about" is asked in the previous question's frame when the search's evidence says the
frame finds what it names, else alone (app/followup_frame.py); a question after "and" keeps only its question; a
plural after a pick is about the picked section; a place with nothing listed is asked back naming the section the
last answer was about; a question naming a code lists what has it; the section the search ranked first is quoted
first. Real model, real index, every history shape where the history matters, at most two searches a follow-up."""

from __future__ import annotations

import pytest

from conftest import HISTORY_SHAPES, METROLOGY, CountingRetriever, converse, data_page_fixture, first_id, refused_after

DOWNSTREAM = "risk-assessment--downstream-impact-assessment-and-forecasting"
SYSTEM_SAFETY = "risk-assessment--system-safety-assessment"
CODED = "Which research areas are coded 2.2.1?"
LIMITS = "What are the limitations of explainability tools?"


@HISTORY_SHAPES
def test_a_fragment_is_asked_in_the_previous_questions_frame(assistant, shape):
    _, answer = converse(assistant, [LIMITS, "and of metrology?"], shape)
    assert answer.resolved_question == "What are the limitations of metrology tools?"
    assert not answer.refused and first_id(answer) == METROLOGY


@pytest.mark.parametrize("follow_up", ["same question for metrology", "ok and what about metrology?"])
def test_a_fragment_said_other_ways_is_asked_in_the_frame(assistant, follow_up):
    _, answer = converse(assistant, ["What are the limitations of explainability?", follow_up])
    assert answer.resolved_question == "What are the limitations of metrology?" and first_id(answer) == METROLOGY


@pytest.mark.parametrize("opener, follow_up, resolved, section", [
    ("What are the open problems in mechanistic interpretability?", "and in explainability?",
     "What are the open problems in explainability?", "explainability"),
    ("What are the challenges of studying goals in AI systems?", "How about for secure evaluation infrastructure?",
     "What are the challenges of secure evaluation infrastructure?", "risk-assessment--secure-evaluation-infrastructure"),
])
def test_a_fragments_preposition_is_not_doubled_in_the_frame(assistant, opener, follow_up, resolved, section):
    _, answer = converse(assistant, [opener, follow_up])
    assert answer.resolved_question == resolved and first_id(answer) == section


def test_a_frame_whose_own_words_would_quote_the_last_section_is_answered_from_the_fragments(third_page):
    # "uneven coverage" is the incident databases' sentence; the frame asks it of whistleblowers. Since the telling
    # words' BM25 joined the ranking (2026-12-06) the frame's own search ranks the incident databases first, so the
    # fragment is asked alone; either way the answer is the whistleblowers' section, never the last one.
    _, answer = converse(third_page, ["Why do incident databases have uneven coverage?", "how about whistleblowers?"])
    assert answer.resolved_question in ("Why do whistleblowers have uneven coverage?", "whistleblowers?")
    assert {c.id for c in answer.citations} == {"incident-reporting--whistleblower-protections"}


@pytest.mark.parametrize("follow_up", ["what about my company's HR grievance form?", "and sourdough starters?"])
def test_a_fragment_the_frame_does_not_find_stands_alone(assistant, follow_up):
    answer = refused_after(assistant, "What does the document say about metrology?", follow_up)
    assert "metrology" not in answer.resolved_question.lower()


@HISTORY_SHAPES
def test_a_question_after_and_is_not_put_into_the_frame(assistant, shape):
    _, answer = converse(assistant, ["What does explainability help with?", "and how reliable are the tools?"], shape)
    assert answer.resolved_question.startswith("how reliable are the tools?"), answer.resolved_question
    assert not answer.refused and first_id(answer) == "explainability"


def test_a_fragment_costs_at_most_two_searches(assistant):
    from consensus_chat.app.assistant import Assistant

    first = assistant.answer(LIMITS)
    counting = CountingRetriever(assistant.retriever)
    answer = Assistant(counting, assistant.config).answer("what about sourdough starters?", [first])
    assert answer.refused and counting.searches == 2


def test_a_question_naming_a_code_lists_what_has_it(assistant):
    answer = assistant.answer(CODED)
    assert [c.id for c in answer.citations][:3] == list(answer.turn.listed) and len(answer.turn.listed) == 3
    assert set(answer.turn.listed) == {"risk-assessment", DOWNSTREAM, SYSTEM_SAFETY}


@HISTORY_SHAPES
def test_a_plural_after_a_pick_asks_about_the_picked_section(assistant, shape):
    listed, picked, cites = converse(assistant, [CODED, "the third one", "who are they citing?"], shape)
    third = listed.turn.listed[2]
    assert first_id(picked) == third and {c.id for c in cites.citations} == {third}, cites.resolved_question
    assert ";" not in cites.resolved_question


@HISTORY_SHAPES
def test_a_place_with_nothing_listed_is_asked_back_naming_the_section(assistant, shape):
    first, answer = converse(assistant, ["What is metrology?", "the second one"], shape)
    assert len(first.turn.cited) == 1 and not first.turn.listed
    assert answer.refused and not answer.citations
    assert '"Metrology for AI risk assessment"' in answer.body and "Which section do you mean?" in answer.body


@pytest.mark.parametrize("question, section", [("What is downstream impact assessment?", DOWNSTREAM),
                                               ("What does the page say about audit benchmarks?",
                                                "risk-assessment--audit-techniques-and-benchmarks")])
def test_the_section_ranked_first_is_quoted_first(assistant, question, section):
    answer = assistant.answer(question)
    assert answer.citations and first_id(answer) == section
    result = assistant.retriever.search(question, k=5)
    assert result.hits[0].id == section  # the search ranked it first; the answer no longer reorders it


SECOND_SOURCE = "red-teaming-in-practice-a-field-guide"


@HISTORY_SHAPES
def test_after_a_refusal_this_guide_is_the_document_and_ok_is_no_topic(second_page, shape):
    refused, answer = converse(second_page, ["How do I train for a marathon?", "OK. Who wrote this guide?"], shape)
    assert refused.refused and not answer.refused and first_id(answer) == SECOND_SOURCE and "Doe" in answer.text


@HISTORY_SHAPES
@pytest.mark.parametrize("follow_up, answered", [("and what do experts recommend?", False),
                                                 ("and how does metrology work?", True)])
def test_after_a_refusal_a_question_after_and_is_answered_only_when_it_names_a_section(assistant, shape, follow_up,
                                                                                      answered):
    refused, answer = converse(assistant, ["How do I train for a marathon?", follow_up], shape)
    assert refused.refused
    assert (not answer.refused and first_id(answer) == METROLOGY) if answered else (
        answer.refused and not answer.citations and "does not cover" in answer.body)


@HISTORY_SHAPES
@pytest.mark.parametrize("first, fragment", [
    ("What is root cause analysis?", "And its limits?"),
    ("What about near-miss reporting?", "And its limits?"),
    ("What is root cause analysis?", "and their drawbacks?"),
])
def test_a_fragment_with_a_pronoun_asks_about_the_last_topic(third_page, shape, first, fragment):
    # The pronoun is the last answer's topic: nothing to swap into the last question, which gave "its limits?" alone
    # (refused) before.
    shown, answer = converse(third_page, [first, fragment], shape)
    assert not answer.refused and answer.citations[0].title == shown.citations[0].title


@HISTORY_SHAPES
@pytest.mark.parametrize("frame, fragment, asked", [
    ("Who studied this?", "What about AI-assisted red teaming?", "Who studied AI-assisted red teaming?"),
    ("Why do they matter?", "and for third-party red teaming?", "Why do third-party red teaming matter?"),
    # A possessive held it too: "What are its supply-chain traceback?" swapped out the frame's own word.
    ("What are its limitations?", "And for third-party red teaming?", "What are third-party red teaming limitations?"),
    ("What are their weaknesses?", "What about AI-assisted red teaming?",
     "What are AI-assisted red teaming weaknesses?"),
])
def test_a_fragment_takes_the_place_of_the_pronoun_that_held_the_topic(second_page, shape, frame, fragment, asked):
    # Before, the frame's only topic word was swapped out: "Who AI-assisted red teaming this?".
    *_, answer = converse(second_page, ["What are jailbreak evaluations?", frame, fragment], shape)
    assert answer.resolved_question == asked and not answer.refused


@HISTORY_SHAPES
@pytest.mark.parametrize("follow_up", ["How does the guide use it?", "And how does the guide use it?"])
def test_a_pronoun_beside_the_document_named_points_back(second_page, shape, follow_up):
    # "What does it say about X?" leaves the pronoun to the document; with "the guide" named the pronoun is the last
    # topic. It was asked alone, and "use" found another section.
    shown, answer = converse(second_page, ["What are jailbreak evaluations?", follow_up], shape)
    assert answer.citations[0].title == shown.citations[0].title == "Jailbreak evaluations", answer.resolved_question


ninth_page = data_page_fixture("ninth-page.txt", scope="module")


@HISTORY_SHAPES
def test_a_name_takes_the_place_of_the_name_the_document_never_mentions(ninth_page, shape):
    # Names are no topic words, so "And Costco?" found no place in the frame and was asked alone (refused).
    *_, costco, both = converse(ninth_page, ["How could Walmart use genome sequencing to link cases of food poisoning?",
                                             "And Costco?", "What about Aldi and Lidl?"], shape)
    assert costco.resolved_question == "How could Costco use genome sequencing to link cases of food poisoning?"
    assert both.resolved_question.startswith("How could Aldi and Lidl use genome sequencing")
    assert not costco.refused and costco.citations[0].title == "Pathogen genome sequencing"
    assert any("never mentions Costco" in n for n in costco.notices)


@HISTORY_SHAPES
def test_a_name_swapped_in_brings_its_own_article(third_page, shape):
    *_, ntsb, boeing = converse(third_page, ["How could the FAA use near-miss reporting?", "What about the NTSB?",
                                             "And Boeing?"], shape)
    assert ntsb.resolved_question == "How could the NTSB use near-miss reporting?"  # was "the the NTSB"
    assert boeing.resolved_question == "How could Boeing use near-miss reporting?"


@HISTORY_SHAPES
def test_a_fragment_of_the_documents_words_is_not_taken_for_a_name(ninth_page, shape):
    _, answer = converse(ninth_page, ["How could Walmart use genome sequencing to link cases of food poisoning?",
                                      "And Restaurant grades?"], shape)
    assert answer.citations[0].title == "Restaurant inspection grades"


def test_a_name_swapped_in_costs_at_most_two_searches(ninth_page):
    from consensus_chat.app.assistant import Assistant

    first = ninth_page.answer("How could Walmart use genome sequencing to link cases of food poisoning?")
    counting = CountingRetriever(ninth_page.retriever)
    answer = Assistant(counting, ninth_page.config).answer("And Costco?", [first])
    assert counting.searches <= 2 and answer.resolved_question.startswith("How could Costco")
