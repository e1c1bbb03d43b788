"""Places in a list as users say them: "the second one", "number two", "#2", "the latter", "the next one", "the other
one", "the middle one", and looser forms ("What does the second say?", "What does number 2 say?") when the
question asks nothing else.

Each place is read against the items the last answer listed or cited (app/followup.py picks them); a place past the
end of the list is returned too, so the caller can ask which is meant.
"""

from __future__ import annotations

import re

from consensus_chat.ingest.words import stopwords

from .types import Turn

_PLACES = {"first": 0, "second": 1, "third": 2, "fourth": 3, "fifth": 4, "sixth": 5, "seventh": 6, "eighth": 7,
           "ninth": 8, "tenth": 9, "1st": 0, "2nd": 1, "3rd": 2, "4th": 3, "5th": 4, "former": 0,
           "last": -1, "final": -1, "latter": -1, "middle": None}  # None: the middle of an odd-length list
THING = r"(?:one|section|area|card|item|entry|result|source|key|reference)"
# "the second one", "the last of those", "that first area", "the latter": an ordinal used as a noun phrase, so
# "the first step of an audit" is not one.
_ORDINAL = re.compile(r"\b(?:the|that|this)\s+(" + "|".join(_PLACES) + r")(?:\s+" + THING + r"s?\b|\s+of\s+(?:those|them|these)\b"
                      r"|(?=\s*(?:[?.!,;:]|$)))", re.I)
_NUMBERS = {w: i for i, w in enumerate("one two three four five six seven eight nine ten".split())}
# "number two", "#2", "no. 3", "item 4", "[2]": a place in the list, said as a number. The number must end the
# phrase, so "the number one risk" or "section 2.2" is not a pick.
_NUMBERED = re.compile(r"(?:\b(?:number|no\.|item|entry|result|source|option)\s*|#\s*|\[)(\d{1,2}|"
                       + "|".join(_NUMBERS) + r")\]?(?!\.?\d)(?=\s*(?:[?.!,;:]|$|then\b|please\b|instead\b|too\b))",
                       re.I)
# "the previous one", "the next section", "the one before": a step from the section the last answer was about.
_STEP = re.compile(r"\b(?:(?:the\s+)?(previous|preceding|next|following)\s+" + THING + r"\b|the\s+one\s+(before|after)"
                   r"\b(?:\s+(?:it|that|this))?)", re.I)
# "What does the second say?", "second one", "compare the first and the last": an ordinal in a looser form, a place
# only when the question says one strictly too or has no topic without it (see places_in).
# After a possessive ("Who is its first author?", "their second finding") an ordinal is part of what the question
# asks about, not a place in the last answer's list.
_POSSESSIVE = "".join(rf"(?<!\b{w}\s)" for w in "its their his her our my your whose".split())
_LOOSE = re.compile(_POSSESSIVE + r"\b(?:the\s+)?(" + "|".join(_PLACES) + r")(?:\s+" + THING + r"s?)?(?![\w-])", re.I)
# "What does number 2 say?": a number that does not end the phrase, a place only as _LOOSE is.
_NUMBER_LOOSE = re.compile(r"(?:\b(?:number|no\.|item|entry|result|source|option)\s*|#\s*)(\d{1,2}|"
                           + "|".join(_NUMBERS) + r")(?![\w.-])", re.I)
_OTHER = re.compile(r"\bthe\s+other\s+" + THING + r"\b|\bthe\s+other(?=\s*(?:[?.!,;:]|$))", re.I)

# What a section does in a question ("What does the second say?"): after a loose ordinal, any other word that is not
# a stopword is a noun it describes ("Who is the first author?"), so the ordinal is not a place in a list.
_SECTION_VERBS = frozenset("say says said mention mentions discuss discusses cover covers describe describes cite cites "
                           "argue argues state states show shows talk talks propose proposes recommend recommends "
                           "suggest suggests address addresses mean means".split())
_NEXT_WORD = re.compile(r"\s+([A-Za-z]+)")


def _loose(question: str) -> list:
    """The loose ordinals and numbers of a question, without those that describe a noun after them."""
    out = []
    for m in (m for p in (_LOOSE, _NUMBER_LOOSE) for m in p.finditer(question)):
        after = _NEXT_WORD.match(question, m.end())
        word = after.group(1).lower() if after else None
        if word is None or word in stopwords() or word in _SECTION_VERBS:
            out.append(m)
    return out


