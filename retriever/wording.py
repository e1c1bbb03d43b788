"""How a question's text is rewritten and cut for its readings (retriever/evidence.py): the document words its
abbreviations and misspellings stand for, without the names the document never uses, in its parts."""

from __future__ import annotations

import re

from consensus_chat.ingest.words import content_words, tokens

# "Leaving X aside, …", "Setting aside X: …", "Apart from X, …": an opening clause that names what is not asked about.
_SET_ASIDE = re.compile(r"^\W*(?:(?:leaving|setting|putting)\s+(?:aside\s+[^,:;?]{1,80}?|[^,:;?]{1,80}?\s+aside)|"
                        r"(?:(?:apart|aside)\s+from|other\s+than|besides|except\s+for)\s+[^,:;?]{1,80}?)"
                        r"\s*[,:;\u2014\u2013-]\s*(?=\S)", re.I)
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


def set_aside(question: str) -> str:
    """The question without an opening clause that sets something aside ("Leaving leisure boating aside, what about
    ferries?" asks about ferries): the words of what is set aside would rank its sections first. Hand-written: a few
    fixed English openings, and the rest of the question must ask something."""
    m = _SET_ASIDE.match(question)
    if m is None:
        return question
    rest = question[m.end():]
    return rest if content_words(rest) else question
