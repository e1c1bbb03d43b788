"""Thumbs up/down from every surface (page, Python, HTTP API, MCP): only on answers the server gave, stored with the
server's own copy of the answer and its sources, bounded in size and rate, exported as eval lines to label."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess

import pytest

from consensus_chat.app import chat
from consensus_chat.app.feedback import (FILENAME, MAX_COMMENT, MAX_QUESTION, FeedbackError, FeedbackStore, IssuedAnswers, Ratings,
                          TooManyVotes, UnknownAnswer, VoteLimiter)
from conftest import CLI, export_feedback
from consensus_chat.evals.runner import load_questions

CODE_QUESTION = "What is the code of the metrology section?"
OFF_TOPIC = "Who won the 2022 World Cup?"


@pytest.fixture
def ratings(assistant, tmp_path, monkeypatch):
    """The assistant's votes go to a fresh file in tmp_path for this test (the answers it remembers stay)."""
    fresh = Ratings(tmp_path, issued=assistant.ratings.issued)
    monkeypatch.setattr(assistant, "ratings", fresh)
    return fresh


def conversation(assistant, answers, *questions) -> list[dict]:
    """The chat after asking `questions` in turn, as the page holds it."""
    history: list[dict] = []
    for question in questions:
        history = list(chat.respond(question, history, {}, assistant=assistant, answers=answers))[-1]
    return history


def vote(history, index, liked, ratings, answers, client="10.0.0.1"):
    return chat.record_vote(history, index, liked, ratings=ratings, answers=answers, client=client)


# ---------------------------------------------------------------------------------------------------------------
# The page's thumbs


def test_page_votes_store_the_servers_answer_and_are_exported_for_labelling(assistant, ratings, tmp_path):
    answers = chat.AnswerLog()
    history = conversation(assistant, answers, CODE_QUESTION, OFF_TOPIC)
    assert "saved" in vote(history, 1, True, ratings, answers)
    assert "saved" in vote(history, 3, False, ratings, answers)
    assert "saved" in vote(history, 1, False, ratings, answers), "a changed mind replaces the first vote"
    assert (tmp_path / FILENAME).exists()
    assert [v.liked for v in ratings.store.votes()] == [False, False], "one vote per answer"
    disliked = ratings.store.votes(liked=False)
    assert sorted(v.question for v in disliked) == sorted([CODE_QUESTION, OFF_TOPIC])
    first = next(v for v in disliked if v.question == CODE_QUESTION)
    expected = assistant.answer(CODE_QUESTION).to_dict()
    assert first.answer == expected["answer"] and list(first.citations) == expected["citations"]
    assert [s["id"] for s in first.sources] == [s["id"] for s in expected["sources"]], "the sources it showed"
    assert first.backend == "extractive" and not first.refused
    assert next(v for v in disliked if v.question == OFF_TOPIC).refused
    lines = [v.eval_line() for v in disliked]
    mine = next(line for line in lines if line["question"] == CODE_QUESTION)
    assert mine["kind"] == "in_scope" and mine["relevant_codes"] == ["3.2.1"]
    assert mine["relevant_titles"] == ["Metrology for AI risk assessment"]
    assert mine["sources"][0] == "3.2.1 Metrology for AI risk assessment"
    refused = next(line for line in lines if line["question"] == OFF_TOPIC)
    assert refused["kind"] == "out_of_scope" and refused["relevant_titles"] == []
    path = tmp_path / "to-label.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert sorted(q.question for q in load_questions(path)) == sorted([CODE_QUESTION, OFF_TOPIC])


@pytest.mark.parametrize("index, liked, message", [
    (7, False, "no longer in the conversation"),  # past the end: e.g. after "New conversation"
    (0, False, "no longer in the conversation"),  # the user's own question
    (-1, True, "no longer in the conversation"),
    ("1", True, "no longer in the conversation"),
    (1, "Flag", "thumbs up or a thumbs down"),
])
def test_a_vote_on_a_message_that_is_not_an_answer_is_refused_and_stores_nothing(assistant, ratings, index,
                                                                                  liked, message):
    answers = chat.AnswerLog()
    history = conversation(assistant, answers, CODE_QUESTION)
    with pytest.raises(ValueError, match=message):
        vote(history, index, liked, ratings, answers)
    assert ratings.store.votes() == [] and ratings.store.waiting == 0


def test_a_message_the_server_did_not_give_is_refused(assistant, ratings):
    history = conversation(assistant, chat.AnswerLog(), CODE_QUESTION)
    with pytest.raises(ValueError, match="no longer remembers this answer"):
        vote(history, 1, False, ratings, chat.AnswerLog())  # a restarted server: an empty log
    forged = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "x" * 100_000}]
    with pytest.raises(ValueError, match="no longer remembers this answer"):
        vote(forged, 1, False, ratings, chat.AnswerLog())
    assert ratings.store.votes() == [] and not (ratings.store.path).exists()


