"""How a question's text is rewritten and cut for its readings (retriever/evidence.py): the document words its
abbreviations and misspellings stand for, without the names the document never uses, in its parts."""

from __future__ import annotations

import re

from consensus_chat.ingest.words import content_words, tokens

# Parts of a question of several parts ("metrology and quantum computing").
_PARTS = re.compile(r",|;|\band\b|\bor\b|\bas well as\b", re.I)


def rewritten(text: str, rewrites) -> str:
    """`text` with each rewritten word replaced by the document word it stands for."""
    table = dict(rewrites)
    if not table:
        return text
    pieces, last = [], 0
    for m in tokens(text):
        new = table.get(m.group(0))
        if new:
            pieces += [text[last:m.start()], new]
            last = m.end()
    pieces.append(text[last:])
    return "".join(pieces)


def without(text: str, names) -> str:
    """The topic text with the unknown names cut out (what the rest of the question asks)."""
    for name in names:
        text = text.replace(name, " ")
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r"\s+([?.!,;:'’])", r"\1", text)


def split_parts(text: str) -> list[str]:
    """The parts of a question of several parts (none when it has one)."""
    parts = [p.strip(" ?.!") for p in _PARTS.split(text)]
    parts = [p for p in parts if content_words(p)]
    return parts if len(parts) >= 2 else []
