"""The Section record that the parser produces and every other package reads."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from functools import cached_property, lru_cache

KINDS = ("card", "source", "overview", "tags")


def heading(parent: str | None, title: str) -> str:
    """Title with its parent, e.g. 'Incident Reporting › Near-miss reporting' (one rule for every record)."""
    return f"{parent} › {title}" if parent else title


# The overview's layout lines (corpus README, parts 2-3): "Also in <parent category>", and the bare "Reasoning"
# heading before the sentence on why the mitigation was classified where it is (a heading, never quoted alone).
ALSO_IN = "Also in "
REASONING = "Reasoning"
# A question for one of those lines, in the words the corpus README uses for them: the category the page is "also in"
# ("Which category is it also listed in?", "What is it also filed under?"), the category's parent ("What is the parent
# category?"), or the reasoning for the classification ("What reasoning is given for classifying it here?"). A card has
# one label and no parent category, so these ask for the overview; regexes, because the layout's words are few.
# "also" before a placing word, or before any participle and "in"/"under" ("also grouped under", "also sorted in").
_ALSO = re.compile(r"\balso\s+(?:been\s+|be\s+)?(?:in|(?:[a-z]+ed\s+)?(?:in|under)|listed|filed|part|under|placed|"
                   r"included|classified|categori[sz]ed|sits?|belongs?|appears?)\b", re.I)
# ... or a participle and "under" ending the question ("What is it also grouped under?", "… sorted under?").
_PLACED_UNDER = re.compile(r"\b[a-z]+ed\s+under\W*$", re.I)
# "What broader area is it also in?": a larger grouping named by a comparative, as "category" names it.
_CATEGORY = re.compile(rf"\bcategor(?:y|ies)\b|\bclassif|\bfiled\b|\blisted\b|{_PLACED_UNDER.pattern}|"
                       r"\b(?:broader|larger|wider|higher|bigger)\s+(?:area|group|grouping|field|domain|heading)\b",
                       re.I)
_OTHER = re.compile(r"\b(?:other|another|wider|broader)\s+categor(?:y|ies)\b(?!\s+of)[^?]*\b(?:listed|filed|placed|in|under|"
                    r"part)\b", re.I)  # "Which other category is red teaming listed under?"
_PARENT = re.compile(r"\bparent\s+categor(?:y|ies)\b|\bcategory(?:'s|’s)\s+parent\b", re.I)
# The reasoning line is also the page's own ("What is the page's reasoning?", "the rationale behind this page").
_REASONING = re.compile(r"\b(?:reasoning|justification|rationale)\b[^?]*?\b(?:classif\w*|categori[sz]\w*|class(?:ed|ing)|"
                        r"filed|placed|mitigation|practice)\b|\bwhy\b[^?]*?\b(?:classified|categori[sz]ed|classed|filed)\b"
                        r"\s+(?:here|there|where|as\s+it\s+is|this\s+way)"
                        r"|\b(?:page|document|overview)(?:'s|’s)\s+(?:[\w-]+\s+){0,2}(?:reasoning|justification|"
                        r"rationale)\b|\b(?:reasoning|justification|rationale)\s+(?:of|behind|for)\s+(?:the|this)\s+"
                        r"(?:page|document)\b"
                        # "Give me the Reasoning line", "the argument in the reasoning section", "Moving to the overview:
                        # what's the reasoning?": the line named as a part of the layout, or last beside the overview
                        # ("the chain-of-thought reasoning section" is a card's subject, not the line).
                        r"|\bthe\s+(?:reasoning|justification|rationale)\s+(?:line|section|paragraph|part)\b"
                        # "What's the reasoning on this page?", "What reasoning does the overview give?": the line asked
                        # for by a determiner or question word, of the page, document or overview, ending the question
                        # ("What reasoning does the page give for audits?" asks the reasoning for a topic).
                        r"|\b(?:the|its|what|which)\s+(?:reasoning|justification|rationale)\s+(?:(?:on|in|of|behind|"
                        r"for)\s+(?:the|this)\s+(?:page|document|overview)|(?:does|do|did)\s+(?:the|this)\s+(?:page|"
                        r"document|overview)\s+(?:give|offer|state|provide|have))\W*$"
                        r"|\b(?:overview|page|document)\b[^?]*\b(?:the|its)\s+(?:reasoning|justification|rationale)"
                        r"(?:\s+(?:given|offered|stated))?\W*$"
                        # "Why is it classed as an evaluation practice?", "Why was this mitigation placed where it is?": why
                        # the page's subject (it, this, the mitigation) sits where it does.
                        r"|\bwhy\s+(?:is|was|are|were|does|did|has|would|should)\s+(?:it|this|that|(?:the|this)\s+"
                        r"(?:mitigation|practice|page|document|approach)(?:\s+\w+)?)\s+(?:been\s+)?(?:classif\w*|"
                        r"categori[sz]\w*|class(?:ed|es)?|filed|placed|put|listed|grouped|counted)\b", re.I)
# "Why does the page favour X over Y?", "What reason does it give for preferring X to Y?": the pages' reasoning lines say
# why the research puts one approach first ("…, so the research favours X over Y").
_PREFERRED = re.compile(r"\b(?:why|reasons?)\b[^?]*?\b(?:page|document|research|report|agenda|review|guide|it)\s+"
                        r"(?:(?:\w+\s+){0,2}(?:favou?r|prefer|rank|prioriti[sz]|put|place)\w*|give\w*[^?]*?\b(?:favou?r|"
                        r"prefer|rank|prioriti[sz])\w*)\b[^?]*?\b(?:over|above|before|ahead\s+of|rather\s+than|instead\s+of|"
                        r"to)\b", re.I)


# "What broader category does this mitigation belong to?", "the parent bucket this technique gets filed under": where
# the page's subject, called "this mitigation" (practice, technique, approach), is placed. A page has one mitigation, and
# a card is no category's member, so it asks for the overview.
_SUBJECT = re.compile(r"\b(?:this|the\s+page(?:'s|’s))\s+(?:mitigation|practice|technique|approach|intervention)\b", re.I)
_PLACED = re.compile(r"\bcategor(?:y|ies)\b(?!\s+of)|\bgrouping\b|\bbucket\b|\bheading\b|\bfiled\b|\bclassif|\bplaced\b|"
                     r"\bbelongs?\b|\bsits?\s+(?:in|under|within)\b", re.I)


# The category itself as the subject ("What does that category itself include?", "What is the category about in
# general?", "the category description"): its description, the overview's line before `Also in`. "Which category …?"
# asks which one (the `Also in` line).
_CATEGORY_ITSELF = re.compile(r"\b(?:that|the|this|its)\s+(?:taxonomy\s+|broader\s+|wider\s+)?categor(?:y|ies)\s+"
                              r"(?:itself\s+|as\s+a\s+whole\s+)?(?:includes?|covers?|takes?\s+in|is\s+about|about|"
                              r"means?|contains?|describes?|spans?|itself|in\s+general)\b|\bcategory\s+description\b",
                              re.I)
# The mitigation's aim ("What does the mitigation aim to do?", "What's this mitigation supposed to achieve?"): the
# overview's line after `Also in`.
_MITIGATION_AIM = re.compile(r"\b(?:the|this|that|its)\s+mitigation\s+(?:\w+\s+){0,2}?(?:aims?|achieve|supposed|meant|"
                             r"intended|trying|tries)\b", re.I)


# The words such a question asks with: beside them, only words the page uses or everyday ones may stand ("What is the
# parent category of quantum computing?" asks about something else).
CATEGORY_WORDS = frozenset("category categories parent".split())  # the `Also in` line
CLASSIFIED_WORDS = frozenset("classified classification classify classifies categorised categorized categorise "
                             "categorize classed classing reasoning reason placed grouped "
                             "justification rationale".split())  # the `Reasoning` line
LAYOUT_LINE_WORDS = CATEGORY_WORDS | CLASSIFIED_WORDS | frozenset(  # and the inflections of placing and grouping
    "listed filed filing classifying mitigation wider broader placing placement grouping "
    "belong belongs sit sits bucket heading overall description descriptions".split())


@lru_cache(maxsize=4096)  # a search asks it of the same question three times (outline, decision, exact look-ups)
def asks_overview_line(question: str) -> bool:
    """Does the question ask for the overview's `Also in` line, its category's parent, its `Reasoning` line, or one of
    its own parts (`asks_overview_part`)?"""
    return bool(_ALSO.search(question) and _CATEGORY.search(question) or _PARENT.search(question)
                or _OTHER.search(question) or _REASONING.search(question) or asks_why_preferred(question)
                or _SUBJECT.search(question) and _PLACED.search(question) or asks_overview_part(question) is not None)


def asks_overview_part(question: str) -> str | None:
    """Which of the overview's own parts the question asks about: "category" (the category's description: "What does
    that category itself include?") or "mitigation" (the mitigation's aim: "What is the mitigation supposed to
    achieve?"), else None."""
    if _CATEGORY_ITSELF.search(question):
        return "category"
    return "mitigation" if _MITIGATION_AIM.search(question) else None