def test_an_unwritable_home_keeps_the_vote_until_it_can_be_saved(assistant, ratings, tmp_path):
    answers = chat.AnswerLog()
    history = conversation(assistant, answers, CODE_QUESTION, OFF_TOPIC)
    (tmp_path / FILENAME).mkdir()  # something that is not a database where the file belongs
    with pytest.raises(FeedbackError, match="Cannot save feedback to .*1 vote\\(s\\) are kept in memory"):
        vote(history, 1, False, ratings, answers)
    with pytest.raises(FeedbackError, match="2 vote\\(s\\) are kept"):
        vote(history, 3, True, ratings, answers)
    (tmp_path / FILENAME).rmdir()
    vote(history, 3, False, ratings, answers)
    assert [(v.question, v.liked) for v in ratings.store.votes()] == [(CODE_QUESTION, False), (OFF_TOPIC, False)], \
        "nothing was lost; the later vote on the same answer wins"
    assert ratings.store.waiting == 0


# ---------------------------------------------------------------------------------------------------------------
# The Python API, the limits


def test_python_api_rates_an_answer_by_object_or_id(assistant, ratings):
    answer = assistant.answer(CODE_QUESTION)
    assert answer.to_dict()["id"] == answer.id and answer.id.startswith("a-")
    assert assistant.feedback(answer, False, "  the   code is right\nbut terse ") == \
        {"id": answer.id, "liked": False, "stored": True}
    other = assistant.answer(OFF_TOPIC)
    assistant.feedback(other.id, True)
    stored = {v.answer_id: v for v in ratings.store.votes()}
    assert stored[answer.id].comment == "the code is right but terse" and stored[answer.id].question == CODE_QUESTION
    assert stored[other.id].liked and stored[other.id].refused
    for forged in ("a-never-issued", "", None, 42):
        with pytest.raises(UnknownAnswer, match="No answer with that id"):
            assistant.feedback(forged, False)
    with pytest.raises(ValueError, match="liked must be"):
        assistant.feedback(answer, "no")
    assert len(ratings.store.votes()) == 2


def test_each_vote_is_cut_to_size_and_the_file_stops_growing(assistant, tmp_path):
    issued = IssuedAnswers()
    ratings = Ratings(tmp_path, issued=issued, store=FeedbackStore(tmp_path, max_bytes=60_000))
    long = assistant.answer("metrology " * 5000)
    issued.remember(long)
    ratings.rate(long.id, False, "x" * 50_000)
    stored = ratings.store.votes()[0]
    assert len(stored.question) <= MAX_QUESTION + 2 and len(stored.comment) <= MAX_COMMENT + 2
    assert len(json.dumps(stored.row())) < 60_000
    refused = 0
    for _ in range(12):
        answer = assistant.answer(CODE_QUESTION)
        issued.remember(answer)
        try:
            ratings.rate(answer.id, False, "y" * 900)
        except FeedbackError as exc:
            assert "is full" in str(exc) and "feedback export" in str(exc)
            refused += 1
    assert refused, "the store refuses votes once it is full"
    assert (tmp_path / FILENAME).stat().st_size <= 60_000 + 8192  # one SQLite page of slack


def test_votes_are_limited_per_client(assistant, tmp_path):
    issued = IssuedAnswers()
    ratings = Ratings(tmp_path, issued=issued, limiter=VoteLimiter(limit=3, window=60))
    answer = assistant.answer(CODE_QUESTION)
    issued.remember(answer)
    for _ in range(3):
        ratings.rate(answer.id, False, client="10.0.0.9")
    with pytest.raises(TooManyVotes, match="at most 3 in 60 seconds") as info:
        ratings.rate(answer.id, True, client="10.0.0.9")
    assert info.value.retry_after >= 1
    ratings.rate(answer.id, True, client="10.0.0.10")  # another client is not held up
    ratings.rate(answer.id, True)  # in-process calls are not limited
    assert [v.liked for v in ratings.store.votes()] == [True]


