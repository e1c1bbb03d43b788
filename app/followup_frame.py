"""A short follow-up that names a new topic ("and B?", "what about B?") asked as the previous question with B in its
topic's place ("What are the limits of A?" -> "What are the limits of B?"), when the search's evidence says so.

Two candidates, at most two searches:
- the frame: the previous question with the words that named its topic (its names, else the words of the section
  its answer cited, else its pronoun, else all its topic words) replaced by the fragment;
- the fragment alone.
The frame is taken when its search's first section is one the fragment names (a name of it, or a section that
uses every word of it that says something), or when the fragment's own search finds that same section; else the
fragment stands alone and is answered or refused as it is. A follow-up that is a question of its own ("and who
decides on the thresholds?") is no fragment: it keeps only its question (see `is_question`).
"""

from __future__ import annotations

import re

from consensus_chat.ingest.lexical import stem_words
from consensus_chat.ingest.words import content_words

from .followup_context import section_using
from .followup_evidence import first_in_scope, own_words

# A question begins with a wh-word or an auxiliary; a fragment ("of B", "near misses", "6.3") does not.
_ASKS = re.compile(r"^\W*(?:who|whom|whose|what|when|where|why|how|which|is|are|was|were|do|does|did|can|could|"
                   r"should|would|will|may|might|must|has|have|had)\b", re.I)

# The pronoun a previous question put its topic in ("Who studied this?", "What are its limitations?").
_PRONOUN = re.compile(r"\b(?:it|its|this|that|they|them|their|these|those)\b", re.I)

# Words that open a fragment ("and of B?", "for near misses?") and that its frame may already hold.
PREPOSITIONS = frozenset("of in on for about with to from at by into under".split())


def is_question(rest: str) -> bool:
    """Does the words after "and" ask a question of their own ("who decides on the thresholds")?"""
    return bool(_ASKS.match(rest))


def swapped(said: str, rest: str, before, new, shown, search, section_of) -> tuple[str, str | None]:
    """(the question to ask for the fragment `rest` after the previous question `said`, the one section to answer
    it from or None): the frame with the fragment in it, or the fragment alone. `before` is the previous
    question's topic, `shown` the section its answer cited (or None), `new` the fragment's topic; `search(q)` is
    the kept search and `section_of(id)` a section of the index.

    A frame chosen for a fragment of words is answered from the section found for them alone: the frame's own
    words ("uneven coverage") would otherwise quote the section the last answer was about."""
    fragment = f"{rest}?"
    named = _name_swapped(said, rest, search)
    if named is not None:
        return named, None  # "And Google?" after "How does OpenAI evaluate its models …?": judged as that was
    candidate = substitute(said, rest, before, shown.title if shown is not None else None)
    if candidate.rstrip(" ?") == rest:
        return _of_last(fragment, shown, search)
    framed = search(candidate)
    top = first_in_scope(framed)
    if top is None:
        return _of_last(fragment, shown, search)
    pin = None if new.entities else top.id  # a name's look-up answers every section it names ("and Leveson?")
    if _names(top, new, framed, section_of):
        return candidate, pin
    alone = first_in_scope(search(fragment))
    if alone is not None and alone.id == top.id:
        return candidate, pin  # both searches agree on the section: the frame only says what is asked of it
    return fragment, None


def _of_last(fragment: str, shown, search) -> tuple[str, str | None]:
    """The fragment alone, or asked of the last answer's section: when the document does not cover it alone and,
    joined with that section's title, it finds that section ("And the function?" after "What are the lifecycle stage
    and actor tags?": no frame takes the fragment, and the tags are what it asks about)."""
    alone = search(fragment) if shown is not None else None
    evidence = getattr(alone, "evidence", None)
    # Only words the page uses ("the function"): a name it never mentions ("And Brexit?") is a topic of its own.
    if evidence is None or evidence.names or not evidence.words or not all(w.covered for w in evidence.words):
        return fragment, None
    joined = f"{fragment} — {shown.title}"
    if first_in_scope(alone) is None and getattr(first_in_scope(search(joined)), "id", None) == shown.id:
        return joined, shown.id
    return fragment, None


