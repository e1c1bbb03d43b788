"""The chat tab's callbacks: plain functions that take the assistant as a keyword argument, so tests call them directly.

`consensus_chat.app.page.build_ui` binds them with `functools.partial`.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from .api import clean_question, user_message
from .feedback import Ratings
from .memory import recall_shown, remember
from .render import (ERROR_PREFIX, answer_message, display_question, error_markdown, message_text, plain_history,
                     safe_markdown)

ANY_LABEL = "(any label)"
PENDING = "*Searching the document…*"


def _filters(state: Any) -> tuple[list[str] | None, list[str] | None]:
    """codes= and labels= for the assistant from the UI's filter state."""
    state = state if isinstance(state, dict) else {}
    code = str(state.get("code") or "").strip()
    label = str(state.get("label") or "").strip()
    return ([code] if code else None), ([label] if label and label != ANY_LABEL else None)


def update_filters(code: str | None, label: str | None) -> dict:
    """The filter state for the next questions."""
    return {"code": (code or "").strip(), "label": "" if not label or label == ANY_LABEL else label}


class AnswerLog:
    """The ids of the last answers the chat showed, by their message text, so that a thumbs up/down names its answer.

    Bounded (shared by every session of the server) and locked (answers finish on several worker threads).
    """

    def __init__(self, size: int = 2000):
        self.size = size
        self._answers: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha256(text.strip().encode("utf-8", "surrogatepass")).hexdigest()

    def remember(self, text: str, answer_id: str) -> None:
        """Keep the id of the answer shown as the chat message `text`."""
        with self._lock:
            self._answers[self._key(text)] = answer_id
            self._answers.move_to_end(self._key(text))
            while len(self._answers) > self.size:
                self._answers.popitem(last=False)

    def get(self, text: str) -> str | None:
        """The id of the answer shown as `text`, if the server still remembers it."""
        with self._lock:
            return self._answers.get(self._key(text))


def with_turns(history: Any, memory: dict | None) -> list[dict]:
    """The chat as plain messages for the assistant: each answer this session showed as its plain text and Turn,
    kept beside the rendered message (its HTML is never read back); other messages as `plain_history` reads them."""
    kept_beside = []
    for item in history or []:
        if isinstance(item, dict) and item.get("role") == "assistant" and not (item.get("metadata") or {}).get("title"):
            kept = recall_shown(memory, message_text(item.get("content")))
            if kept is not None:
                item = {"role": "assistant", "content": item.get("content"), "text": kept.text, "turn": kept.turn}
        kept_beside.append(item)
    return plain_history(kept_beside)


def respond(message: Any, history: list | None, state: dict | None, memory: dict | None = None, *, assistant,
            answers: AnswerLog | None = None) -> Iterator[list[dict]]:
    """Stream one answer into the chat: yields the whole message list as it grows; the last holds the source boxes.

    `memory` is the session's gr.State of turns (app/memory.py). Gradio hands a callback the session's own State
    object, so the new answer's turn is remembered in place and the callback's outputs stay the chat alone.
    """
    history = list(history or [])
    if message is None or isinstance(message, str) and not message.strip():
        yield history  # an empty input is ignored quietly
        return
    try:
        question = clean_question(message)
    except ValueError as exc:
        yield history + [{"role": "assistant", "content": error_markdown(str(exc))}]
        return
    turn = history + [{"role": "user", "content": display_question(question)}]
    yield turn + [{"role": "assistant", "content": PENDING}]
    codes, labels = _filters(state)
    try:
        final = None
        for part in assistant.stream(question, with_turns(history, memory), codes=codes, labels=labels):
            if isinstance(part, str):
                yield turn + [{"role": "assistant", "content": safe_markdown(part) + " ▌"}]
            else:
                final = part
        if final is None:
            raise RuntimeError("the assistant finished without an answer")
    except Exception as exc:  # noqa: BLE001 - the edge of the UI: the user gets one line, the log gets the rest
        yield turn + [{"role": "assistant", "content": error_markdown(user_message(exc))}]
        return
    shown = answer_message(final)
    if answers is not None:
        answers.remember(shown["content"], final.id)
    if isinstance(memory, dict):  # the plain text and Turn beside the rendered message, so neither is read back
        remember(memory, shown["content"], final.turn, final.text)
    yield turn + [shown]


def pick_example(question: str) -> str:
    """An example button's question, handed on to `respond`."""
    return question


def clear_chat() -> list:
    """A new conversation."""
    return []


def record_vote(history: Any, index: Any, liked: Any, *, ratings: Ratings, answers: AnswerLog,
                client: str | None = None) -> str:
    """Store a thumbs up/down on the answer at `index` of the chat; return a line for the user.

    The vote stores the server's own copy of the answer (`ratings`), never the text the browser sent. Raise ValueError
    when the message is not an answer this server gave in this conversation, or `client` voted too often (nothing is
    stored), and FeedbackError when the file cannot be written.
    """
    if isinstance(index, (list, tuple)):
        index = index[0] if index else None
    if not isinstance(liked, bool):
        raise ValueError("Only a thumbs up or a thumbs down is recorded.")
    messages = history if isinstance(history, list) else []
    if not isinstance(index, int) or not 0 <= index < len(messages) or not isinstance(messages[index], dict) \
            or messages[index].get("role") != "assistant":
        raise ValueError("That answer is no longer in the conversation, so the vote was not recorded.")
    text = message_text(messages[index].get("content"))
    if not text.strip() or text.startswith(ERROR_PREFIX) or text.endswith(" ▌"):
        raise ValueError("Only a finished answer can be rated.")
    answer_id = answers.get(text)
    if answer_id is None:
        raise ValueError("The server no longer remembers this answer (it has restarted, or answered many questions "
                         "since), so the vote was not recorded. Ask again to rate the new answer.")
    ratings.rate(answer_id, liked, client=client)
    return "Thanks: your thumbs " + ("up" if liked else "down") + " is saved with the answer and its sources."


def pending_turn(message: Any, history: list | None) -> list[dict] | None:
    """The chat as shown the moment a question is sent: the question and a pending answer; None for an empty input."""
    if not isinstance(message, str) or not message.strip():
        return None
    return list(history or []) + [{"role": "user", "content": display_question(message)},
                                  {"role": "assistant", "content": PENDING}]
