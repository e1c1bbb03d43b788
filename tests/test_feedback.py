"""Thumbs up/down: stored in SQLite in the index home, exported as eval lines; bad votes and unwritable homes."""

from __future__ import annotations

import json
import subprocess

import pytest

from app import chat
from app.feedback import FILENAME, FeedbackError, FeedbackStore
from conftest import CLI
from evals.runner import load_questions

CODE_QUESTION = "What is the code of the metrology section?"
OFF_TOPIC = "Who won the 2022 World Cup?"


def conversation(assistant, answers, *questions) -> list[dict]:
    """The chat after asking `questions` in turn, as the page holds it."""
    history: list[dict] = []
    for question in questions:
        history = list(chat.respond(question, history, {}, assistant=assistant, answers=answers))[-1]
    return history


def vote(history, index, liked, store, answers, assistant):
    return chat.record_vote(history, index, liked, store=store, answers=answers, backend=assistant.backend)


def test_votes_are_stored_with_the_answer_and_exported_for_labelling(assistant, tmp_path):
    store, answers = FeedbackStore(tmp_path), chat.AnswerLog()
    history = conversation(assistant, answers, CODE_QUESTION, OFF_TOPIC)
    assert "saved" in vote(history, 1, False, store, answers, assistant)
    assert "saved" in vote(history, 3, False, store, answers, assistant)
    assert "saved" in vote(history, 1, True, store, answers, assistant)
    assert (tmp_path / FILENAME).exists()
    disliked = store.votes(liked=False)
    assert [v.question for v in disliked] == [CODE_QUESTION, OFF_TOPIC]
    expected = assistant.answer(CODE_QUESTION).to_dict()
    first = disliked[0]
    assert first.answer == expected["answer"] and list(first.citations) == expected["citations"]
    assert first.backend == "extractive" and not first.refused and disliked[1].refused
    assert [v.liked for v in store.votes()] == [False, False, True]
    lines = [v.eval_line() for v in disliked]
    assert lines[0]["kind"] == "in_scope" and lines[0]["relevant_codes"] == ["3.2.1"]
    assert lines[0]["relevant_titles"] == ["Metrology for AI risk assessment"]
    assert lines[1]["kind"] == "out_of_scope" and lines[1]["relevant_titles"] == []
    path = tmp_path / "to-label.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert [q.question for q in load_questions(path)] == [CODE_QUESTION, OFF_TOPIC], "the eval loader reads them"


@pytest.mark.parametrize("index, liked, message", [
    (7, False, "no longer in the conversation"),  # past the end: e.g. after "New conversation"
    (0, False, "no longer in the conversation"),  # the user's own question
    (-1, True, "no longer in the conversation"),
    ("1", True, "no longer in the conversation"),
    (1, "Flag", "thumbs up or a thumbs down"),
])
def test_a_vote_on_a_message_that_is_not_an_answer_is_refused_and_stores_nothing(assistant, tmp_path, index,
                                                                                  liked, message):
    store, answers = FeedbackStore(tmp_path), chat.AnswerLog()
    history = conversation(assistant, answers, CODE_QUESTION)
    with pytest.raises(ValueError, match=message):
        vote(history, index, liked, store, answers, assistant)
    assert store.votes() == [] and store.waiting == 0


def test_an_answer_the_server_forgot_is_stored_from_the_chat(assistant, tmp_path):
    store = FeedbackStore(tmp_path)
    history = conversation(assistant, chat.AnswerLog(), CODE_QUESTION)
    vote(history, 1, False, store, chat.AnswerLog(), assistant)  # a restarted server: an empty log
    stored = store.votes()[0]
    assert stored.question == CODE_QUESTION and "3.2.1" in stored.answer and "<details" not in stored.answer


def test_an_unwritable_home_keeps_the_vote_until_it_can_be_saved(assistant, tmp_path):
    store, answers = FeedbackStore(tmp_path), chat.AnswerLog()
    history = conversation(assistant, answers, CODE_QUESTION)
    (tmp_path / FILENAME).mkdir()  # something that is not a database where the file belongs
    with pytest.raises(FeedbackError, match="Cannot save feedback to .*1 vote\\(s\\) are kept in memory"):
        vote(history, 1, False, store, answers, assistant)
    with pytest.raises(FeedbackError, match="2 vote\\(s\\) are kept"):
        vote(history, 1, True, store, answers, assistant)
    (tmp_path / FILENAME).rmdir()
    vote(history, 1, False, store, answers, assistant)
    assert [v.liked for v in store.votes()] == [False, True, False], "nothing was lost"
    assert store.waiting == 0


def test_feedback_export_cli(assistant, tmp_path):
    store, answers = FeedbackStore(tmp_path), chat.AnswerLog()
    history = conversation(assistant, answers, CODE_QUESTION)
    vote(history, 1, False, store, answers, assistant)
    vote(history, 1, True, store, answers, assistant)
    done = subprocess.run([CLI, "feedback", "export", "--index-dir", str(tmp_path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["question"] for line in lines] == [CODE_QUESTION], "only the disliked answer"
    assert "1 disliked answer(s)" in done.stderr and "label" in done.stderr
    bad = subprocess.run([CLI, "feedback", "export", "--index-dir", str(tmp_path), "--out", str(tmp_path / "no-such-dir" / "x.jsonl")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.startswith("Error: Cannot write") and "Traceback" not in bad.stderr
    empty = subprocess.run([CLI, "feedback", "export", "--index-dir", str(tmp_path / "none")], capture_output=True,
                           text=True, timeout=120)
    assert empty.returncode == 0 and empty.stdout == "" and "0 disliked" in empty.stderr
