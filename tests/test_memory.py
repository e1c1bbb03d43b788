"""Conversations with memory: each answer's Turn carried to the next question through the Python API, the web chat's
callback, a real server's /chat and MCP `chat`, and rebuilt from text when a caller sends only text."""

from __future__ import annotations

import json
import re

import pytest

from conftest import SOURCE, CountingRetriever, api_picks, converse, first_id, mcp_chats

from consensus_chat.app import chat, render
from consensus_chat.app.types import Turn

CODED = "Which sections are coded 2.2.1?"
LISTED = ["risk-assessment", "risk-assessment--downstream-impact-assessment-and-forecasting",
          "risk-assessment--system-safety-assessment"]  # the order the answer lists them (document order)


def _stateless(first, question):
    return [(question, first.text)]


def _messages(first, question):
    return [{"role": "user", "content": question}, {"role": "assistant", "content": first.text}]


def _with_state(first, question):
    return [first]


SHAPES = pytest.mark.parametrize("shape", [_with_state, _stateless, _messages], ids=["state", "pairs", "messages"])


# ---------------------------------------------------------------------------------------------------------------
# The Turn on the Answer


def test_an_answer_carries_its_turn_and_sends_it_as_json(assistant):
    answer = assistant.answer(CODED)
    assert answer.turn == Turn(CODED, CODED, refused=False, cited=tuple(LISTED), listed=tuple(LISTED))
    data = answer.to_dict()
    assert data["turn"] == {"question": CODED, "resolved_question": CODED, "refused": False, "cited": LISTED,
                            "listed": LISTED, "listed_keys": []}
    assert Turn.from_dict(json.loads(json.dumps(data["turn"]))) == answer.turn
    cites = assistant.answer("What does the metrology section cite?")
    assert cites.turn.listed == () and cites.turn.listed_keys == ("IAISR", "Hobbhahn")
    refused = assistant.answer("Who wrote Pride and Prejudice?")
    assert refused.turn.refused and refused.turn.cited == ()


@pytest.mark.parametrize("bad, fragment", [({"question": "q", "turn": {"question": "q", "refused": "yes"}}, "refused"),
                                           ({"question": "q", "turn": {"question": "q", "listed": [3]}}, "listed"),
                                           ({"question": "q", "turn": "nothing"}, "turn must be an object")])
def test_a_malformed_turn_is_a_clear_value_error(assistant, bad, fragment):
    with pytest.raises(ValueError, match=fragment):
        assistant.answer("What does it cite?", [bad])


# ---------------------------------------------------------------------------------------------------------------
# The rules, through the Assistant


@pytest.mark.parametrize("follow_up, place", [("Tell me more about the second one", 1), ("What does the last one say?", 2),
                                              ("Tell me about the first section.", 0)])
def test_an_ordinal_picks_from_the_sections_the_previous_answer_listed(assistant, follow_up, place):
    first, answer = converse(assistant, [CODED, follow_up])
    assert not answer.refused and first_id(answer) == LISTED[place]
    assert {c.id for c in answer.citations} == {LISTED[place]}, "answered from the picked section, not a list"
    again = assistant.answer("and the second one?", [first, answer])
    assert first_id(again) == LISTED[1], "the list stays to pick from"


def test_an_ordinal_picks_a_listed_source_key(assistant):
    _, answer = converse(assistant, ["What does the metrology section cite?",
                                     "Which other sections cite the first one?"])
    assert answer.resolved_question == "Which other sections cite IAISR?"
    assert {c.title for c in answer.citations} == {"Audit techniques and benchmarks", "System safety assessment",
                                                   "Metrology for AI risk assessment"}


def test_that_one_is_the_one_section_the_previous_answer_cited(assistant):
    _, answer = converse(assistant, ["What does the document say about explainability?", "Who does that one cite?"])
    assert answer.resolved_question == "Who does Explainability cite?" and "Bordt" in answer.body


@pytest.mark.parametrize("question", ["What is the first step of a risk assessment?",
                                      "Tell me more about the second one"])
