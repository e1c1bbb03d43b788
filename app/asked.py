"""What a question asks of the section it names: the words that choose which of its sentences to quote."""

from __future__ import annotations

import re

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
