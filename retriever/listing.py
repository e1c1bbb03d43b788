"""Lists of cards the page's layout answers by itself, with no parent named: every card ("List all the cards on this
page."), the cards before or after one card in the page's order ("Which cards come before the Tariffs card?", "…
before the sub-areas?") and the cards that cite no source ("Which cards cite no sources at all?").

Each is read from what the parser keeps of every page in the corpus layout (a card's kind, place and citations), so
it holds on any page; the words that ask are generic English about order and citing, never a page's words. Nothing
else may be asked: a question with a topic word of its own ("Which cards deal with near misses?"), a code, a label
or a source key keeps its own answer, and so does a parent named ("What sits under Red Teaming?", retriever/outline.py).
Two kinds of words are no topic here: those of the one card or parent a list is ordered around ("Which cards come
after the hip protectors card?", "… before the Incident Reporting sub-areas?"), and those of "the X page" that name
the page itself ("List every research area on the red teaming page.").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

from consensus_chat.ingest.lexical import stem_words
from consensus_chat.ingest.lookups import normalise
from consensus_chat.ingest.section import Section, in_page_order
from consensus_chat.ingest.words import META_WORDS, content_words

from .topic import CITE_WORDS, Topic

# "before"/"after" are stopwords, so they are read from the question's text: where a card stands in the page's order.
# Generic English for order ("ahead of", "prior to", "subsequent to"), never a page's words.
_EARLIER = frozenset("before preceding precede precedes ahead prior".split())
_ORDER_WORDS = _EARLIER | frozenset("after following follow follows subsequent".split())
_ORDER = re.compile(rf"\b({'|'.join(_ORDER_WORDS)})\b", re.IGNORECASE)
# "cite no sources", "without a citation", "don't cite anything": a card whose citations are empty.
_NONE = re.compile(r"\b(no|none|without|zero|not|never)\b|n['’]t\b", re.IGNORECASE)
# The page's sub-areas as a block ("Which cards come before the sub-areas?"): the first card under a parent.
SUB_AREAS = frozenset("subsections sub-sections subareas sub-areas subtopics sub-topics".split())
# Words that ask for cards and nothing else ("List all the research cards the page covers."); a word of the
# question beyond them and the list words names a topic, and the topic's own ranking answers it.
_ASKING = frozenset("research cover covers covered page pages document cards card areas area sections section "
                    "entries entry list lists listed appear appears come comes there".split())


class Listed(NamedTuple):
    """A list of sections the question asks for: the parent area named ("" when none) and the sections, in the page's
    order; `lead` says how a list that is not a parent's children is introduced."""

    parent: str
    sections: list[Section]
    lead: str = ""


def layout_listed(topic: Topic, sections: Iterable[Section], list_words: frozenset[str],
                  parents: Iterable[str] | None = None) -> Listed | None:
    """The cards a question asks for by the page's layout alone (see the module's docstring), or None. The words are
    read first: the sections (a large index's many) are walked only for a question that asks for such a list.
    `parents`: the parents' names when the caller keeps them."""
    named_by = None
    if (extra := set(topic.words) - list_words - _ORDER_WORDS - {"research"}) and _PAGE_NAMED.search(topic.question):
        sections = sections if isinstance(sections, list) else list(sections)
        extra -= _page_name_words(topic.question, sections)  # "List every card on the red teaming page."
    if extra:
        if topic.entities or not _ORDER.search(topic.question):
            return None  # a topic of its own: "Which cards deal with near misses?"
        sections = sections if isinstance(sections, list) else list(sections)
        if (named_by := _named_by_words(extra, sections, bool(set(topic.meta) & SUB_AREAS))) is None:
            return None  # "What happens after a near miss?": no one card's title or parent's name holds its words
    titles = [e for e in topic.entities if e.kind == "title"]
    spans = {(e.start, e.end) for e in titles}  # a label that is also a card's title is the title
    if len(titles) > 1 or any((e.start, e.end) not in spans for e in topic.entities):
        return None  # a code, a label, a source key: their own lists (app/extractive.py)
    meta = set(topic.meta)
    order = None
    if _ORDER.search(topic.question):
        sections = sections if isinstance(sections, list) else list(sections)
        order = _order_word(topic.question, sections)
    if order is None and topic.entities:
        return None  # a card named without an order word is that card's question
    citing = order is None and bool(meta & CITE_WORDS)
    if citing and _NONE.search(topic.question) is None:
        return None  # "Which cards cite sources?" asks which ones, by key: the citing lists
    more = {m for m in meta - _ASKING - list_words} if order is None and not citing else set()
    if more & META_WORDS:
        return None  # "Which cards does the author recommend?": more is asked than the cards
    if more:
        sections = sections if isinstance(sections, list) else list(sections)
        named = {s.parent for s in sections if s.parent} if parents is None else parents
        if more & {w for p in named for w in content_words(p)}:
            return None  # "Enumerate the subsections of Provenance.": a parent named by a word of the page's own name
    cards = in_page_order(s for s in sections if s.kind == "card")
    if order is not None:
        return _ordered(topic, titles, cards, order in _EARLIER, named_by)
    if citing:
        bare = [s for s in cards if not s.citations]
        n = len(bare)
        lead = cards_lead(n, "cite", "no source")
        return Listed("", bare, lead) if n else None
    lead = f"The page has {len(cards)} research area{'s' if len(cards) != 1 else ''}:"
    return Listed("", cards, lead) if cards else None