def test_an_ordinal_without_a_listed_answer_picks_nothing(assistant, question):
    _, answer = converse(assistant, ["What does the document say about explainability?", question])
    assert answer.resolved_question == question  # nothing was listed, so nothing is picked
    if "step" in question:  # "the first step" is not "the first one", even right after a list
        assert not answer.refused
        assert assistant.answer(question, [assistant.answer(CODED)]).resolved_question == question
    else:  # nothing but a place, with nothing to count in: asked back, never guessed
        assert answer.refused and answer.citations == [] and "Which section do you mean?" in answer.body


def test_and_an_ordinal_asks_the_last_question_again_for_the_picked_section(assistant):
    *_, cites, last = converse(assistant, [CODED, "Tell me more about the second one", "Who does it cite?",
                                           "and the last one?"])
    assert cites.resolved_question == "Who does it cite? — Downstream impact assessment and forecasting"
    assert last.resolved_question == "Who does it cite? — System safety assessment"
    assert "cites IAISR, Hendrycks-B, AISES, Alaga" in last.body


@pytest.mark.parametrize("follow_up, expected", [("Who is cited?", "IAISR, Hobbhahn"), ("What code?", "3.2.1"),
                                                 ("Which label?", "Benchmarks & Evaluation")])
def test_a_question_with_no_topic_that_does_not_name_the_document_stays_on_the_last_section(assistant, follow_up,
                                                                                           expected):
    _, answer = converse(assistant, ["Tell me about metrology", follow_up])
    assert {c.title for c in answer.citations} == {"Metrology for AI risk assessment"} and expected in answer.text


@pytest.mark.parametrize("question, first_cited", [("What does the report say?", "overview"),
                                                   ("Who wrote the report?", SOURCE), ("Is Bengio an author?", SOURCE),
                                                   ("Who are the authors?", SOURCE), ("Who wrote it?", SOURCE),
                                                   ("When was it published?", SOURCE)])
def test_a_question_about_the_document_itself_starts_fresh(assistant, question, first_cited):
    answer = assistant.answer(question, [assistant.answer("Tell me about metrology")])
    assert answer.resolved_question == question and first_id(answer) == first_cited, "a section has no authors"


def test_a_plural_after_a_short_list_answers_from_each_listed_section(assistant):
    first, answer = converse(assistant, ["Which sections cite Casper-B?", "What do they say?"])
    assert [c.title for c in answer.citations] == ["Explainability", "Secure evaluation infrastructure"]
    assert answer.turn.listed == first.turn.listed
    overview = assistant.answer("What does the report say?")
    assert len(overview.turn.listed) > 5
    assert len({c.id for c in assistant.answer("What do they say?", [overview]).citations}) <= 2, \
        "a long list is not quoted whole"


def test_and_x_puts_x_in_the_last_question_once(assistant):
    _, answer = converse(assistant, ["What is the code for explainability?", "And for metrology?"])
    assert answer.resolved_question == "What is the code for metrology?" and "3.2.1" in answer.body


def test_a_place_past_the_end_of_the_list_asks_which_is_meant(assistant):
    answer = assistant.answer("What is the fifth one?", [assistant.answer(CODED)])
    assert answer.refused and answer.citations == [] and answer.sources == []
    assert "listed 3 sections" in answer.body and "Which do you mean?" in answer.body


@SHAPES
def test_a_bare_wh_word_continues_the_previous_question(assistant, shape):
    first = assistant.answer("Who wrote the report?")
    answer = assistant.answer("When?", shape(first, "Who wrote the report?"))
    assert not answer.refused and first_id(answer) == SOURCE
    assert "**2025**" in answer.body and "[1]" in answer.body
    why = assistant.answer("Why?", shape(assistant.answer("What does the document say about explainability?"),
                                         "What does the document say about explainability?"))
    assert first_id(why) == "explainability"


