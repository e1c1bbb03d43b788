"""Questions about which sections share a code ("Which two cards on this page share a code?", "Does another area share
that code?", "Which area has the same code as metrology?"): answered from the codes the page gives its cards (the corpus
layout's code line), not from a search, which finds sections by their words and knows nothing of a code they share.

The question asks about codes and how they are shared, and has no topic words of its own; a code it names ("Which
areas share the code 2.2.1?") is answered by the code look-up (app/extractive.py) instead.
"""

from __future__ import annotations

from collections.abc import Iterable

from consensus_chat.ingest.section import Section, in_page_order
from consensus_chat.ingest.words import SECTION_NOUNS
from consensus_chat.retriever.topic import Topic
from consensus_chat.retriever.wording import LABEL_NOUNS

CODE_WORDS = frozenset("code codes coded numbered number".split())  # asking about the page's codes
SHARE_WORDS = frozenset("share shares shared sharing same common".split())  # of LAYOUT_WORDS, how codes are laid out


def asks_shared_code(topic: Topic | None) -> bool:
    """Does the question ask which sections share a code, naming no code and no topic?"""
    if topic is None or topic.words or any(e.kind in ("code", "label", "source-key") for e in topic.entities):
        return False
    meta = set(topic.meta)
    return bool(meta & CODE_WORDS and meta & SHARE_WORDS)


def asks_what_has_code(topic: Topic, kinds) -> bool:
    """Does the question ask which sections have the code it names ("Which areas are coded 2.2.1?", "Which cards share
    10.3.12?", "Which <parent> sub-areas share code 2.2.1?"), not the code of a card it names ("What is metrology
    coded?")? `kinds`: the kinds of the entities it names."""
    asks_code = any(m in CODE_WORDS for m in topic.meta)
    shares = bool(SHARE_WORDS & {*topic.words, *topic.meta}) and set(topic.words) <= SHARE_WORDS
    return "code" in kinds and (asks_code and "title" not in kinds or shares)


def lists_label(topic: Topic) -> bool:
    """Does the question ask which sections carry a label it names ("Which areas carry the Other label?"), with a word
    for sections and no title? Whatever verb asks it; the retriever finds a label only in a question about labels.
    A card's title that is also the label (and a parent's name) is the label when the question says "label" ("Which
    cards carry the label X?"), not when it asks with another word ("What falls under X?": the parent's sub-areas)."""
    return "label" in topic.kinds() and not titles_beside_label(topic) and bool(set(topic.meta) & SECTION_NOUNS)


def titles_beside_label(topic: Topic) -> list:
    """The titles a question names, but a title that is the label it names when it says "label" (`lists_label`)."""
    labels = {(e.start, e.end) for e in topic.entities if e.kind == "label"}
    said = bool(set(topic.meta) & LABEL_NOUNS)
    return [e for e in topic.entities if e.kind == "title" and not (said and (e.start, e.end) in labels)]


def sharing_code(sections: Iterable[Section], focus: Section | None = None) -> tuple[str, list[Section]]:
    """(how to introduce them, the cards that share a code): with a section the question is about, the other cards
    with its code and then that section (that section alone when no other has it); without one, every card whose code
    another card has, grouped by code in document order, or ("", []) when no two cards share one."""
    cards = in_page_order(s for s in sections if s.kind == "card" and s.code)
    if focus is not None:
        others = [s for s in cards if s.code == focus.code and s.id != focus.id]
        if not others:
            return f"No other section has the code **{code_label(focus)}** of **{focus.title}**:", [focus]
        verb = "shares" if len(others) == 1 else "share"
        names = " and ".join(f"**{s.title}**" for s in others)
        return f"{names} {verb} the code **{code_label(focus)}** with **{focus.title}**:", [*others, focus]
    groups: dict[str, list[Section]] = {}
    for card in cards:
        groups.setdefault(card.code, []).append(card)
    shared = [group for group in groups.values() if len(group) >= 2]
    if not shared:
        return "", []
    said = "; ".join(f"{code_label(g[0])}: " + " and ".join(f"**{s.title}**" for s in g) for g in shared)
    return f"{sum(map(len, shared))} sections share a code ({said}):", [s for g in shared for s in g]


def code_label(section) -> str:
    """'5.2.1 Other' for a section or a hit (the code alone when the label is missing)."""
    return f"{section.code} {section.label}".strip() if section.label else (section.code or "")
