"""What a follow-up points back at: a pronoun or a bare definite reference ("and the risks?") after a refusal is
refused even when its words are covered elsewhere, unless it asks what the document says or names a section; words of the section just shown continue it, unless another section's title
names them; the document's own noun for itself ("the review") asks for its source record; "Who else?" carries no
topic. Through the Python API in every history shape (on the shipped page and a page of tests/data), a real
server's /chat with the turn and with text alone, and MCP `chat`."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from conftest import FAITHFULNESS, HISTORY_SHAPES, SOURCE, converse, first_id, refused_follow_up

REVIEW_SOURCE = "learning-from-failure-incident-reporting-for-deployed-systems"
MEASURED = ("What is the boiling point of water?", "how is it measured?")
UNEVEN = "Why is coverage uneven?"  # words of the incident-database section of tests/data/third-page.txt


def _ids(answer) -> list[str]:
    return [c.id for c in answer.citations]


@HISTORY_SHAPES
@pytest.mark.parametrize("first, follow_up", [MEASURED, ("Who invented the telephone?", "What did he study?"),
                                              ("What is the tallest mountain?", "what are its limits?")])
def test_a_pronoun_after_a_refusal_is_refused_though_its_words_are_covered(assistant, shape, first, follow_up):
    answer = refused_follow_up(assistant, first, follow_up, shape)
    assert "follows up on a question the document does not cover" in answer.text


def test_the_same_pronoun_question_alone_is_answered(assistant):
    # What the refusal above changes is the memory: asked first, the question is answered from its section.
    for question in (MEASURED[1], "what are the risks?"):
        alone = assistant.answer(question)
        assert not alone.refused and alone.citations, question


@HISTORY_SHAPES
@pytest.mark.parametrize("follow_up", ["what are the risks?", "and the risks?"])
def test_a_definite_reference_after_a_refusal_is_refused(assistant, shape, follow_up):
    # "the risks" names no topic of the document's instead, so it is the refused question's risks.
    refused_follow_up(assistant, "How do I train a puppy?", follow_up, shape)


@HISTORY_SHAPES
@pytest.mark.parametrize("first, follow_up, resolved", [
    ("How do I train a puppy?", "What about explainability?", "explainability?"),  # names a section
    ("Who wrote Moby Dick?", "Does it say anything about explainability?",  # a pronoun, asking what the document says
     "Does it say anything about explainability?"),
])
def test_after_a_refusal_a_section_named_or_asked_about_is_asked_for_itself(assistant, shape, first, follow_up,
                                                                            resolved):
    _, answer = converse(assistant, [first, follow_up], shape)
    assert not answer.refused and first_id(answer) == "explainability"
    assert answer.resolved_question == resolved


@HISTORY_SHAPES
def test_words_of_the_section_just_shown_continue_it(third_page, shape):
    first, answer = converse(third_page, ["What does the review say about incident databases?", UNEVEN], shape)
    assert first_id(first) == "incident-databases"
    assert not answer.refused and first_id(answer) == "incident-databases"
    assert answer.resolved_question == f"{UNEVEN} — Incident databases"


def test_those_words_alone_are_searched_without_the_section_shown(third_page):
    # Alone, the page-relative default rule (docs/scope.md) answers them on their own words (the incident-database
    # section says "coverage is uneven"); only the conversation above joins the section's title to them.
    alone = third_page.answer(UNEVEN)
    assert alone.resolved_question == UNEVEN


@HISTORY_SHAPES
def test_a_pronoun_with_words_of_the_section_shown_stays_on_it(assistant, shape):
    secure = "risk-assessment--secure-evaluation-infrastructure"
    # Alone it is refused ("how does it protect intellectual property?", the earlier example, now finds the section
    # alone: the telling words' BM25 reads "intellectual property").
    assert first_id(assistant.answer("why does it matter for double-blind testing?")) != secure
    _, answer = converse(assistant, ["Tell me about secure evaluation infrastructure",
                                     "why does it matter for double-blind testing?"], shape)
    assert not answer.refused and first_id(answer) == secure


@HISTORY_SHAPES
def test_words_that_another_section_has_in_its_title_start_a_new_topic(assistant, shape):
    # The section shown mentions chains-of-thought, but another section is titled with those words.
    _, answer = converse(assistant, ["What does the page say about mechanistic interpretability?",
                                     "tell me more about the chain-of-thought one it mentions"], shape)
    assert first_id(answer) == FAITHFULNESS


@HISTORY_SHAPES
def test_the_documents_own_noun_for_itself_asks_for_its_source_record(third_page, shape):
    published, authors = converse(third_page, ["When was the review published?", "And the authors?"], shape)
    for answer in (published, authors):
        assert not answer.refused and _ids(answer) == [REVIEW_SOURCE]
    assert "2023" in published.body and "Rivera" in authors.body
    assert _ids(third_page.answer("Who wrote the review?")) == [REVIEW_SOURCE]


def test_the_documents_noun_is_read_from_its_source_record(third_page):
    from consensus_chat.ingest.vocabulary import document_name_words

    sections = third_page.retriever.sections()
    assert "review" in document_name_words(sections)
    # Without the record's sentence that calls the document a review, the word is an ordinary topic word.
    edited = [s if s.kind != "source" else replace(s, text=s.text.replace("This review", "It")) for s in sections]
    assert "review" not in document_name_words(edited)


@HISTORY_SHAPES
def test_who_else_continues_the_question_about_the_authors(assistant, shape):
    _, answer = converse(assistant, ["Who wrote the report?", "Who else?"], shape)
    assert not answer.refused and _ids(answer) == [SOURCE]


# ---------------------------------------------------------------------------------------------------------------
# A real server's /chat (the turn, and text alone) and MCP `chat`


@pytest.mark.slow
def test_api_chat_refuses_a_pronoun_after_a_refusal_with_the_turn_or_the_text(served):
    from gradio_client import Client

    client = Client(served, verbose=False, httpx_kwargs={"timeout": 60})
    refused = client.predict(MEASURED[0], [], api_name="/chat")
    assert refused["refused"]
    for history in ([refused], [[MEASURED[0], refused["answer"]]]):
        answer = client.predict(MEASURED[1], history, api_name="/chat")
        assert answer["refused"] and answer["citations"] == [] and answer["sources"] == []
    secure = client.predict("Tell me about secure evaluation infrastructure", [], api_name="/chat")
    for history in ([secure], [["Tell me about secure evaluation infrastructure", secure["answer"]]]):
        answer = client.predict("how does it protect intellectual property?", history, api_name="/chat")
        assert answer["citations"][0]["id"] == "risk-assessment--secure-evaluation-infrastructure"


async def _mcp(url: str):
    from conftest import mcp_session

    async with mcp_session(url) as (session, _):
        refused = await session.call_tool("chat", {"question": MEASURED[0]})
        return await session.call_tool("chat", {"question": MEASURED[1], "history": [refused.structuredContent]})


@pytest.mark.slow
def test_mcp_chat_refuses_a_pronoun_after_a_refusal(served):
    after = asyncio.run(asyncio.wait_for(_mcp(served), timeout=120))
    assert not after.isError and after.structuredContent["refused"] and after.structuredContent["citations"] == []


# ---------------------------------------------------------------------------------------------------------------
# Places said in more ways (app/ordinals.py)

CODED = "Which sections are coded 2.2.1?"
DOWNSTREAM = "risk-assessment--downstream-impact-assessment-and-forecasting"


@HISTORY_SHAPES
@pytest.mark.parametrize("follow_up", ["the middle one", "What does number 2 say?", "does #2 cite anyone?"])
def test_the_middle_one_and_a_number_inside_a_question_pick_from_the_list(assistant, shape, follow_up):
    _, answer = converse(assistant, [CODED, follow_up], shape)
    assert not answer.refused and first_id(answer) == DOWNSTREAM


@HISTORY_SHAPES
def test_the_middle_of_an_even_list_is_asked_back(assistant, shape):
    _, answer = converse(assistant, ["Which sections cite Casper-B?", "the middle one"], shape)
    assert answer.refused and answer.citations == [] and "Which do you mean?" in answer.text


def test_a_number_with_a_topic_of_its_own_is_not_a_place(assistant):
    _, answer = converse(assistant, [CODED, "What is the number one risk of forecasting?"])
    assert "number one" in answer.resolved_question  # not replaced by the first listed title