@SHAPES
@pytest.mark.parametrize("follow_up", ["When was it published?", "Who?", "what about it?"])
def test_a_follow_up_to_a_refusal_is_refused_again(assistant, shape, follow_up):
    first = assistant.answer("Who wrote Pride and Prejudice?")
    assert first.refused
    answer = assistant.answer(follow_up, shape(first, "Who wrote Pride and Prejudice?"))
    assert answer.refused and answer.citations == [] and answer.sources == [], "no nearest section is offered"
    assert "1.1.2" not in answer.text and "does not cover" in answer.body
    assert answer.turn.refused


def test_a_new_topic_after_a_refusal_or_a_list_starts_fresh(assistant):
    _, fresh = converse(assistant, ["Who wrote Pride and Prejudice?", "What does the document say about metrology?"])
    assert not fresh.refused and fresh.resolved_question == "What does the document say about metrology?"
    assert fresh.citations[0].title == "Metrology for AI risk assessment"
    other = assistant.answer("How can we tell whether a model's stated reasoning is faithful?", [assistant.answer(CODED)])
    assert first_id(other) == "llm-chain-of-thought-faithfulness-and-legibility"


def test_a_follow_up_reads_the_stored_turn_instead_of_re_resolving_earlier_ones(assistant):
    from consensus_chat.app.assistant import Assistant

    questions = ["What does the document say about explainability?", "why are those tools a problem right now?",
                 "which code is that?", "what about attributing behaviour to training data instead?"]
    answers = converse(assistant, questions)
    counting = CountingRetriever(assistant.retriever)
    counted = Assistant(counting, assistant.config)
    with_state = counted.answer("What does it cite?", answers)
    searches_with_state, counting.searches = counting.searches, 0
    pairs = [(q, a.text) for q, a in zip(questions, answers)]
    stateless = counted.answer("What does it cite?", pairs)
    assert with_state.resolved_question == "What does it cite? — Attributing model behaviours to training data"
    assert stateless.resolved_question == with_state.resolved_question
    assert searches_with_state == 1, "only the answer's own search"
    assert counting.searches > searches_with_state, "text alone makes the earlier turns be resolved again"


@pytest.mark.parametrize("stateful", [True, False], ids=["state", "text"])
def test_the_development_conversations_stay_right(assistant, stateful):
    from consensus_chat.evals.conversations import load_conversations

    right = total = 0
    for conversation in load_conversations()[:8]:  # the first 26 turns, written with the mechanism
        history = []
        for turn in conversation["turns"]:
            answer = assistant.answer(turn["question"], history)
            history.append(answer if stateful else (turn["question"], answer.text))
            right += bool(answer.citations) and answer.citations[0].title in turn["relevant_titles"]
            total += 1
    assert total == 26 and right >= 25


# ---------------------------------------------------------------------------------------------------------------
# The web chat's callback keeps the turns in the session's State


def _last_answer(messages) -> str:
    return render.unescape_text(messages[-1]["content"])


def test_the_web_chat_remembers_what_each_answer_listed(assistant):
    memory: dict = {}
    first = list(chat.respond(CODED, [], {}, memory, assistant=assistant))[-1]
    assert len(memory) == 1
    second = list(chat.respond("Tell me more about the second one", first, {}, memory, assistant=assistant))[-1]
    boxes = re.findall(r"<summary>(.*?)</summary>", second[-1]["content"])
    assert len(boxes) == 1 and "Downstream impact assessment and forecasting" in boxes[0]
    assert "Assessing and forecasting the many societal impacts" in _last_answer(second)
    # Without the session's memory only the rendered text is left, and it does not say which sections were listed.
    forgetful = list(chat.respond("Tell me more about the second one", first, {}, None, assistant=assistant))[-1]
    assert _last_answer(forgetful).startswith(render.REFUSAL_LINE)


def test_the_web_chat_refuses_a_follow_up_to_a_refusal(assistant):
    memory: dict = {}
    first = list(chat.respond("Who wrote Pride and Prejudice?", [], {}, memory, assistant=assistant))[-1]
    for remembered in (memory, None):  # without the State, the rendered refusal is still recognised
        second = list(chat.respond("When was it published?", first, {}, remembered, assistant=assistant))[-1]
        text = _last_answer(second)
        assert text.startswith(render.REFUSAL_LINE) and "1.1.2" not in text and "Nearest" not in text


