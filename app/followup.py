"""Resolve follow-up questions ("What does it cite?", "and Leveson?") from earlier turns.

Hand-written rules rather than an LLM condenser: the default backend must stay offline and
deterministic, and these follow-ups have a small, regular shape. What a follow-up is about is read
by the retriever's topic analysis (retriever/topic.py), so the rules never look for document words:
- "and X?" keeps the previous question's frame and puts X where the previous question named its
  entity or topic ("Which sections cite Reason?" + "and Leveson?" -> "Which sections cite Leveson?"),
  so a list is recomputed for the new entity, never carried over;
- a short question that points back ("What does it cite?") and has no topic of its own inherits the
  previous question's topic; a question with a topic of its own stands alone.
"""

from __future__ import annotations

import re

_ANAPHORA = re.compile(r"\b(it|its|it's|that|this|those|these|there|they|them|their|the one|that one|same)\b", re.I)
_CONTINUATION = re.compile(r"^\s*(?:and|also|what about|how about|same for|ok(?:ay)?,? and)\b[\s,:]*", re.I)
_THE_ONE = re.compile(r"\b(?:the|that) (?:one|section|area|card) (?:on|about|for|of)\s+", re.I)


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


def is_follow_up(question: str, analyse, covers=None) -> bool:
    """'and ...', or a question that points back ("it", "those") and lacks a topic of its own:
    no topic words, or topic words the document does not cover on their own (`covers(q)`)."""
    if _CONTINUATION.search(question):
        return True
    if not _ANAPHORA.search(question):
        return False
    topic = analyse(question)
    if topic.entities:
        return False
    return not topic.words or (covers is not None and not covers(question))


def condense(question: str, previous_questions: list[str], topic_of, analyse, covers=None) -> str:
    """Rewrite a follow-up into a stand-alone question.

    `previous_questions` are the earlier resolved user questions, oldest first; `topic_of(q)`
    returns the title of the section a resolved question is about; `analyse(q)` is the retriever's
    topic analysis; `covers(q)` says whether the document covers a question on its own.
    """
    if not previous_questions or not is_follow_up(question, analyse, covers):
        return question
    previous = previous_questions[-1]
    continuation = _CONTINUATION.search(question)
    if continuation:
        rest = _THE_ONE.sub("", question[continuation.end():]).strip(" ?.!")
        new = analyse(rest)
        if rest and new.meta and (new.words or new.entities):
            return rest + "?"  # "and the system safety one, who does it cite?" asks for itself
        if rest and (new.words or new.entities):
            return _substitute(previous, rest, analyse(previous))
    topic = topic_of(previous)
    return f"{question.rstrip()} — {topic}" if topic else question


def _substitute(previous: str, fragment: str, topic) -> str:
    """The previous question with its named entities (or else its topic words) replaced by fragment."""
    spans = [(e.start, e.end) for e in topic.entities]
    if not spans and topic.words:
        lowered = previous.lower()
        for word in topic.words:
            at = lowered.find(word)
            if at >= 0:
                spans.append((at, at + len(word)))
    if not spans:
        return f"{fragment}?"
    start, end = min(a for a, _ in spans), max(b for _, b in spans)
    end = max(end, _word_end(previous, end))
    return f"{previous[:start]}{fragment}{previous[end:]}".strip()


def _word_end(text: str, at: int) -> int:
    """The end of the word that position `at` is inside (so 'standardisation' is replaced whole)."""
    m = re.match(r"[\w'’-]*", text[at:])
    return at + (m.end() if m else 0)