def overview_part(text: str, part: str) -> str | None:
    """The overview's line for `part` (see `asks_overview_part`): the line before `Also in`, or the one after it."""
    lines, at = _around_also_in(text)
    if at is None:
        return None
    i = at - 1 if part == "category" else at + 1
    return lines[i] if 0 <= i < len(lines) and lines[i] != REASONING else None


def placed_under(question: str) -> bool:
    """Does the question end by asking what its subject is placed under ("What is incident reporting filed under?")?
    Of the page's subject (the overview ranked first) it asks for the `Also in` line."""
    return _PLACED_UNDER.search(question) is not None


def asks_also_in(question: str) -> bool:
    """Does the question ask what else the subject is in ("What's it also in?")? Alone it can ask of anything ("Is it
    also in the report?"); after a turn answered from the overview it asks for the `Also in` line."""
    return _ALSO.search(question) is not None


def asks_why_preferred(question: str) -> bool:
    """Does the question ask why the page puts one approach before another (its `Reasoning` line)?"""
    return _PREFERRED.search(question) is not None


def _lines(text: str) -> list[str]:
    """The overview's non-empty lines, stripped: where its layout lines are read."""
    return [line.strip() for line in text.split("\n") if line.strip()]


def _around_also_in(text: str) -> tuple[list[str], int | None]:
    """The overview's non-empty lines and the index of its `Also in` line (None without one)."""
    lines = _lines(text)
    return lines, next((i for i, line in enumerate(lines) if line.startswith(ALSO_IN)), None)


