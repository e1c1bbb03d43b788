"""Small text helpers shared by the parser, the chunker and the answer composer."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Abbreviations that end with a period but do not end a sentence. A regex splitter is
# used instead of nltk/punkt because punkt needs a data download at run time, which
# these machines cannot do, and the document's prose is regular enough for this.
_ABBREVIATIONS = ("e.g.", "i.e.", "cf.", "etc.", "et al.", "vs.", "Dr.", "Mr.", "Ms.", "No.", "Fig.", "St.")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"”’)]*\s+(?=[\"“‘(]?[A-Z0-9])")


def fold(text: str) -> str:
    """`text` with Latin diacritics dropped, one character for one ("Nuñez" -> "Nunez", "Fernández" ->
    "Fernandez"), so that offsets into it are offsets into `text`.

    Every matching split (words, names, source keys, titles) reads text through it, on the document's side and
    the question's alike: a key written "Nuñez" is found as "Nuñez" or "Nunez", and is one word, not "nu" and
    "ez". A character that decomposes into more than one base letter ("ﬁ") or none stays as it is.
    """
    if text.isascii():
        return text
    return "".join(_fold_char(c) for c in text)


# Latin letters Unicode gives no decomposition (a stroke or bar is part of the letter, not a combining mark), as
# people write them without it ("Sorensen" for "Sørensen", "Lodz" for "Łódź"); one letter for one, as `fold` keeps.
_STROKED = dict(zip("øØłŁđĐħĦŧŦı", "oOlLdDhHtTi"))


# Latin letters plain spelling writes as two ("Weiss" for "Weiß", "Saether" for "Sæther", "Thorsson" for "Þórsson").
# `fold` keeps one character for one (offsets), so it leaves them; `spell` writes them out where no offsets are kept:
# a question, the lexical words, the key, author and word tables, on both sides alike. A table of eight letters, not
# a transliteration library: those give every script a spelling, and only these Latin letters have a plain one.
_SPELLED = str.maketrans({"ß": "ss", "ẞ": "SS", "æ": "ae", "Æ": "Ae", "œ": "oe", "Œ": "Oe", "þ": "th", "Þ": "Th"})


def spell(text: str) -> str:
    """`text` with the Latin letters plain spelling writes as two written so ("Weiß" -> "Weiss", "Sæther" -> "Saether")."""
    return text if text.isascii() else text.translate(_SPELLED)


def plain(text: str) -> str:
    """`text` as matched where no offsets are kept: spelled out (`spell`), then folded (`fold`): "Weiß" -> "Weiss",
    "Nuñez" -> "Nunez"."""
    return fold(spell(text))


def _fold_char(char: str) -> str:
    if char.isascii():
        return char
    char = _STROKED.get(char, char)
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    return base if len(base) == 1 else char


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences, keeping parentheses and abbreviations intact."""
    sentences: list[str] = []
    for paragraph in text.split("\n"):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        start = 0
        for match in _SENTENCE_END.finditer(paragraph):
            candidate = paragraph[start : match.start()].strip()
            if any(candidate.endswith(a) for a in _ABBREVIATIONS) or _inside_parentheses(candidate):
                continue
            # A single initial such as "D." in an author list is not a sentence end.
            if re.search(r"(?:^|[\s.-])[A-Z]\.$", candidate):
                continue
            sentences.append(candidate)
            start = match.end()
        tail = paragraph[start:].strip()
        if tail:
            sentences.append(tail)
    return sentences


@lru_cache(maxsize=1024)  # a search asks it of its question in several places (the evidence, the decision, ranking)
def asked_sentence(text: str, *, typed: bool = False) -> str | None:
    """The one question of a question written with context around it ("We run a bank. Our testers only know web apps.
    What does the page say about bringing in external testers?"; a clause after a semicolon counts as a sentence);
    None for a question of one sentence, or of several questions, or with no question mark. With `typed`, also as it is
    typed in a hurry: a clause after a comma before a question word, and without a question mark the one clause that
    opens with a question word ("i found a flaw last week, how should i report it"); for judging the question by that
    clause, not for ranking by it (the context's words name the card: "… jailbroken with strange prompts, what does
    the page say about testing for that")."""
    # A semicolon joins two sentences into one ("Apple Watches detect falls; what does the page say about fall
    # detectors?"): each clause counts as one, unless it is inside parentheses.
    breaks = _TYPED_BREAK if typed else _CLAUSE_BREAK
    sentences = [clause for s in split_sentences(text) for clause in _clauses(s, breaks)]
    asked = [s for s in sentences if s.rstrip("\"”’)").endswith("?")]
    if typed and not asked and "?" not in text:
        # "i found a flaw in a chatbot last week, how should i report it": typed without a question mark, the clause
        # that opens with a question word is the question.
        asked = [s for s in sentences if _QUESTION_WORD.match(s)]
    return asked[0] if len(sentences) >= 2 and len(asked) == 1 else None


# A semicolon, or a colon or a dash before a question word ("Answer in JSON: what does the page say about …?",
# "Quorvix runs bounties - what does the page say about …?"), ends a clause; typed in a hurry, a comma before one too
# ("i found a flaw last week, how should i report it?").
_QUESTION_WORDS = (r"(?:what|which|who|whom|whose|when|where|why|how|is|are|was|were|does|do|did|can|could|would|"
                   r"should|will|has|have)\b")
_CLAUSE_BREAK = re.compile(rf";\s+|(?::|\s[-–—])\s+(?={_QUESTION_WORDS})", re.I)
_TYPED_BREAK = re.compile(rf";\s+|(?::|,|\s[-–—])\s+(?={_QUESTION_WORDS})", re.I)
_QUESTION_WORD = re.compile(rf"\W*{_QUESTION_WORDS}", re.I)
# The user speaking of themselves ("i'm", "we've" match at "i", "we"). Hand-written: English's first-person pronouns.
FIRST_PERSON = re.compile(r"\b(?:i|me|my|mine|we|us|our|ours)\b", re.I)


def _clauses(sentence: str, breaks: re.Pattern = _CLAUSE_BREAK) -> list[str]:
    """A sentence split at each semicolon (or colon before a question word) outside parentheses; a comma ends a clause
    only after the user's own story, in the first person ("we run a bank, what …"), not after a phrase that frames the
    question ("According to the paper, which …", "If a lab wanted to …, how …")."""
    out, start = [], 0
    for match in re.finditer(breaks, sentence):
        if match.group(0).startswith(",") and not FIRST_PERSON.search(sentence, start, match.start()):
            continue
        if not _inside_parentheses(sentence[start:match.start()]):
            out.append(sentence[start:match.start()].strip())
            start = match.end()
    return [c for c in (*out, sentence[start:].strip()) if c]


def _inside_parentheses(text: str) -> bool:
    return text.count("(") > text.count(")")


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def has_control_characters(text: str) -> bool:
    """Whether `clean_text` would remove control characters from `text`."""
    return _CONTROL.search(text) is not None


def clean_text(text: str) -> str:
    """Strip control characters (keeping newlines and tabs) and normalise Unicode to NFC."""
    return unicodedata.normalize("NFC", _CONTROL.sub("", text))


def slugify(text: str) -> str:
    """Lower-case ASCII slug: 'Risk Assessment' -> 'risk-assessment'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug or "section"


_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def words(text: str) -> list[str]:
    """Lower-case word tokens, used for lexical overlap."""
    return _WORD.findall(plain(text).lower())
