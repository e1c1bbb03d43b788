"""What a question asks of the section it names: the words that choose which of its sentences to quote."""

from __future__ import annotations

import re

from consensus_chat.ingest.lexical import stem_words
from consensus_chat.ingest.words import META_WORDS, content_words


def asked_of(question: str, hit, topic, written: str = "") -> str:
    """What is asked of the section `hit`: the follow-up joined with the title of the section it continues ("Which
    industries does it compare? — <title>"), or the resolved question without the title put in for the user's words
    ("What does the second one say is lacking?" resolved to "What does <title> say is lacking?" asks "What does say
    is lacking?"; `written` is the question as the user wrote it). The title found the section; every one of its
    sentences shares it, so it would only pull toward those that repeat its words. A title the user wrote is part of
    what they ask ("What are the limits of <title>?"), and the question stays whole when nothing but the title and
    words about the document would be left ("What does the second one say?")."""
    joined = f" — {hit.title}"
    if question.endswith(joined):
        return question.removesuffix(joined)
    if topic is None or topic.question != question:
        return question
    for entity in topic.entities:
        if entity.kind == "title" and hit.id in entity.ids and written and entity.text.lower() not in written.lower():
            rest = re.sub(r"\s+", " ", question[:entity.start] + question[entity.end:]).strip()
            if set(content_words(rest)) - META_WORDS:
                return rest
    return question


def listed_sentence(words, sentences: list[str]) -> str:
    """The sentence a list entry quotes for a question that asks for sections by what they say ("Which parts of the
    page cover unreliable attribution tools or personas?"): the one sharing the most of the question's words (as
    stems, so "attribution" meets "attributed"), so the entry shows why it matched; the section's first, defining
    sentence when no other shares more. `words`: the question's topic words (not the label or code it names)."""
    asked = set(stem_words(list(words)))
    shared = [len(asked & set(stem_words(content_words(s)))) for s in sentences]
    best = max(range(len(sentences)), key=lambda i: (shared[i], -i))
    return sentences[best] if shared[best] > shared[0] else sentences[0]


# "Compare X with Y", "the difference between X and Y", "How do X and Y compare/differ?": the two things set side by
# side. Hand-written: a few fixed English frames; a side is searched on its own and must find its own card
# (app/assistant.py), so a frame that splits in the wrong place lists nothing.
_SIDES = (
    re.compile(r"^(?:please\s+)?(?:compare|contrast)\s+(?P<a>.+?)\s+(?:with|against|versus|vs\.?)\s+(?P<b>.+)$", re.I),
    re.compile(r"^(?:please\s+)?(?:compare|contrast)\s+(?P<a>.+?)\s+to\s+(?P<b>.+)$", re.I),
    re.compile(r"^(?:please\s+)?(?:compare|contrast)\s+(?P<a>.+?)\s+and\s+(?P<b>.+)$", re.I),
    re.compile(r"\bdifferences?\s+between\s+(?P<a>.+?)\s+and\s+(?P<b>.+)$", re.I),
    re.compile(r"^how\s+do\s+(?P<a>.+?)\s+and\s+(?P<b>.+?)\s+(?:compare|differ)\b", re.I),
    re.compile(r"^how\s+does\s+(?P<a>.+?)\s+(?:differ\s+from|compare\s+(?:with|to))\s+(?P<b>.+)$", re.I),
)


def compared_sides(question: str) -> tuple[str, str] | None:
    """The two things a comparison question sets side by side, in its order; None if it compares nothing."""
    text = question.strip().rstrip("?.! ")
    for pattern in _SIDES:
        m = pattern.search(text)
        if m and content_words(m["a"]) and content_words(m["b"]):
            return m["a"], m["b"]
    return None
