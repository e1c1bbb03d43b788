"""Questions about which sections share a code, a label or a source ("Which two cards on this page share a code?", "Does
another area share that code?", "Which area has the same code as metrology?", "Which other card cites that source?",
"Does any other card share that label?"): answered from the code line, the label and the source keys the page gives its
sections (the corpus layout), not from a search, which finds sections by their words and knows nothing of what they
share.

The question asks about codes, labels or sources and how they are shared (a word for sharing, or the attribute of the
section the conversation is on, "that source", beside "other", "another" or "elsewhere"), and has no topic words of its
own; a code, label or key it names ("Which areas share the code 2.2.1?") is answered by the look-ups
(app/extractive.py).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import replace

from consensus_chat.ingest.section import Section, in_page_order
from consensus_chat.ingest.words import SECTION_NOUNS
from consensus_chat.retriever.topic import Topic
from consensus_chat.retriever.wording import LABEL_NOUNS

CODE_WORDS = frozenset("code codes coded numbered number".split())  # asking about the page's codes
SHARE_WORDS = frozenset("share shares shared sharing same common".split())  # of LAYOUT_WORDS, how codes are laid out
SOURCE_NOUNS = frozenset("source sources citation citations reference references".split())
_NOUNS = {"code": CODE_WORDS, "label": LABEL_NOUNS, "source": SOURCE_NOUNS}
# The attribute of the section the conversation is on ("that source", "its code", "those labels", "the same source").
_REFERRED = re.compile(r"\b(?:that|this|those|these|its|their|(?:the\s+)?same)\s+(?:\w+\s+)?(" +
                       "|".join(sorted(CODE_WORDS | LABEL_NOUNS | SOURCE_NOUNS)) + r")\b", re.I)
# "sub-area": a section under a parent area, not the area above it (of META_WORDS).
SUB_AREA_WORDS = frozenset("subarea subareas sub-area sub-areas subsection subsections sub-section sub-sections"
                           .split())
# Words that say where else or how a section holds it ("Which other sub-area carries that code?"), not what about.
_HOLDING = frozenset("elsewhere carry carries carried carrying".split())
# Other sections than that one ("another card", "anywhere else"), not more of it ("What else does that source say?").
_ELSEWHERE = re.compile(r"\b(?:other|another|elsewhere|(?:anywhere|somewhere|where)\s+else)\b", re.I)


def shared_kind(topic: Topic | None) -> str | None:
    """"code", "label" or "source" when the question asks which sections share one (naming none, and no topic), else
    None. A label the question seems to name beside "that label" ("Does any other card share that label?", where a
    label is called Other) is the word, not the label: "that label" says which one is meant."""
    if topic is None or not set(topic.words) <= SHARE_WORDS | _HOLDING:
        return None
    kinds = _kinds_named(topic)
    if len(kinds) != 1:
        return None
    referred = _REFERRED.search(topic.question)
    back = referred is not None and referred.group(1).lower() in _NOUNS[kinds[0]]
    named = {"code", "source-key"} | ({"label"} if not (back and kinds[0] == "label") else set())
    if any(e.kind in named for e in topic.entities):
        return None
    same = back and "same" in referred.group(0).lower()  # "the same source" says it is shared
    shares = bool(SHARE_WORDS & {*topic.words, *topic.meta}) or same or back and _ELSEWHERE.search(topic.question) is not None
    return kinds[0] if shares else None


def about_last(topic: Topic) -> Topic:
    """A question asking what the section the conversation is on shares ("Are its sources used elsewhere?") or holds
    ("What code does it carry?") with no topic of its own: "elsewhere", "carries" are no topic words, and a label it
    seems to name beside "that label" is the word."""
    holds = bool(topic.words) and set(topic.words) <= _HOLDING and bool(_kinds_named(topic))
    if not (holds or shared_kind(topic)):
        return topic
    return replace(topic, words=(), entities=tuple(e for e in topic.entities if e.kind != "label"))


def shared_back(question: str, topic: Topic, before: Callable[[], Topic]) -> tuple[str, str] | None:
    """"Which other card shares it?" right after a question about one kind of thing a section has ("What label is that
    card filed under?"): (the question with the pronoun put as that thing, "Which other card shares that label?", and
    that kind, as `shared_kind` reads it there), or None. Only when the question before (`before()`, analysed only
    for a sharing question with a pronoun) asked about exactly one kind (a code, a label or a source)."""
    words = set(topic.words)
    pronoun = re.search(r"\b(?:it|them)\b", question, re.I)
    if pronoun is None or shared_kind(topic) or not words & SHARE_WORDS or not words <= SHARE_WORDS | _HOLDING or (
            topic.entities or not _ELSEWHERE.search(question)):
        return None
    kinds = _kinds_named(before())
    if len(kinds) != 1:
        return None
    return f"{question[:pronoun.start()]}that {kinds[0]}{question[pronoun.end():]}", kinds[0]


def _kinds_named(topic: Topic) -> list[str]:
    """The kinds of shared thing ("code", "label", "source") the question's meta words name."""
    meta = set(topic.meta)
    return [kind for kind, nouns in _NOUNS.items() if meta & nouns]


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


