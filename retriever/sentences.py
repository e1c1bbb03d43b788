"""Sentences of a section and their vectors, computed once per section and shared with the answer composer."""

from __future__ import annotations

from consensus_chat.ingest.cache import LruCache
from consensus_chat.ingest.section import REASONING
from consensus_chat.ingest.text import split_sentences

MAX_SECTIONS = 4096  # bounded: a server that re-ingests often must not grow without end


def quotable_sentences(section) -> list[str]:
    """The sentences of a Section's (or Hit's) text that an answer may quote: not the source record's author line, not
    the overview's bare "Reasoning" heading."""
    own = section.author_line  # the line the parser wrote from the record's fields (None without authors)
    # The overview's bare "Reasoning" heading introduces the sentence after it; alone it says nothing.
    skip = {own, REASONING} if section.kind == "overview" else {own}
    return split_sentences("\n".join(line for line in section.text.split("\n") if line.strip() not in skip))


class SentenceCache:
    """(sentences, unit vectors) of each section, keyed by section id and text, least recently used dropped."""

    def __init__(self, embedder, max_sections: int = MAX_SECTIONS):
        self.embedder = embedder
        self._items = LruCache(max_sections)

    def get(self, section) -> tuple[list[str], object]:
        """Sentences of a Section or Hit and their vectors (None when it has no sentences)."""
        key = (section.id, section.text)
        cached = self._items.get(key)
        if cached is not None:
            return cached
        sentences = quotable_sentences(section)
        vectors = self.embedder.encode(sentences) if sentences else None
        self._items.put(key, (sentences, vectors))
        return sentences, vectors
