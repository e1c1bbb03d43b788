"""Sentences of a section and their vectors, computed once per section and shared with the answer composer."""

from __future__ import annotations

from consensus_chat.ingest.cache import LruCache
from consensus_chat.ingest.text import split_sentences

MAX_SECTIONS = 4096  # bounded: a server that re-ingests often must not grow without end


def quotable_sentences(text: str) -> list[str]:
    """The sentences of a section's text that an answer may quote (not the author list)."""
    return [s for s in split_sentences(text) if not s.startswith("Authors:")]


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
        sentences = quotable_sentences(section.text)
        vectors = self.embedder.encode(sentences) if sentences else None
        self._items.put(key, (sentences, vectors))
        return sentences, vectors