def sharing(sections: Iterable[Section], kind: str, focus: Section | None = None, *,
            sub_areas: bool = False) -> tuple[str, list[Section]]:
    """(how to introduce them, the sections that share a `kind` ("code", "label" or "source")): with a section the
    question is about, the others with its code, its label or any of its source keys and then that section (that
    section alone when no other has it); without one, every card whose code, or every section whose source, another
    has, grouped in document order; ("", []) when there is nothing to say (no code, label or source to share)."""
    if kind == "code":
        return sharing_code(sections, focus, sub_areas=sub_areas)
    if focus is None or not (focus.label if kind == "label" else focus.citations):
        return sharing_source(sections) if kind == "source" and focus is None else ("", [])
    if kind == "label":
        cards = in_page_order(s for s in sections if s.kind == "card")
        others = [s for s in cards if s.label == focus.label and s.id != focus.id]
        return _with_focus(others, focus, f"the label **{focus.label}**")
    keys = {key: n for n, key in enumerate(dict.fromkeys(focus.citations))}  # the section's first source first
    others = [s for s in in_page_order(sections) if s.id != focus.id and keys.keys() & set(s.citations)]
    others.sort(key=lambda s: min(keys[k] for k in s.citations if k in keys))
    if not others:
        return f"No other section cites {', '.join(focus.citations)}, the sources of **{focus.title}**:", [focus]
    if len(others) == 1:
        said = ", ".join(k for k in others[0].citations if k in keys)
        return f"**{others[0].title}** also cites {said}, as **{focus.title}** does:", [*others, focus]
    names = " and ".join(f"**{s.title}** ({', '.join(k for k in s.citations if k in keys)})" for s in others)
    return f"{names} also cite sources of **{focus.title}**:", [*others, focus]


def shared_keys(sections: list[Section]) -> list[str]:
    """The source keys two or more of `sections` cite (each quote is the sentence citing one), else the first's."""
    counts = Counter(k for s in sections for k in dict.fromkeys(s.citations))
    return [k for k, n in counts.items() if n >= 2] or list(sections[0].citations if sections else ())


def sharing_source(sections: Iterable[Section]) -> tuple[str, list[Section]]:
    """Every source key that two or more sections cite, with those sections, in document order ("", [] for none)."""
    groups: dict[str, list[Section]] = {}
    for section in in_page_order(sections):
        for key in dict.fromkeys(section.citations):
            groups.setdefault(key, []).append(section)
    shared = {key: group for key, group in groups.items() if len(group) >= 2}
    if not shared:
        return "", []
    said = "; ".join(f"{key}: " + " and ".join(f"**{s.title}**" for s in g) for key, g in shared.items())
    return f"{len(shared)} source{'s are' if len(shared) > 1 else ' is'} cited by more than one section ({said}):", \
        list({s.id: s for g in shared.values() for s in g}.values())


def sharing_code(sections: Iterable[Section], focus: Section | None = None, *,
                 sub_areas: bool = False) -> tuple[str, list[Section]]:
    """(how to introduce them, the cards that share a code): with a section the question is about, the other cards
    with its code and then that section (that section alone when no other has it); without one, every card whose code
    another card has, grouped by code in document order, or ("", []) when no two cards share one."""
    cards = in_page_order(s for s in sections if s.kind == "card" and s.code)
    if focus is not None:
        others = [s for s in cards if s.code == focus.code and s.id != focus.id]
        if sub_areas:  # "Which other sub-area …?": an area with no parent above it is no sub-area, so it comes last
            others.sort(key=lambda s: s.parent is None)
        return _with_focus(others, focus, f"the code **{code_label(focus)}**")
    groups: dict[str, list[Section]] = {}
    for card in cards:
        groups.setdefault(card.code, []).append(card)
    shared = [group for group in groups.values() if len(group) >= 2]
    if not shared:
        return "", []
    said = "; ".join(f"{code_label(g[0])}: " + " and ".join(f"**{s.title}**" for s in g) for g in shared)
    return f"{sum(map(len, shared))} sections share a code ({said}):", [s for g in shared for s in g]


def _with_focus(others: list[Section], focus: Section, what: str) -> tuple[str, list[Section]]:
    """The lead and list for the sections that have `what` (a code or a label) as `focus` does, then `focus`."""
    if not others:
        return f"No other section has {what} of **{focus.title}**:", [focus]
    names = " and ".join(f"**{s.title}**" for s in others)
    return f"{names} {'shares' if len(others) == 1 else 'share'} {what} with **{focus.title}**:", [*others, focus]


def code_label(section) -> str:
    """'5.2.1 Other' for a section or a hit (the code alone when the label is missing)."""
    return f"{section.code} {section.label}".strip() if section.label else (section.code or "")
