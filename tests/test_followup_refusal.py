"""What follows a refusal (app/followup_refusal.py): a question that brings a topic of its own is answered exactly as
if it were asked first, also when its words are ones most of the page's sections use; a pronoun with no word of the
question before it, an authorship question about "it", and a fragment led by a preposition lean on what was refused
and are refused again with no nearest section. Real model and index, every history shape, and a real server's /chat
with the turn and with text alone."""

from __future__ import annotations

import pytest

from conftest import HISTORY_SHAPES, converse, first_id, refused_follow_up

EU_ACT = "What does the EU AI Act require of providers?"
RISK = "risk-assessment"
CHAIN = "llm-chain-of-thought-faithfulness-and-legibility"
THIRD_PARTY = "red-teaming--third-party-red-teaming"
LEANS = "follows up on a question the document does not cover"



@HISTORY_SHAPES
@pytest.mark.parametrize("first", [EU_ACT, "What is Tesla's market cap?"])
def test_a_question_in_the_pages_own_words_after_a_refusal_is_answered_as_if_asked_first(assistant, shape, first):
    # "risk" and "assessment" are words most of the shipped page's sections use: they are its subject, not a sign
    # of leaning on the refused question.
    question = "how are risk assessments used?"
    refused, answer = converse(assistant, [first, question], shape)
    assert refused.refused and not answer.refused
    assert first_id(answer) == first_id(assistant.answer(question)) == RISK


@HISTORY_SHAPES
def test_a_question_in_a_data_pages_own_words_after_a_refusal_is_answered(second_page, shape):
    refused, answer = converse(second_page, ["How do I get a US visa?", "who are red teams?"], shape)
    assert refused.refused and not answer.refused and first_id(answer) == THIRD_PARTY


@HISTORY_SHAPES
@pytest.mark.parametrize("follow_up", ["How does it handle risk assessment?", "Does it require audits?",
                                       "what risk does it pose?"])
def test_a_pronoun_before_every_word_of_the_question_leans_on_the_refusal(assistant, shape, follow_up):
    # Each names a covered topic, and asked first each is answered; after the refusal "it" is the EU AI Act.
    assert LEANS in refused_follow_up(assistant, EU_ACT, follow_up, shape).text
    assert not assistant.answer(follow_up).refused


@HISTORY_SHAPES
def test_a_possessive_after_a_word_of_the_question_is_that_words(assistant, shape):
    refused, answer = converse(assistant, [EU_ACT, "how might a model obfuscate its reasoning?"], shape)
    assert refused.refused and not answer.refused and first_id(answer) == CHAIN


@HISTORY_SHAPES
def test_there_after_a_form_of_be_points_at_nothing(assistant, shape):
    refused, answer = converse(assistant, [EU_ACT, "Are there benchmarks for harmful behaviour?"], shape)
    assert refused.refused and first_id(answer) == "risk-assessment--audit-techniques-and-benchmarks"
    assert LEANS in refused_follow_up(assistant, EU_ACT, "Is there a fine for it?", shape).text


@HISTORY_SHAPES
@pytest.mark.parametrize("follow_up", ["Why is it hard to study goals in AI systems?",
                                       "Never mind. Why is it hard to study goals in AI systems?"])
def test_it_as_the_dummy_subject_of_a_clause_points_at_nothing(assistant, shape, follow_up):
    # "Why is it hard to B?": "it" stands for "to B", not for what was refused (before, it leaned and was refused).
    refused, answer = converse(assistant, ["Who won the 2024 Nobel Prize in Physics?", follow_up], shape)
    assert refused.refused and not answer.refused and first_id(answer) == "studying-goals-in-systems"
    # Guard: a participle after "is it" ("Is it related to B?") still leans on the refusal.
    assert LEANS in refused_follow_up(assistant, EU_ACT, "Is it related to risk assessment?", shape).text


@HISTORY_SHAPES
def test_asking_when_or_by_whom_it_was_published_after_a_refusal_is_refused(second_page, shape):
    # "publish" is a word for the document too, but "it" is what was refused: no section on disclosure is offered.
    assert LEANS in refused_follow_up(second_page, "What is Google's Project Zero?", "Does it publish its findings?",
                                      shape).text


@HISTORY_SHAPES
@pytest.mark.parametrize("follow_up", ["And for open-source models?", "What about for small companies?",
                                       "And in France?", "What about last year?"])
def test_a_fragment_that_only_adds_a_detail_to_the_refused_question_is_refused(assistant, shape, follow_up):
    refused_follow_up(assistant, EU_ACT, follow_up, shape)


@HISTORY_SHAPES
@pytest.mark.parametrize("follow_up, sections", [
    # Three sections speak of audits (the area, its audit techniques, the auditors' infrastructure); which one ranks
    # first is the ranking's business, not this test's: the follow-up is answered from one of them, alone.
    ("what about audits?", (RISK, "risk-assessment--audit-techniques-and-benchmarks",
                            "risk-assessment--secure-evaluation-infrastructure")),
    ("And the one on metrology?", ("risk-assessment--metrology-for-ai-risk-assessment",))])
def test_a_fragment_naming_a_topic_of_the_document_after_a_refusal_is_asked_alone(assistant, shape, follow_up,
                                                                                  sections):
    refused, answer = converse(assistant, [EU_ACT, follow_up], shape)
    assert refused.refused and not answer.refused and first_id(answer) in sections
    # Asked alone, not put into the refused question's frame ("What does the audits?").
    assert answer.resolved_question == follow_up.split()[-1]