# ---------------------------------------------------------------------------------------------------------------
# A real server: /chat through gradio_client, and MCP `chat`


@pytest.mark.slow
def test_api_chat_carries_the_turn_between_calls(chat_client):
    first = api_picks(chat_client, CODED, LISTED, "Tell me more about the second one", 1)
    # A message may carry the turn too; text alone still works for what it can say.
    messages = [{"role": "user", "content": CODED}, {"role": "assistant", "content": first["answer"],
                                                     "turn": first["turn"]}]
    last = chat_client.predict("What does the last one say?", messages, api_name="/chat")
    assert last["citations"][0]["id"] == LISTED[2]
    refused = chat_client.predict("Who wrote Pride and Prejudice?", [], api_name="/chat")
    again = chat_client.predict("When was it published?", [["Who wrote Pride and Prejudice?", refused["answer"]]],
                                api_name="/chat")
    assert again["refused"] and again["citations"] == [] and again["sources"] == []
    report = chat_client.predict("Who wrote the report?", [], api_name="/chat")
    when = chat_client.predict("When?", [report], api_name="/chat")
    assert "2025" in when["body"] and when["citations"][0]["id"] == SOURCE
    with pytest.raises(Exception, match="listed"):
        chat_client.predict("What does it cite?", [{"question": "q", "turn": {"question": "q", "listed": [1]}}],
                            api_name="/chat")


@pytest.mark.slow
def test_mcp_chat_carries_the_turn_between_calls(served):
    tools, [[first, second]] = mcp_chats(served, [CODED, "Tell me more about the second one"])
    schema = tools["chat"].outputSchema
    turn = schema["$defs"][schema["properties"]["turn"]["$ref"].rsplit("/", 1)[1]]
    assert set(turn["properties"]) == {"question", "resolved_question", "refused", "cited", "listed", "listed_keys"}
    assert "turn" in tools["chat"].inputSchema["properties"]["history"]["description"]
    assert first.structuredContent["turn"]["listed"] == LISTED
    assert not second.isError and second.structuredContent["citations"][0]["id"] == LISTED[1]


def test_the_session_memory_is_bounded_and_ignores_re_spacing():
    from consensus_chat.app.memory import MEMORY_SIZE, recall, remember

    memory: dict = {}
    for i in range(MEMORY_SIZE + 10):
        remember(memory, f"Answer {i} [1]", Turn(f"q{i}", f"q{i}", False))
    assert len(memory) == MEMORY_SIZE
    assert recall(memory, "Answer 0 [1]") is None, "the oldest turns are dropped"
    assert recall(memory, f"  Answer {MEMORY_SIZE + 9}\n[1] ") == Turn(f"q{MEMORY_SIZE + 9}", f"q{MEMORY_SIZE + 9}", False)
    assert recall(None, "Answer 1 [1]") is None


def test_the_web_chat_keeps_each_answers_plain_text_beside_its_html(assistant, monkeypatch):
    from consensus_chat.app import chat, render

    memory: dict = {}
    shown = list(chat.respond(CODED, [], {}, memory, assistant=assistant))[-1]
    assert '<details class="source">' in shown[-1]["content"]
    plain = assistant.answer(CODED).text
    # The remembered answer is its plain text and Turn: the rendered HTML is never read back.
    monkeypatch.setattr(render, "_BOXES", None)  # reading the HTML back would now fail
    messages = chat.with_turns(shown, memory)
    assert messages[-1]["content"] == plain and messages[-1]["turn"].listed == tuple(LISTED)
    monkeypatch.undo()
    # Without the session's memory (a stateless caller) the rendered message is still read as before.
    again = chat.with_turns(shown, None)
    assert "turn" not in again[-1] and '<details' not in again[-1]["content"] and "3 sections match" in again[-1]["content"]
