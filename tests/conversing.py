"""Asking a conversation in a test: the history shapes callers send, and the checks follow-up tests share
(conftest.py re-exports them)."""

from __future__ import annotations

import pytest


# Histories as callers send them: the answers themselves (their stored Turns), (question, answer) pairs, or
# role/content messages; tests of follow-ups run every shape.
def history_as_state(answers):
    return list(answers)


def history_as_pairs(answers):
    return [(a.question, a.text) for a in answers]


def history_as_messages(answers):
    return [m for a in answers for m in ({"role": "user", "content": a.question},
                                         {"role": "assistant", "content": a.text})]


HISTORY_SHAPES = pytest.mark.parametrize("shape", [history_as_state, history_as_pairs, history_as_messages],
                                         ids=["state", "pairs", "messages"])


def converse(assistant, questions, shape=history_as_state):
    """Ask each question with the answers so far, in the given history shape; return every answer."""
    answers = []
    for question in questions:
        answers.append(assistant.answer(question, shape(answers)))
    return answers


def refused_follow_up(assistant, first: str, follow_up: str, shape):
    """Ask `first` and then `follow_up` in the given history shape; check that both are refused and that the follow-up
    offers no nearest section; return the follow-up's answer."""
    refused, answer = converse(assistant, [first, follow_up], shape)
    assert refused.refused
    assert answer.refused and answer.citations == [] and answer.sources == [], "no nearest section is offered"
    return answer


def refused_after(assistant, first: str, follow_up: str):
    """Ask `first` and then the off-topic `follow_up`; check that the follow-up is refused and cites nothing; return
    the follow-up's answer."""
    _, answer = converse(assistant, [first, follow_up])
    assert answer.refused and not answer.citations, answer.resolved_question
    return answer


def api_picks(client, question: str, listed: list[str], follow_up: str, place: int) -> dict:
    """Ask a list question on a server's /chat and check what it listed, then pick from the list with `follow_up` (the
    first answer, its turn with it, as the history) and check the pick; return the first answer."""
    first = client.predict(question, [], api_name="/chat")
    assert first["turn"]["listed"] == listed
    picked = client.predict(follow_up, [first], api_name="/chat")
    assert picked["citations"][0]["id"] == listed[place] and not picked["refused"], follow_up
    return first