def reasoning_line(text: str) -> str | None:
    """The overview's line after its bare "Reasoning" heading (None without one)."""
    lines = _lines(text)
    return next((after for line, after in zip(lines, lines[1:]) if line == REASONING), None)


def mitigation_text(text: str) -> str:
    """The overview's part about the mitigation itself: its description and reasoning, after the `Also in` line."""
    lines, after = _around_also_in(text)
    return " ".join(lines[after + 1:]) if after is not None else ""


def author_line(authors: tuple[str, ...], year: int | None) -> str:
    """A source record's author line as its text shows it (one rule for the parser and every reader)."""
    return "Authors: " + "; ".join(authors) + (f" ({year})" if year is not None else "")


@dataclass(frozen=True)
class Section:
    """One unit of the document: a research-area card, the source record, the overview or the tags."""

    id: str
    kind: str
    code: str | None
    label: str | None
    title: str
    parent: str | None
    text: str
    citations: tuple[str, ...] = ()
    source_file: str = ""
    line_start: int = 0
    line_end: int = 0
    authors: tuple[str, ...] = ()
    year: int | None = None
    tags: tuple[tuple[str, str], ...] = field(default=())

    @property
    def heading(self) -> str:
        """Title with its parent."""
        return heading(self.parent, self.title)

    @cached_property
    def content_hash(self) -> str:
        """SHA-256 of everything that goes into the index for this section (computed once)."""
        payload = json.dumps(self.to_dict(include_location=False), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def to_dict(self, include_location: bool = True) -> dict:
        """A JSON-ready dict (tuples become lists)."""
        d = asdict(self)
        d["citations"] = list(self.citations)
        d["authors"] = list(self.authors)
        d["tags"] = [list(t) for t in self.tags]
        if not include_location:
            for key in ("source_file", "line_start", "line_end"):
                d.pop(key)
        return d

    @property
    def author_line(self) -> str | None:
        """The line the parser writes into a source record's text: 'Authors: A; B (2025)' (None without authors)."""
        return author_line(self.authors, self.year) if self.authors else None

    @classmethod
    def from_dict(cls, d: dict) -> "Section":
        """Inverse of to_dict."""
        # Fields set on a bare instance, as the dataclass's __init__ would set them: its frozen __init__ goes
        # through object.__setattr__ once per field, a third of the time to make the 100,000 sections of a
        # large index at open. Nothing else happens in __init__ (no __post_init__, no defaults left unset).
        section = _new(cls)
        section.__dict__.update(
            id=d["id"],
            kind=d["kind"],
            code=d.get("code"),
            label=d.get("label"),
            title=d["title"],
            parent=d.get("parent"),
            text=d["text"],
            citations=tuple(d.get("citations") or ()),
            source_file=d.get("source_file", ""),
            line_start=int(d.get("line_start") or 0),
            line_end=int(d.get("line_end") or 0),
            authors=tuple(d.get("authors") or ()),
            year=d.get("year"),
            tags=tuple(tuple(t) for t in d.get("tags") or ()),
        )
        return section


def in_page_order(sections) -> list:
    """Sections (or records carrying one) in the order the page writes them: by file, then by first line."""
    return sorted(sections, key=lambda s: (s.source_file, s.line_start))


_new = object.__new__


def _section_field(name: str) -> property:
    return property(lambda self: getattr(self.section, name), doc=f"The section's {name}.")


class CarriesSection:
    """A record that holds its Section whole (`self.section`) and reads the section's fields through it.

    A Hit and a Citation are a section plus what a search or an answer found; their `code`, `title`, ... are the
    section's own, never copies that could drift.
    """

    __slots__ = ()
    section: Section

    id = _section_field("id")
    kind = _section_field("kind")
    code = _section_field("code")
    label = _section_field("label")
    title = _section_field("title")
    parent = _section_field("parent")
    text = _section_field("text")
    citations = _section_field("citations")
    source_file = _section_field("source_file")
    line_start = _section_field("line_start")
    line_end = _section_field("line_end")
    authors = _section_field("authors")
    year = _section_field("year")
    author_line = _section_field("author_line")

    @property
    def heading(self) -> str:
        """Title with its parent."""
        return self.section.heading