_NAME_JOINERS = frozenset("and or the of for on".split())


def _name_swapped(said: str, rest: str, search) -> str | None:
    """The previous question with its name the document never mentions replaced by the fragment, when the fragment is
    only such a name too ("And Google?"); else None. Names are no topic words, so no other swap finds their place."""
    words = rest.split()
    if not words or not all(w[:1].isupper() or w.lower() in _NAME_JOINERS for w in words) or not words[-1][:1].isupper():
        return None  # a name is written with capitals ("Google", "Meta and Amazon", "the UK AI Security Institute")
    before = getattr(search(said), "evidence", None)
    at = said.find(before.names[0]) if before is not None and before.names else -1
    if at < 0:
        return None
    # The article before the old name was that name's ("the FAA"); the fragment brings its own ("the NTSB", "Boeing").
    lead = re.sub(r"\bthe\s+$", "", said[:at], flags=re.I)
    candidate = f"{lead}{rest}{said[at + len(before.names[0]):]}"
    # The swapped question's own search (the answer's, kept) must read the fragment as names the document never
    # mentions too: a word of the document ("And Traceback?") is a topic, for the other swaps.
    after = getattr(search(candidate), "evidence", None)
    named = {part for name in (after.names if after is not None else ()) for part in name.split()}
    return candidate if all(w in named for w in words if w.lower() not in _NAME_JOINERS) else None


def _names(top, new, result, section_of) -> bool:
    """Is the search's first section one the fragment names: one of its names' sections, or a section that uses
    every word of it that says something?"""
    if new.entities:
        return any(top.id in e.ids for e in new.entities)
    words = own_words(new, result) or tuple(new.words)
    section = section_of(top.id)
    return bool(words) and section is not None and section_using(words, [section]) is not None


def substitute(previous: str, fragment: str, topic, title: str | None = None) -> str:
    """The previous question with the words that named its topic replaced by `fragment`: its named entities, else
    its topic words that are words of `title` (the section its answer cited), else all its topic words."""
    spans = [(e.start, e.end) for e in topic.entities]
    lowered = previous.lower()
    pronoun = _PRONOUN.search(previous)
    if not spans and topic.words:
        titled = set(stem_words(list(content_words(title)))) if title else set()
        words = [w for w in topic.words if stem_words([w])[0] in titled]
        if not words and pronoun:
            # "Who studied this?" + "what about B?": the pronoun held the topic, not "studied"; "Why do they
            # matter?" + "and for B?": B alone takes the pronoun's place.
            lead, _, tail = fragment.partition(" ")
            fragment = tail if tail and lead.lower() in PREPOSITIONS else fragment
            return f"{previous[:pronoun.start()]}{fragment}{previous[pronoun.end():]}".strip()
        words = words or list(topic.words)
        for word in words:
            at = lowered.find(word)
            if at >= 0:
                spans.append((at, at + len(word)))
    if not spans:
        return f"{fragment}?"
    start, end = min(a for a, _ in spans), max(b for _, b in spans)
    end = max(end, _word_end(previous, end))
    words = fragment.split()
    lead = words[0].lower() if len(words) > 1 else ""
    inside = [m.end() for m in re.finditer(rf"\b{re.escape(lead)}\b", previous[start:end], re.I)] if lead in \
        PREPOSITIONS else []
    if inside:
        start += inside[-1] + 1  # "the GDP of Japan?" + "and of Germany?": the words after the same "of"
        fragment = fragment.split(None, 1)[1]
    before = previous[:start].split()
    if not inside and lead and (lead in PREPOSITIONS or before and lead == before[-1].lower()):
        fragment = fragment.split(None, 1)[1]  # "the code for X?" + "and for Y?": the frame has its own "for"
    return f"{previous[:start]}{fragment}{previous[end:]}".strip()


def _word_end(text: str, at: int) -> int:
    """The end of the word that position `at` is inside (so 'standardisation' is replaced whole)."""
    m = re.match(r"[\w'’-]*", text[at:])
    return at + (m.end() if m else 0)