def test_a_file_from_the_first_release_is_upgraded(assistant, tmp_path):
    with sqlite3.connect(tmp_path / FILENAME) as old:
        old.execute("CREATE TABLE votes (id INTEGER PRIMARY KEY AUTOINCREMENT, created REAL NOT NULL, liked INTEGER "
                    "NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL, refused INTEGER NOT NULL, backend TEXT "
                    "NOT NULL, citations TEXT NOT NULL)")
        old.execute("INSERT INTO votes (created, liked, question, answer, refused, backend, citations) "
                    "VALUES (1, 0, 'old question', 'old answer', 0, 'extractive', '[]')")
    store = FeedbackStore(tmp_path)
    assert store.votes()[0].question == "old question" and store.votes()[0].sources == ()
    issued = IssuedAnswers()
    answer = assistant.answer(CODE_QUESTION)
    issued.remember(answer)
    Ratings(tmp_path, issued=issued, store=store).rate(answer.id, False)
    assert [v.question for v in store.votes()] == ["old question", CODE_QUESTION]


def test_feedback_export_cli(assistant, ratings, tmp_path):
    answers = chat.AnswerLog()
    history = conversation(assistant, answers, CODE_QUESTION, OFF_TOPIC)
    vote(history, 1, False, ratings, answers)
    vote(history, 3, True, ratings, answers)
    lines, said = export_feedback(tmp_path)
    assert [line["question"] for line in lines] == [CODE_QUESTION], "only the disliked answer"
    assert "1 disliked answer(s)" in said and "label" in said
    bad = subprocess.run([CLI, "feedback", "export", "--index-dir", str(tmp_path), "--out",
                          str(tmp_path / "no-such-dir" / "x.jsonl")], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.startswith("Error: Cannot write") and "Traceback" not in bad.stderr
    empty = subprocess.run([CLI, "feedback", "export", "--index-dir", str(tmp_path / "none")], capture_output=True,
                           text=True, timeout=120)
    assert empty.returncode == 0 and empty.stdout == "" and "0 disliked" in empty.stderr


# ---------------------------------------------------------------------------------------------------------------
# Over HTTP (gradio_client) and MCP, against a real server


@pytest.fixture(scope="module")
def server(request, index_dir, tmp_path_factory):
    from test_ui import shared_server

    return shared_server(request, index_dir, tmp_path_factory)


async def _mcp_rate(url: str, question: str):
    from conftest import mcp_session

    async with mcp_session(url) as (session, tools):
        answered = await session.call_tool("chat", {"question": question})
        answer_id = answered.structuredContent["id"]
        rated = await session.call_tool("feedback", {"answer_id": answer_id, "liked": False, "comment": "via MCP"})
        forged = await session.call_tool("feedback", {"answer_id": "a-forged", "liked": False})
        return tools, answer_id, rated, forged


@pytest.mark.slow
def test_http_api_and_mcp_rate_answers_into_the_same_store(server, index_dir):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    client = Client(server[0], verbose=False, httpx_kwargs={"timeout": 60})
    question = "Which sections cite Hobbhahn?"
    answer = client.predict(question, [], api_name="/chat")
    assert answer["id"].startswith("a-")
    assert client.predict(answer["id"], False, "names only one section", api_name="/feedback") == \
        {"id": answer["id"], "liked": False, "stored": True}
    with pytest.raises(AppError, match="No answer with that id"):
        client.predict("a-forged", False, "", api_name="/feedback")
    with pytest.raises(AppError, match="liked must be"):
        client.predict(answer["id"], "maybe", "", api_name="/feedback")
    tools, mcp_id, rated, forged = asyncio.run(asyncio.wait_for(_mcp_rate(server[0], OFF_TOPIC), timeout=120))
    assert tools["feedback"].inputSchema["required"] == ["answer_id", "liked"]
    assert "ctx" not in tools["feedback"].inputSchema["properties"]
    assert not rated.isError and rated.structuredContent == {"id": mcp_id, "liked": False, "stored": True}
    assert forged.isError and "No answer with that id" in forged.content[0].text
    lines = {line.get("comment"): line for line in export_feedback(index_dir)[0]}
    assert lines["names only one section"]["question"] == question
    assert lines["names only one section"]["sources"], "the sources the answer showed"
    assert lines["via MCP"]["question"] == OFF_TOPIC and lines["via MCP"]["kind"] == "out_of_scope"


@pytest.mark.slow
def test_http_votes_are_limited_per_client(server):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    from consensus_chat.app.feedback import VOTES_PER_WINDOW

    client = Client(server[0], verbose=False, httpx_kwargs={"timeout": 60})
    answer_id = client.predict(CODE_QUESTION, [], api_name="/chat")["id"]
    refused = None
    for n in range(VOTES_PER_WINDOW + 1):
        try:
            client.predict(answer_id, bool(n % 2), "", api_name="/feedback")
        except AppError as exc:
            refused = (n, str(exc))
            break
    assert refused is not None and "Too many votes from 127.0.0.1" in refused[1], refused
