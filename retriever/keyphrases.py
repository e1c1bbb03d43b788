"""Source keys of several words ("Di Lorenzo", "van der Berg", "De Vries-B") found in a question as people write them.

A key of one word is one question token and retriever/topic.py looks it up directly. A key of several words is
a run of tokens: this module finds such runs in any case, with a possessive on the last word ("Di Lorenzo's"),
and by the key's base without its suffix ("De Vries" for "De Vries-B"), the same variants one-word keys have. So is a
hyphenated key written with a space ("Bloch Wehba" for "Bloch-Wehba", "Wei B" for "Wei-B")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from consensus_chat.ingest.lookups import key_surname
from consensus_chat.ingest.words import tokens

# Between two words of a key: spaces, or the period of an abbreviated particle ("St. John").
_GAP = re.compile(r"\.?\s+")
_POSSESSIVE = ("'s", "’s")
# The one-letter words of English: a key's suffix written apart in lower case is the key ("where does smith b come
# up"), except these, which are words ("What did Smith a year ago find?").
_ONE_LETTER_WORDS = frozenset("ai")


@dataclass(frozen=True)
class KeyPhrase:
    """A key of several words found in a question: its text as written (without a possessive), and its sections."""

    text: str
    ids: tuple[str, ...]
    start: int
    end: int  # covers a possessive too, so "Di Lorenzo's" leaves no topic word behind
    full: bool  # the whole key with its suffix ("De Vries-B")
    possessive: bool
    capitalised: bool  # some word written with a capital, as a name is
    surname: str  # the key's last word without its suffix, lower case ("lorenzo")


def phrase_table(keys: dict[str, list[str]], key_bases: dict[str, list[str]]) -> dict[str, list]:
    """First word -> [(the key's words, section ids, whole key with a suffix, its surname)], longest first; only keys
    of two or more words, and hyphenated keys written with a space (a page without them gets an empty table)."""
    table: dict[str, list] = {}
    for phrase in dict.fromkeys([*keys, *key_bases]):
        words = tuple(m.group(0).lower() for m in tokens(phrase))
        full = "-" in words[-1]
        ids = keys.get(phrase) or (key_bases.get(phrase) if not full else None)
        if not ids:
            continue
        ids = tuple(dict.fromkeys(ids))
        if len(words) >= 2:
            table.setdefault(words[0], []).append((words, ids, full, words[-1].split("-")[0]))
        if phrase in keys and "-" in words[-1]:
            # People write a hyphenated key with a space ("Bloch Wehba" for "Bloch-Wehba", "Wei B" for "Wei-B"): the
            # whole key, word for word, is as distinctive as the key itself.
            spaced = (*words[:-1], *words[-1].split("-"))
            table.setdefault(spaced[0], []).append((spaced, ids, True, key_surname(phrase)))
    for entries in table.values():
        entries.sort(key=lambda e: -len(e[0]))
    return table


def find_key_phrases(question: str, toks: list[re.Match], table: dict[str, list]) -> list[KeyPhrase]:
    """The keys of several words the question writes, left to right, never overlapping."""
    found: list[KeyPhrase] = []
    if not table:
        return found
    i = 0
    while i < len(toks):
        match = _match_at(question, toks, i, table)
        if match is None:
            i += 1
            continue
        found.append(match[0])
        i += match[1]
    return found


def _match_at(question: str, toks: list[re.Match], i: int, table: dict[str, list]):
    for words, ids, full, surname in table.get(toks[i].group(0).lower(), ()):
        run = toks[i : i + len(words)]
        if len(run) < len(words):
            continue
        if any(not _GAP.fullmatch(question[a.end() : b.start()]) for a, b in zip(run, run[1:])):
            continue
        written = [m.group(0) for m in run]
        possessive = written[-1].endswith(_POSSESSIVE)
        if possessive:
            written[-1] = written[-1][:-2]
        if tuple(w.lower() for w in written) != words or (
                len(words[-1]) == 1 and not written[-1].isupper() and words[-1] in _ONE_LETTER_WORDS):
            continue  # "Smith a year ago": the article, not Smith-A; "smith b": typed in lower case, the key
        text_end = run[-1].end() - (2 if possessive else 0)
        text = re.sub(r"\s+", " ", question[run[0].start() : text_end])
        phrase = KeyPhrase(text, ids, run[0].start(), run[-1].end(), full, possessive,
                           any(w[:1].isupper() for w in written), surname)
        return phrase, len(words)
    return None