@pytest.mark.slow
def test_api_chat_after_a_refusal_with_the_turn_or_the_text(served):
    from gradio_client import Client

    client = Client(served, verbose=False, httpx_kwargs={"timeout": 60})
    refused = client.predict(EU_ACT, [], api_name="/chat")
    assert refused["refused"]
    for history in ([refused], [[EU_ACT, refused["answer"]]]):
        leans = client.predict("How does it handle risk assessment?", history, api_name="/chat")
        assert leans["refused"] and leans["citations"] == [] and leans["sources"] == []
        fresh = client.predict("how are risk assessments used?", history, api_name="/chat")
        assert not fresh["refused"] and fresh["citations"][0]["id"] == RISK


@HISTORY_SHAPES
def test_a_question_after_and_that_asks_what_the_report_says_stands_alone(assistant, shape):
    # The document is asked directly; "and what does it say about deception?" would still lean on the refusal.
    refused, answer = converse(assistant, [EU_ACT, "and what does the report say about deception?"], shape)
    assert refused.refused and not answer.refused and answer.resolved_question.startswith("what does the report")
    assert LEANS in refused_follow_up(assistant, EU_ACT, "and what does it say about deception?", shape).text



BOEING = "Tell me about the Boeing 737 MAX crashes"
CHERNOBYL = "Tell me about the Chernobyl disaster"
# One word beside "who" (before, "investigated" alone found root cause analysis), or a short question in the past
# tense (before, "whistleblowers" alone found the page's section): the event is the refused one.
ABOUT_THE_EVENT = {"Who investigated?": BOEING, "Who was responsible?": BOEING,
                   "Were there whistleblowers?": CHERNOBYL, "What was the root cause?": CHERNOBYL,
                   # short in the words that say something: "long" and "last" are everyday English
                   "How long did the disruption last?": "What happened during the 2021 Texas power grid failure?"}


@HISTORY_SHAPES
@pytest.mark.parametrize("follow_up", list(ABOUT_THE_EVENT))
def test_a_short_question_about_the_refused_event_is_refused_again(third_page, shape, follow_up):
    refused, answer = converse(third_page, [ABOUT_THE_EVENT[follow_up], follow_up], shape)
    assert refused.refused and answer.refused and not answer.citations


@HISTORY_SHAPES
@pytest.mark.parametrize("opener, follow_up, section", [
    (BOEING, "Who maintains incident databases?", "Incident databases"),
    (CHERNOBYL, "What did the review say about whistleblowers?", "Whistleblower protections"),
])
def test_a_question_that_names_a_topic_of_the_page_after_a_refused_event_is_answered(third_page, shape, opener,
                                                                                     follow_up, section):
    _, answer = converse(third_page, [opener, follow_up], shape)
    assert not answer.refused and answer.citations[0].title == section


EXPLAINABILITY = "explainability"


@HISTORY_SHAPES
def test_after_the_question_back_for_a_place_the_conversation_is_still_on_its_section(assistant, shape):
    # "Go with the first one." after an answer about one section is asked back (nothing listed to count in); nothing
    # was refused, so "Why is more work needed there?" continues that section. After a refusal it does not.
    shown, back, answer = converse(assistant, ["Tell me about explainability", "Go with the first one.",
                                               "Why is more work needed there?"], shape)
    assert first_id(shown) == EXPLAINABILITY and back.refused and "Which section do you mean?" in back.text
    assert not answer.refused and first_id(answer) == EXPLAINABILITY, answer.resolved_question
    refused = converse(assistant, ["What is the easiest way to juggle?", "Why is more work needed there?"], shape)[1]
    assert refused.refused


@HISTORY_SHAPES
@pytest.mark.parametrize("follow_up", ["Back to the page: when was the report it draws on published?",
                                       "Now about the page again, when was the report it draws on published?",
                                       "Fine. When was the report this page draws on published?"])
def test_a_return_to_the_page_after_a_refusal_is_a_question_of_its_own(assistant, shape, follow_up):
    # "Back to the page:" leaves the refused question for the document: "it" is the page, not the EU AI Act.
    refused, answer = converse(assistant, [EU_ACT, follow_up], shape)
    assert refused.refused and not answer.refused and "2025" in answer.text


@HISTORY_SHAPES
def test_a_return_to_a_named_topic_after_a_refusal_is_about_that_topic(assistant, shape):
    # "Back to chain-of-thought faithfulness:" names what "it" stands for; without it, "it" leans on the refusal.
    follow_up = "Back to chain-of-thought faithfulness: why does it matter?"
    refused, answer = converse(assistant, [EU_ACT, follow_up], shape)
    assert refused.refused and not answer.refused and first_id(answer) == CHAIN
    assert LEANS in refused_follow_up(assistant, EU_ACT, "Why does it matter?", shape).text


def test_fine_opens_a_turn_but_fine_tuning_is_a_word():
    from consensus_chat.app.followup_context import INTERJECTION

    assert INTERJECTION.sub("", "Fine. Who wrote the report?") == "Who wrote the report?"
    assert INTERJECTION.sub("", "Fine-tuning methods?") == "Fine-tuning methods?"