def cards_lead(n: int, verb: str, rest: str) -> str:
    """How a list of `n` cards is introduced, verb agreeing: "1 card cites no source:", "3 cards come before …:"."""
    return f"{n} card{'s' if n != 1 else ''} {verb}{'s' if n == 1 else ''} {rest}:"


def _order_word(question: str, sections: list[Section]) -> str | None:
    """The word of order the question asks with, outside the names of the page's sections and parents: "after" in
    "the sub-areas of Clinical Care After a Bite" is the parent's name."""
    asked = normalise(question)  # padded with spaces: whole words only
    if not _ORDER.search(asked):
        return None  # most questions have none: the names are read only when one is there
    for name in {n for s in sections for n in (s.title, s.parent) if n}:
        asked = asked.replace(normalise(name), " ")
    found = _ORDER.search(asked)
    return found.group(1).lower() if found else None


# "the red teaming page": words between "the" and a word for the page, which may be the page's own name.
_PAGE_NAMED = re.compile(r"\bthe\s+((?:[\w'’-]+\s+){1,4}?)(?:page|document)\b", re.I)


def _page_name_words(question: str, sections: list[Section]) -> set[str]:
    """The words of a "the X page" that name the page itself: X's words, when its overview or source record uses
    every one of them ("the red teaming page" on a page whose overview is about red teaming); else none."""
    named = {w for m in _PAGE_NAMED.finditer(question) for w in content_words(m.group(1))}
    own = {w for s in sections if s.kind in ("overview", "source") for w in content_words(s.text)}
    return named if named and named <= own else set()


def _named_by_words(words: set[str], sections: list[Section], sub_areas: bool) -> Section | str | None:
    """The one card whose title uses every one of `words` ("the hip protectors card" for "Hip protectors and padded
    clothing"), or with a word for sub-areas the name of the one parent whose name does ("the Incident Reporting
    sub-areas"); None when no one section's name holds them. Stemmed as the lexical index stems."""
    wanted = set(stem_words(sorted(words)))
    if sub_areas:
        found = {s.parent for s in sections if s.parent and wanted <= set(stem_words(content_words(s.parent)))}
    else:
        found = [s for s in sections if s.kind == "card" and wanted <= set(stem_words(content_words(s.title)))]
    return next(iter(found)) if len(found) == 1 else None


def _ordered(topic: Topic, titles: list, cards: list[Section], earlier: bool,
             named_by: Section | str | None = None) -> Listed | None:
    """The cards before (`earlier`) or after the one card the question names (by its title, or by the words of it:
    `named_by`), or the page's sub-areas as a block (every parent's, or the one parent's `named_by` names)."""
    if isinstance(named_by, str):
        anchor = next((i for i, s in enumerate(cards) if s.parent == named_by), None)
        what = f"the sub-areas of **{named_by}**"
    elif named_by is not None:
        anchor = next((i for i, s in enumerate(cards) if s.id == named_by.id), None)
        what = f"**{named_by.title}**"
    elif titles:
        named = set(titles[0].ids)
        anchor = next((i for i, s in enumerate(cards) if s.id in named), None)
        what = next((f"**{s.title}**" for s in cards if s.id in named), "")
    elif set(topic.meta) & SUB_AREAS:
        anchor = next((i for i, s in enumerate(cards) if s.parent), None)
        what = "the sub-areas"
    else:
        return None
    if anchor is None:
        return None
    listed = cards[:anchor] if earlier else [s for s in cards[anchor + 1:]
                                             if not (what.startswith("the sub-areas") and s.parent)]
    if not listed:
        return None
    n = len(listed)
    lead = cards_lead(n, "come", f"{'before' if earlier else 'after'} {what}")
    return Listed("", listed, lead)
