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
