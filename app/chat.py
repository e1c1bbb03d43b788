"""The chat tab's callbacks: plain functions that take the assistant as a keyword argument, so tests call them directly.

`app.page.build_ui` binds them with `functools.partial`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .api import clean_question, user_message
from .render import answer_message, display_question, error_markdown, plain_history, safe_markdown

ANY_LABEL = "(any label)"


def _filters(state: Any) -> tuple[list[str] | None, list[str] | None]:
    """codes= and labels= for the assistant from the UI's filter state."""
    state = state if isinstance(state, dict) else {}
    code = str(state.get("code") or "").strip()
    label = str(state.get("label") or "").strip()
    return ([code] if code else None), ([label] if label and label != ANY_LABEL else None)


def update_filters(code: str | None, label: str | None) -> dict:
    """The filter state for the next questions."""
    return {"code": (code or "").strip(), "label": "" if not label or label == ANY_LABEL else label}


def respond(message: Any, history: list | None, state: dict | None, *, assistant) -> Iterator[list[dict]]:
    """Stream one answer into the chat: yields the whole message list as it grows; the last holds the source boxes."""
    history = list(history or [])
    try:
        question = clean_question(message)
    except ValueError as exc:
        yield history + [{"role": "assistant", "content": error_markdown(str(exc))}]
        return
    turn = history + [{"role": "user", "content": display_question(question)}]
    yield turn + [{"role": "assistant", "content": "*Searching the document…*"}]
    codes, labels = _filters(state)
    try:
        final = None
        for part in assistant.stream(question, plain_history(history), codes=codes, labels=labels):
            if isinstance(part, str):
                yield turn + [{"role": "assistant", "content": safe_markdown(part) + " ▌"}]
            else:
                final = part
        if final is None:
            raise RuntimeError("the assistant finished without an answer")
    except Exception as exc:  # noqa: BLE001 - the edge of the UI: the user gets one line, the log gets the rest
        yield turn + [{"role": "assistant", "content": error_markdown(user_message(exc))}]
        return
    yield turn + [answer_message(final)]


def stash_question(message: Any) -> tuple[str, Any]:
    """Clear the textbox and hand the question on to `respond`."""
    return "", message


def pick_example(question: str) -> str:
    """An example button's question, handed on to `respond`."""
    return question


def clear_chat() -> list:
    """A new conversation."""
    return []
