"""Sentences of a section and their vectors, computed once and shared by scope and answers."""

from __future__ import annotations

import threading
from collections import OrderedDict

from consensus_chat.ingest.text import split_sentences

MAX_SECTIONS = 4096  # bounded: a server that re-ingests often must not grow without end


def quotable_sentences(section) -> list[str]:
    """The sentences of a Section's (or Hit's) text that an answer may quote: not the source record's author line."""
    own = section.author_line  # the line the parser wrote from the record's fields (None without authors)
    return split_sentences("\n".join(line for line in section.text.split("\n") if line != own))


class SentenceCache:
    """A thread-safe LRU of (sentences, unit vectors) keyed by section id and text."""

    def __init__(self, embedder, max_sections: int = MAX_SECTIONS):
        self.embedder = embedder
        self.max_sections = max_sections
        self._items: OrderedDict[tuple[str, str], tuple[list[str], object]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, section) -> tuple[list[str], object]:
        """Sentences of a Section or Hit and their vectors (None when it has no sentences)."""
        key = (section.id, section.text)
        with self._lock:
            cached = self._items.get(key)
            if cached is not None:
                self._items.move_to_end(key)
                return cached
        sentences = quotable_sentences(section)
        vectors = self.embedder.encode(sentences) if sentences else None
        with self._lock:
            self._items[key] = (sentences, vectors)
            while len(self._items) > self.max_sections:
                self._items.popitem(last=False)
        return sentences, vectors
