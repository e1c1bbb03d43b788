"""Questions that ask for the sections under a section ("List the sections under <a parent title>", "What sits
under the Red Teaming heading?", "What is the Red Teaming area split into?"): the parent is read from the parser's
hierarchy (each card's `parent`), so the answer lists its children in document order. The parent is named by its name,
or by every word of it in any form and order ("the sub-areas of venue and route design" for "Designing Venues and
Routes"), or else by most of its words, at least two, when no other parent shares as many.

The parent must be a name the document itself uses as a parent, and nothing may be asked beyond it but a list of
sections: a question with a topic of its own, or one about citations, codes or authorship, is not a list request.
Codes and labels keep their own lists (app/extractive.py): they are the document's taxonomy, not its outline.
"Which top-level cards are on this page?" asks for the outline's other side: the cards under no parent (a parent it
names, "not counting the Red Teaming sub-areas", is the one set aside).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from consensus_chat.ingest.lexical import stem_words
from consensus_chat.ingest.lookups import normalise
from consensus_chat.ingest.section import (CATEGORY_WORDS, CLASSIFIED_WORDS, LAYOUT_LINE_WORDS, Section, asks_overview_line,
                                           in_page_order, mitigation_text)
from consensus_chat.ingest.words import SECTION_NOUNS, content_words
from .evidence import ZIPF_EVERYDAY, Evidence, zipf
from .listing import SUB_AREAS, Listed, cards_lead, layout_listed
from .topic import CITE_WORDS, Topic
from .wording import CODE_NOUNS, LABEL_NOUNS

# Generic English for asking for a list of parts, never words of one document.
LIST_WORDS = frozenset("list lists listing listed enumerate enumerated name names subsection subsections sub "
                       # what a parent holds: "Which sub-areas sit under X?", "What does X include?"
                       "include includes included including contain contains contained sit sits belong belongs "
                       # "What falls under X?", "Which are part of X?", "Which sit underneath X?"
                       "grouped fall falls come comes part parts topics underneath beneath "
                       # "What is X split into?", "What sits under the X heading?": how an outline is divided
                       "split divided subdivided heading headings umbrella".split())
SEVERAL = SECTION_NOUNS | SUB_AREAS
_NOT_A_LIST = CODE_NOUNS  # a code question keeps its own answer
# Of META_WORDS: the cards under no parent area ("Which top-level cards are there?"), listed as sub-areas are.
TOP_LEVEL = "top-level"


def children_asked(topic: Topic | None, sections: Iterable[Section], evidence: Evidence | None = None,
                   parents: Iterable[str] | None = None) -> Listed | None:
    """The parent a question asks the sections of, and its child sections in document order (or a list the page's
    layout answers by itself: retriever/listing.py); None when the question asks anything else. The `evidence` tells
    which words ask nothing the page could answer: words it never uses ("the flood defence umbrella") and everyday
    ones ("the Incident Reporting parent"). `parents`: the parents' names when the caller keeps them (a generation's
    `children`), so that a large index's sections are walked only once a parent is named (every search of a question
    with a list word asks)."""
    if topic is None or topic.entities and topic.asks_authorship:
        return None
    if not (SEVERAL & set(topic.meta) or LIST_WORDS & (set(topic.words) | set(topic.meta))):
        return None  # first: the cheapest test, and most questions have no list word
    if any(m in _NOT_A_LIST for m in topic.meta) or asks_overview_line(topic.question):
        return None  # "Which category is red teaming also part of?" asks for the overview's line, not a list
    if TOP_LEVEL in topic.meta:  # "Which top-level cards are on this page, not counting the Red Teaming sub-areas?"
        cards = [s for s in sections if s.kind == "card"]
        named = {s.parent for s in cards if s.parent}  # a parent it names is the one it sets aside
        if _asks_more(topic, evidence, {stem for p in named for stem in stem_words(content_words(p))}):
            return None
        return Listed("", in_page_order(s for s in cards if not s.parent))
    if (listed := layout_listed(topic, sections, LIST_WORDS, parents)):
        return listed  # "List all the cards on this page.", "Which cards come before the Tariffs card?"
    if asks_subjects_place(topic, sections):  # `sections`: a list or a dict's values, read again below
        return None  # "What broader area does red teaming belong to?" on a page about red teaming: the overview's line
    if parents is None:
        sections = list(sections)
        parents = {s.parent for s in sections if s.parent}
    asked = normalise(topic.question)
    named = [p for p in parents if _normal(p) in asked]  # padded with spaces: whole words only
    if not named:
        named = _parents_by_words(content_words(topic.question), parents)
        if named:
            # The words of a card's title the question quotes whole are that card's ("Tell me about Shaded rest areas
            # near the job." names no "Water, Rest and Shade"); looked for once a parent is named, as are sections.
            sections = sections if isinstance(sections, list) else list(sections)
            quoted = {n for s in sections if s.kind == "card" and (n := _normal(s.title)) in asked}
            if quoted:
                rest = functools.reduce(lambda text, title: text.replace(title, " "), quoted, asked)
                named = _parents_by_words(content_words(rest), parents)
    if not named:
        return None
    sections = sections if isinstance(sections, list) else list(sections)
    named = [p for p in named if not any(p != o and normalise(p) in normalise(o) for o in named)]  # the longest
    # "… the claims the page makes about AI-assisted red teaming": a longer title holds the parent's name.
    named = [p for p in named if not any(s.title != p and normalise(p) in normalise(s.title)
                                         and normalise(s.title) in asked for s in sections)]
    if len(named) != 1:
        return None
    parent = named[0]
    if (set(topic.meta) & (CITE_WORDS | LABEL_NOUNS)) - set(normalise(parent).split()):
        # A question about citations or labels ("Which cards carry the label <a parent's name>?" asks for the label's
        # cards, app/codes.lists_label); "sources" of "Lead Sources in the Home" is the parent's name.
        return None
    if _asks_more(topic, evidence, set(stem_words(content_words(parent)))):
        return None
    if _NOT_UNDER.search(topic.question):  # "Which cards are not grouped under the Red Teaming parent?"
        others = in_page_order(s for s in sections if s.kind == "card" and s.parent != parent and s.title != parent)
        return Listed("", others, cards_lead(len(others), "sit", f"outside **{parent}**")) if others else None
    children = in_page_order(s for s in sections if s.parent == parent)
    return Listed(parent, children)


def _parents_by_words(words: list[str], parents) -> list[str]:
    """The parents a question names by their words: every word of a parent's name in any form or order ("the
    sub-areas of venue and route design" for "Designing Venues and Routes"; stemmed as the lexical index stems), or
    else most of them, at least two, and more than of any other parent's ("the hot and cold water heading" for
    "Managing Hot and Cold Water Systems")."""
    said, starts = set(stem_words(words)), {w[:4] for w in words}
    named = [p for p in parents if (forms := _forms(p))[0] and forms[0] <= starts and forms[1] <= said]
    if named:
        return named
    shared = {p: len(forms[1] & said) for p in parents if len((forms := _forms(p))[0] & starts) >= 2}
    shared = {p: n for p, n in shared.items() if n >= 2 and 2 * n >= len(_forms(p)[2])}
    best = max(shared.values(), default=0)
    return [p for p, n in shared.items() if n == best]


# A parent set aside: "not (grouped) under", "aren't in", "outside", "other than". Generic English, never a page's words.
_NOT_UNDER = re.compile(r"(?:\bnot|n['’]t)\s+(?:\w+\s+){0,2}?(?:under|in|within|inside|among|part\s+of)\b|"
                        r"\b(?:outside|except|besides|other\s+than|apart\s+from)\b", re.I)


def _asks_more(topic: Topic, evidence: Evidence | None, own: set[str]) -> bool:
    """Does the question ask more than a list? The words left once the parent's name (stems `own`), the list words and
    the words that name no topic of the page (unused by it, or everyday English) are set aside."""
    idle = {w.word for w in (evidence.words if evidence else ()) if not w.covered or w.zipf >= ZIPF_EVERYDAY}
    return bool({w for w in set(topic.words) - LIST_WORDS - idle if stem_words([w])[0] not in own})


def outline_lead(parent: str, children: list, lead: str = "") -> str:
    """How a list of sections under a parent is introduced; the parent "" is the page's top level (`TOP_LEVEL`), or
    another list of the page's layout, which says itself how it is introduced (`lead`, retriever/listing.py)."""
    if lead:
        return lead
    n = f"{len(children)} section{'s' if len(children) != 1 else ''}"
    return f"**{parent}** has {n} under it:" if parent else f"The page has {n} at its top level, under no parent:"