def only_a_place(question: str, analyse) -> bool:
    """Does the question say nothing but a place in a list ("the second one", "tell me more about #2")?"""
    strict = strict_places(question)
    spans = strict or [(m.start(), m.end()) for m in _loose(question)]
    return bool(spans) and nothing_else(question, spans, analyse)


def nothing_else(question: str, spans, analyse) -> bool:
    """Is there no topic left in the question once the words at `spans` are taken out?"""
    rest, at = [], 0
    for start, end in sorted(spans):
        rest.append(question[at:start])
        at = end
    rest = " ".join(rest + [question[at:]])
    if not any(ch.isalnum() for ch in rest):
        return True
    topic = analyse(rest)
    # "Who is listed first among its authors?": a place among the authors, not in a list of sections.
    return not topic.words and not topic.entities and not topic.asks_authorship


def strict_places(question: str) -> list[tuple[int, int]]:
    """The spans that say a place whatever else the question says ("the second one", "#2", "the next one")."""
    return [(m.start(), m.end()) for p in (_ORDINAL, _NUMBERED, _STEP, _OTHER) for m in p.finditer(question)]


def places_in(question: str, previous: Turn, items: list, analyse) -> list[tuple[int, int, int]]:
    """Each place in `items` the question points to, as (0-based place, start, end of the words that said it), in
    the question's order: "the second one", "#2", "the next one", "the other one"; -1 is the last. A looser form
    ("What does the second say?", "compare the first and the last") counts when the question also says a place in
    the strict form, or has no topic once its places are taken out."""
    found = {}
    for match in _ORDINAL.finditer(question):
        found[match.start()] = (_place(match.group(1), len(items)), match.start(), match.end())
    for match in _NUMBERED.finditer(question):
        found[match.start()] = (_number(match.group(1)), match.start(), match.end())
    ids = [x if isinstance(x, str) else x.id for x in items]
    # The section the last answer was about, when it was one of those items (it was picked from them).
    current = ids.index(previous.cited[0]) if previous.cited and previous.cited[0] in ids else None
    if current is not None:
        for match in _STEP.finditer(question):
            forward = (match.group(1) or match.group(2)).lower() in ("next", "following", "after")
            step = current + (1 if forward else -1)
            found[match.start()] = (step if step >= 0 else len(items), match.start(), match.end())  # -1: none
        if len(items) == 2:
            for match in _OTHER.finditer(question):
                found[match.start()] = (1 - current, match.start(), match.end())
    loose = [m for m in _loose(question)
             if not any(start <= m.start() < end or m.start() <= start < m.end() for _, start, end in found.values())]
    if loose and (found or nothing_else(question, [(m.start(), m.end()) for m in loose], analyse)):
        for match in loose:
            place = _number(match.group(1)) if match.re is _NUMBER_LOOSE else _place(match.group(1), len(items))
            found[match.start()] = (place, match.start(), match.end())
    return [found[k] for k in sorted(found)]


def _place(word: str, n: int) -> int:
    """The 0-based place an ordinal word says in a list of n; "the middle one" of an even list is past its end
    (so the caller asks which is meant)."""
    place = _PLACES[word.lower()]
    return place if place is not None else (n // 2 if n % 2 else n)


def _number(said: str) -> int:
    said = said.lower()
    return _NUMBERS[said] if said in _NUMBERS else int(said) - 1


# "both", "those two": how many the plural points back to; after a pick from a list it is the whole list again when
# it counts the list ("What code do those two areas share?").
_COUNTED = re.compile(r"\b(?:both|(?:those|these|the)\s+(" + "|".join(list(_NUMBERS)[1:]) + r"))\b", re.I)


def counted(question: str) -> int | None:
    """How many things a plural in the question counts ("both": 2, "those three": 3), or None."""
    match = _COUNTED.search(question)
    return None if match is None else _NUMBERS[(match.group(1) or "two").lower()] + 1  # _NUMBERS: places from 0


def nothing_to_count(previous, section_of) -> str:
    """The question back for a place when the last answer (a Turn) listed nothing: it names what that answer was
    about."""
    shown = [s.title for s in map(section_of, previous.cited[:1]) if s is not None]
    about = f"was about one section, \"{shown[0]}\", and " if shown else ""
    return f"The last answer {about}did not list several sections to count in. Which section do you mean?"
