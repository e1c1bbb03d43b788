"""Carry each answer's Turn to the next question: read it from any history shape, rebuild it from text when a caller
sends only text, and keep it per session for the web chat.

A history is a list of [question, answer] pairs, {"role", "content"} messages (an assistant message may carry the
answer's "turn"), Answer objects, or the answer objects /chat returns (they carry "turn"). Only the stateless shapes
need `turn_from_text`, which reads back what the composer wrote: the refusal lead, the source list, a list's lines.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from .extractive import NOT_COVERED
from .render import REFUSAL_LEAD
from .types import Answer, Citation, Turn

MEMORY_SIZE = 64  # turns the web chat keeps per session; older answers fall back to their text


@dataclass(frozen=True)
class Exchange:
    """One earlier question, the answer's text, and the answer's Turn when the caller sent it."""

    question: str
    answer: str
    turn: Turn | None = None


def as_turn(value) -> Turn | None:
    """A Turn from a Turn, its dict, or None; ValueError (naming the history) for anything else."""
    if value is None or isinstance(value, Turn):
        return value
    try:
        return Turn.from_dict(value)
    except ValueError as exc:
        raise ValueError(f"history: {exc}") from exc


def as_messages(history) -> list:
    """The history with every answer object (an Answer, or a /chat result with "turn") made into a user and an
    assistant message that carries the turn; pairs and messages pass unchanged."""
    out: list = []
    for item in history or ():
        if isinstance(item, Answer):
            out += [{"role": "user", "content": item.question},
                    {"role": "assistant", "content": item.text, "turn": item.turn}]
        elif isinstance(item, dict) and "role" not in item and "turn" in item:
            turn = as_turn(item["turn"])
            question, text = item.get("question", turn.question), item.get("answer", "")
            if not isinstance(question, str) or not isinstance(text, str):
                raise ValueError('history: an answer object needs "question" and "answer" strings.')
            out += [{"role": "user", "content": question}, {"role": "assistant", "content": text, "turn": turn}]
        else:
            out.append(item)
    return out


def exchanges(history) -> list[Exchange]:
    """Every earlier exchange of any history shape, oldest first; source boxes (messages with a title) are skipped."""
    found: list[Exchange] = []
    pending = None
    for item in as_messages(history):
        if isinstance(item, dict):
            role, content = item.get("role"), item.get("content")
            if not isinstance(content, str):
                continue
            if role == "user":
                if pending is not None:
                    found.append(Exchange(pending, ""))
                pending = content
            elif role == "assistant" and pending is not None:
                if (item.get("metadata") or {}).get("title"):
                    continue  # a source box, not the answer
                found.append(Exchange(pending, content, as_turn(item.get("turn"))))
                pending = None
        elif isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[0], str):
            found.append(Exchange(item[0], item[1] if isinstance(item[1], str) else ""))
    if pending is not None:
        found.append(Exchange(pending, ""))
    return found


def history_pairs(history) -> list[tuple[str, str]]:
    """(question, answer text) pairs of any history shape."""
    return [(e.question, e.answer) for e in exchanges(history)]


# --------------------------------------------------------------------------------------------------------------
# Rebuilding a turn from an answer's text (the stateless history shapes)

_SOURCE_LINE = re.compile(r"^\[(\d+)\] (.+?)\s*$", re.MULTILINE)
_LIST_LINE = re.compile(r"^- .*?\[(\d+)\]", re.MULTILINE)
_CITES = re.compile(r"\) cites (.+?) \[\d+\]:")
_AREAS = re.compile(r"research areas?: (.+?)\.(?:\n|$)")
# A refusal begins with NOT_COVERED in an answer's text, and with the page's longer line in the web chat's.
_REFUSAL = re.compile(r"\s*(?:#+[^\n]*\n\s*)?>?\s*(?:" + re.escape(NOT_COVERED) + "|" + re.escape(REFUSAL_LEAD) + ")")


def turn_from_text(question: str, resolved: str, text: str, sections: Iterable) -> Turn:
    """What an answer did, read back from its text: a refusal, the cited sections, a list's sections or keys."""
    if _REFUSAL.match(text):
        return Turn(question, resolved, refused=True)
    # Only sections whose title the text holds can be named in it: one cheap pass, even over a large index.
    named = [s for s in sections if s.title and s.title in text]
    by_line = {Citation.from_section(0, s, "").source_line()[len("[0] "):]: s.id for s in named}
    numbered = {int(n): by_line[line] for n, line in _SOURCE_LINE.findall(text) if line in by_line}
    cited = tuple(dict.fromkeys(numbered[n] for n in sorted(numbered)))
    body = text.split("**Sources**")[0]
    keys = _CITES.search(body)
    if keys:  # "X cites A, B [1]:" and its quotes list sources, not sections
        return Turn(question, resolved, refused=False, cited=cited,
                    listed_keys=tuple(k.strip() for k in keys.group(1).split(",")))
    listed = tuple(dict.fromkeys(numbered[int(n)] for n in _LIST_LINE.findall(body) if int(n) in numbered))
    if not listed and (areas := _AREAS.search(body)):
        cards = {s.title: s.id for s in named if s.kind == "card"}
        listed = tuple(cards[t] for t in areas.group(1).split("; ") if t in cards)
    return Turn(question, resolved, refused=False, cited=cited, listed=listed)


# --------------------------------------------------------------------------------------------------------------
# The web chat's memory: each answer's plain text and Turn, by the rendered message that showed them


def _key(text: str) -> str:
    # Whitespace-insensitive: the browser may send a message back re-spaced.
    return hashlib.sha256(" ".join(text.split()).encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Shown:
    """What the web chat keeps beside an answer it rendered: the answer's plain text and its Turn."""

    text: str
    turn: Turn


def remember(memory: dict, shown: str, turn: Turn, text: str | None = None) -> None:
    """Keep `turn` and the answer's plain `text` under the rendered chat message `shown` (at most MEMORY_SIZE)."""
    memory.pop(_key(shown), None)
    memory[_key(shown)] = Shown(shown if text is None else text, turn)
    for old in list(memory)[:-MEMORY_SIZE]:  # a copy of the keys: two answers of one session may finish at once
        memory.pop(old, None)


def recall_shown(memory, shown: str) -> Shown | None:
    """The plain text and Turn kept for a rendered chat message, if this session still has them."""
    kept = memory.get(_key(shown)) if isinstance(memory, dict) else None
    return kept if isinstance(kept, Shown) else None


def recall(memory, shown: str) -> Turn | None:
    """The turn remembered for a rendered chat message, if any."""
    kept = recall_shown(memory, shown)
    return kept.turn if kept is not None else None