def outline_of(topic: Topic, sections: Iterable[Section], evidence: Evidence | None = None,
               parents: Iterable[str] | None = None) -> tuple[str, tuple[str, ...]] | None:
    """`children_asked` as the evidence record keeps it (`Evidence.outline`): the parent and its sections' ids."""
    found = children_asked(topic, sections, evidence, parents)
    return (found[0], tuple(s.id for s in found[1])) if found else None


@functools.lru_cache(maxsize=65536)
def _normal(parent: str) -> str:
    """`normalise` of a parent's name, kept: every question with a list word compares it."""
    return normalise(parent)


@functools.lru_cache(maxsize=65536)
def _forms(parent: str) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """A parent's content words' first four letters, their stems and the words themselves, kept: a question names a
    parent by its words in any form, and the first letters are compared before the stems."""
    words = content_words(parent)
    return frozenset(w[:4] for w in words), frozenset(stem_words(words)), frozenset(words)


# Words that ask where something sits in the page's layout: its `Also in` category, or how it is classed (the
# `Reasoning` line). Not "reasoning" alone (a card's subject: "a model's stated reasoning"), nor the words that ask for
# a parent's sub-areas ("Which areas are grouped under the Red Teaming parent?"). Generic English, no page's words.
PLACING_WORDS = (CATEGORY_WORDS | CLASSIFIED_WORDS | frozenset(
    "filed belong belongs broad broader wider grouping bucket".split())) - frozenset("reasoning reason grouped parent".split())


def asks_subjects_place(topic: Topic, sections) -> bool:
    """Does the question ask where the page's own subject is placed ("What broad category is interpretability placed
    in?", "Why is red teaming classed the way it is?"): the overview's layout lines? It asks with a placing word, not for
    several sections, and names the subject by the words of the overview's description (`mitigation_text`): its rarest
    topic word is one of them, and so is every other one rarer than everyday English ("Which category does mechanistic
    interpretability belong to?" names a card). The words of asking (`LAYOUT_LINE_WORDS`) say how, not what.
    `sections`: the index's sections, or a function that returns them (called only when the words leave it open)."""
    if topic.entities or set(topic.meta) & SEVERAL or not (set(topic.meta) | set(topic.words)) & PLACING_WORDS:
        return False
    rest = [w for w in topic.words if w not in LAYOUT_LINE_WORDS and w not in PLACING_WORDS]
    if rest and callable(sections):
        sections = sections()
    overview = next((s for s in sections if s.kind == "overview"), None) if rest else None
    if overview is None:
        return False
    own = set(content_words(mitigation_text(overview.text)))
    return min(rest, key=zipf) in own and all(w in own for w in rest if zipf(w) < ZIPF_EVERYDAY)
