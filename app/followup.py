"""Resolve follow-up questions ("What does it cite?", "and the one on metrology?") from earlier turns.

Hand-written rules rather than an LLM condenser: the default backend must stay offline and
deterministic, and these follow-ups have a small, regular shape.
"""

from __future__ import annotations

import re

_ANAPHORA = re.compile(r"\b(it|its|it's|that|this|those|these|there|they|them|their|the one|that one|same)\b", re.I)
_CONTINUATION = re.compile(r"^\s*(?:and|also|what about|how about|same for|ok(?:ay)?,? and)\b[\s,:]*", re.I)
_THE_ONE = re.compile(r"\b(?:the|that) (?:one|section|area|card) (?:on|about|for|of)\s+", re.I)
_QUESTION_STEM = re.compile(
    r"^\s*(what does (?:it|this|that)(?: section)? (?:cite|say)|which code is (?:that|it)|what(?:'s| is) (?:its|the) code"
    r"|who is cited(?: there| in it)?|what are its sources|which sources does it cite)\b", re.I
)
_CONTENT = re.compile(r"[A-Za-z][A-Za-z0-9-]{2,}")
_STOP = set(
    "and also what about how same for the one section area card that this those these there they them their "
    "does did say says cite cites cited code which who is are its it was were has have had with from into "
    "tell more please okay ok show list give".split()
)


def _content(text: str) -> list[str]:
    return [w for w in _CONTENT.findall(text) if w.lower() not in _STOP]


def history_pairs(history) -> list[tuple[str, str]]:
    """Accept [(user, assistant)], [[user, assistant]] or [{"role", "content"}] and return pairs."""
    pairs: list[tuple[str, str]] = []
    pending_user = None
    for item in history or ():
        if isinstance(item, dict):
            role, content = item.get("role"), item.get("content")
            if not isinstance(content, str):
                continue
            if role == "user":
                if pending_user is not None:
                    pairs.append((pending_user, ""))
                pending_user = content
            elif role == "assistant" and pending_user is not None:
                if (item.get("metadata") or {}).get("title"):
                    continue  # a source box, not the answer
                pairs.append((pending_user, content))
                pending_user = None
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            user, bot = item
            if isinstance(user, str):
                pairs.append((user, bot if isinstance(bot, str) else ""))
    if pending_user is not None:
        pairs.append((pending_user, ""))
    return pairs


def is_follow_up(question: str) -> bool:
    """A short question that points back (pronoun or 'and ...') rather than naming its topic."""
    if _CONTINUATION.search(question):
        return True
    return bool(_ANAPHORA.search(question)) and len(_content(question)) <= 2


def condense(question: str, previous_questions: list[str], topic_of) -> str:
    """Rewrite a follow-up into a stand-alone question.

    `previous_questions` are the earlier resolved user questions, oldest first; `topic_of(q)`
    returns the title of the section a resolved question is about.
    """
    if not previous_questions or not is_follow_up(question):
        return question
    previous = previous_questions[-1]
    continuation = _CONTINUATION.search(question)
    if continuation:
        rest = _THE_ONE.sub("", question[continuation.end():]).strip(" ?.!")
        if _content(rest):
            # "and the one on metrology?" keeps the previous question's intent with a new topic.
            stem = _QUESTION_STEM.search(previous)
            if stem:
                return f"{stem.group(1)} — {rest}?"
            return f"{rest}? ({_strip_topic(previous)})"
    topic = topic_of(previous)
    return f"{question.rstrip()} — {topic}" if topic else question


def _strip_topic(question: str) -> str:
    return re.sub(r"\s+—\s+.*$", "", question).strip()
