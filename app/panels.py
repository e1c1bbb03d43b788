"""The Document and About panels, the filters' labels and the example questions, all built from the index's sections."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from .render import anchor, code_label, escape_text, shown_heading as card_heading

KIND_ORDER = {"card": 0, "source": 1, "overview": 2, "tags": 3}
KIND_HEADINGS = {"source": "Source record", "overview": "Overview", "tags": "Tags"}


def _code_key(code: str | None) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"[.\s]+", code or "") if p)


def sort_sections(sections: Sequence) -> list:
    """Cards by code (document order within a code), then the source record, the overview and the tags."""
    indexed = list(enumerate(sections))
    indexed.sort(key=lambda t: (KIND_ORDER.get(t[1].kind, 9), _code_key(t[1].code) if t[1].kind == "card" else (),
                                t[0]))
    return [s for _, s in indexed]


def _matches(section, needle: str) -> bool:
    haystack = " ".join([section.code or "", section.label or "", section.title, section.parent or "", section.text,
                         " ".join(section.citations), " ".join(section.authors)]).lower()
    return all(word in haystack for word in needle.lower().split())


def document_markdown(sections: Sequence, query: str | None = "") -> str:
    """Every section grouped by code, filtered by the words of `query` (plain case-insensitive match)."""
    query = (query or "").strip()[:200]
    shown = [s for s in sort_sections(sections) if not query or _matches(s, query)]
    count = (f"{len(shown)} of {len(sections)} sections match **{escape_text(query)}**." if query
             else f"{len(sections)} sections.")
    if not shown:
        return count + " Try fewer or other words."
    out = [count]
    group = None
    for s in shown:
        key = (s.code, s.label) if s.kind == "card" else s.kind
        if key != group:
            group = key
            heading = code_label(s.code, s.label) if s.kind == "card" else KIND_HEADINGS.get(s.kind, s.kind)
            out.append(f"### {escape_text(heading)}")
        keys = f"  \n*Cites:* {escape_text(', '.join(s.citations))}" if s.citations else ""
        text = s.text if len(s.text) <= 1500 else s.text[:1500] + " …"
        title = card_heading(s.label, s.parent, s.title) if s.kind == "card" else s.heading
        # The empty span is where a refusal's "Nearest" link lands.
        out.append(f'<span id="{anchor(s.id)}"></span>**{escape_text(title)}**{keys}\n\n{escape_text(text)}')
    return "\n\n".join(out)


def filter_document(query: str | None, *, sections: Sequence) -> str:
    """The Document tab's list for a search box value."""
    return document_markdown(sections, query if isinstance(query, str) else "")


def about_markdown(sections: Sequence, backend: str = "") -> str:
    """The report's source record: title, authors, year and abstract."""
    source = next((s for s in sections if s.kind == "source"), None)
    if source is None:
        return "The index has no source record."
    lines = [f"## {escape_text(source.title)}"]
    if source.year:
        lines.append(f"**Year:** {source.year}")
    authors = list(dict.fromkeys(source.authors))  # a name listed twice is one person
    if authors:
        lines.append(f"**Authors ({len(authors)}):** {escape_text('; '.join(authors))}")
    # The record's text repeats the author list on its author line; it is shown once, above.
    abstract = "\n".join(line for line in source.text.splitlines() if line != source.author_line)
    lines.append("**Abstract**\n\n" + escape_text(abstract.strip()))
    if backend:
        lines.append(f"*Answers come from the `{escape_text(backend)}` backend; every [n] marker links a sentence "
                     "to the section it came from.*")
    return "\n\n".join(lines)


def section_labels(sections: Sequence) -> list[str]:
    """The distinct labels of the cards, sorted."""
    return sorted({s.label for s in sections if s.kind == "card" and s.label})


def example_questions(sections: Sequence) -> list[str]:
    """Four questions for the example buttons, made from the index: a cited key, a title, the source, a code."""
    cards = [s for s in sort_sections(sections) if s.kind == "card"]
    examples = []
    keys = Counter(key for card in cards for key in card.citations)
    if keys:
        examples.append(f"Which sections cite {keys.most_common(1)[0][0]}?")
    if cards:
        examples.append(f"What is the code of the {min((c.title for c in cards), key=len)} section?")
    if any(s.kind == "source" for s in sections):
        examples.append("Who wrote the document, and when?")
    codes = [c.code for c in cards if c.code]
    if codes:
        examples.append(f"What does section {codes[-1]} say?")
    return examples
