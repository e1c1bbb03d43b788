"""One chunk per section; sections longer than the model's window are split with overlap."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

from .section import Section
from .text import split_sentences


@dataclass(frozen=True)
class Chunk:
    """A piece of one section, as embedded and stored."""

    id: str
    section_id: str
    part: int
    n_parts: int
    text: str

    @cached_property
    def sha256(self) -> str:
        """SHA-256 of the chunk text: the key under which its embedding is reused (computed once)."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def header(section: Section) -> str:
    """Title, parent, and code with label: the words and codes a search should find."""
    lines = [section.title]
    if section.parent:
        lines.append(f"Parent: {section.parent}")
    if section.code:
        lines.append(f"Section {section.code} {section.label or ''}".rstrip())
    return "\n".join(lines)


def chunk_section(section: Section, count_tokens, max_tokens: int, overlap_sentences: int = 1) -> list[Chunk]:
    """Split a section into chunks that fit max_tokens word pieces, never truncating."""
    head = header(section)
    full = f"{head}\n{section.text}"
    if count_tokens(full) <= max_tokens:
        return [Chunk(f"{section.id}#0", section.id, 0, 1, full)]
    sentences = split_sentences(section.text)
    budget = max_tokens - count_tokens(head) - 2
    parts: list[list[str]] = []
    current: list[str] = []
    for sentence in sentences:
        if current and count_tokens(" ".join([*current, sentence])) > budget:
            parts.append(current)
            current = current[-overlap_sentences:] if overlap_sentences else []
            # Drop the overlap if it alone leaves no room for the next sentence.
            if current and count_tokens(" ".join([*current, sentence])) > budget:
                current = []
        current.append(sentence)
    if current:
        parts.append(current)
    # A single sentence longer than the window is split on words, still with overlap.
    final: list[str] = []
    for part in parts:
        text = " ".join(part)
        if count_tokens(text) <= budget:
            final.append(text)
            continue
        words = text.split()
        start = 0
        while start < len(words):
            end = start + 1
            while end < len(words) and count_tokens(" ".join(words[start : end + 1])) <= budget:
                end += 1
            final.append(" ".join(words[start:end]))
            if end >= len(words):
                break
            start = max(end - 10, start + 1)
    n = len(final)
    return [Chunk(f"{section.id}#{i}", section.id, i, n, f"{head}\n{text}") for i, text in enumerate(final)]
