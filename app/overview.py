"""Which sentence of the page's overview answers a question about the page itself.

The overview is the layout's first part (corpus README, parts 1-3): a page notice, the description of the taxonomy
category the mitigation sits in, the line `Also in <parent>`, the mitigation's description, then `Reasoning` and one
sentence on why it was classified there. A question for the category ("Which category is this page also in?") is
answered by the `Also in` line, one for the reasoning ("Why was it classified there?") by the line after
`Reasoning`; any other by the sentence closest to the question.
"""

from __future__ import annotations

import re

from consensus_chat.ingest.section import (ALSO_IN, CATEGORY_WORDS, CLASSIFIED_WORDS, asks_also_in,
                                            asks_overview_line, asks_overview_part, asks_why_preferred, author_line,
                                            mitigation_text, overview_part, placed_under, reasoning_line)
from consensus_chat.ingest.words import content_words
from consensus_chat.retriever.evidence import ZIPF_COMMON, zipf
from consensus_chat.retriever.outline import asks_subjects_place

WHY_WORDS = frozenset("reasoning reason justification rationale".split())
# A question that opens with "why", after a joining word at most ("And why was it put where it is?").
_WHY = re.compile(r"^\W*(?:(?:and|so|but|then|ok|okay)\W+)?why\b", re.I)


def asks_layout(topic, top=None, all_sections=None) -> bool:
    """The question asks for the page's category or the reasoning for it: about the overview the search ranked first,
    or about the mitigation itself, named by the words of its description ("Which category is red teaming also part
    of?" on a page whose mitigation is "Red teaming exercises stress-test …": the cards use those words too, and the
    search ranks one of them first). Without `top`, whether the question asks for them at all."""
    if asks_subjects_place(topic, all_sections or ()):
        return True  # "What broad category is interpretability placed in?" (retriever/outline.py)
    if not (set(topic.meta) | set(topic.words)) & (CATEGORY_WORDS | CLASSIFIED_WORDS) and not (
            asks_overview_line(topic.question) and not topic.entities):  # "What is it also filed under?"
        return False
    if top is None or top.kind == "overview":
        return True
    if topic.entities:
        return False  # "What code does the Health Effects category itself have?", "… classified as Training Data?"
    overview = next((s for s in (all_sections() if all_sections else ()) if s.kind == "overview"), None)
    rare = {w for w in topic.words if zipf(w) < ZIPF_COMMON} - CATEGORY_WORDS - CLASSIFIED_WORDS
    return overview is not None and rare <= set(content_words(mitigation_text(overview.text)))


def _first_sentence(line: str | None, sentences: list[str]) -> str | None:
    """The first of `sentences` that `line` opens with: the line's first sentence, as quoted (None without a line)."""
    return next((s for s in sentences if line and line.startswith(s)), None)


def overview_sentence(question: str, topic, text: str, sentences: list[str], scores) -> str:
    """The overview sentence that answers `question` (`text`: the overview's; `scores`: each sentence's closeness)."""
    asked = set(topic.meta) | set(topic.words)
    also = next((s for s in sentences if s.startswith(ALSO_IN)), None)
    own, _, before = question.partition(" — ")  # a follow-up joined with the question it continues (app/followup.py)
    if before and also is not None and asks_also_in(own) and not _WHY.match(own):
        return also  # "What's it also in? — Why is red teaming classed as it is?": the follow-up's own words say which
    part = asks_overview_part(own)
    chosen = _first_sentence(overview_part(text, part) if part else None, sentences)
    if chosen:
        return chosen  # "What does that category itself include?", "What is the mitigation supposed to achieve?"
    first = _first_sentence(reasoning_line(text), sentences)
    # Why it is where it is: asked with a word for classing or a category, or after a question for an overview line
    # ("Why? — What is this mitigation also filed under?", where "filed" alone says nothing of the reasoning).
    placed = asked & (CLASSIFIED_WORDS | CATEGORY_WORDS) or asks_overview_line(question) or placed_under(question)
    if first and placed and (_WHY.match(question) or asked & WHY_WORDS):
        return first  # "Why was this classified as it is?", "Why? — What category is it also filed under?"
    if first and asks_why_preferred(question):
        return first  # "Why does the page favour X over Y?"
    if also is not None and (asked & CATEGORY_WORDS or asks_overview_line(question) or placed_under(own)):
        return also  # "Which category is this page also in?", "What is the parent category?", "… filed under?"
    return sentences[int(scores.argmax())]


def named_first(about: list, sections: list, topic) -> list:
    """The overview and the source record, the record first when the question names the report by the words of its
    title that no card uses ("What is the <words of its title> report about?": the record's abstract says)."""
    asked = set(topic.meta) if topic is not None else set()
    titled = {s.id: asked & set(content_words(s.title)) for s in about if s.kind == "source"}
    if not any(titled.values()):
        return about  # the usual case ("What is this page about?"): no card's words need reading
    cards = {w for s in sections if s.kind == "card" for w in content_words(f"{s.title} {s.text}")}
    named = [s for s in about if titled.get(s.id, set()) - cards]
    return named + [s for s in about if s not in named]


# "Where?", "And where?", "Where does the report look?": a question for places.
_WHERE = re.compile(r"^\W*(?:and\s+)?where\b", re.I)
_PARENTHESES = re.compile(r"\([^()]*\)")
_INNER_CAPITAL = re.compile(r"(?<=[\s,;])[A-Z][a-z]+")


def place_sentence(question: str, sentences: list[str], authors=()) -> str | None:
    """For a question asking where, of the source record ("Where?" after who wrote it and when): its sentence naming
    the most places, read as the most capitalised words inside it (countries, regions), not counting its author line
    (`ingest/section.author_line`, the parser's own form of it) or what is in parentheses; None for another question,
    or when no sentence names two. Hand-written: no named-entity tagger is in the stack, and a place is a proper noun
    in any layout."""
    if not _WHERE.match(question):
        return None
    authored = author_line(tuple(authors), None) if authors else None
    counts = [0 if authored and s.startswith(authored) else len(_INNER_CAPITAL.findall(_PARENTHESES.sub(" ", s)))
              for s in sentences]
    best = max(range(len(sentences)), key=counts.__getitem__, default=None)
    return sentences[best] if best is not None and counts[best] >= 2 else None
