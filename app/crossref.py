"""Does a section point to another one? The corpus layout writes cross-references inside parentheses, "(see above)",
"(see below)", "(Smith, see also 2.1.1 above for an example)" (../shared/corpus/README.md; the parser skips them as
citations), so "Does it refer to other sections?" is answered from the card's own text: the sentences that hold one,
or that it holds none. A dense search for "refer to other sections" finds such a sentence only by luck.

Hand-written: a few English verbs for pointing elsewhere beside a word for another part of the page; nothing else may
be asked ("Do other sections refer to jailbreaks?" asks about jailbreaks, and keeps its search).
"""

from __future__ import annotations

import re

from consensus_chat.ingest.words import content_words

_POINTS = re.compile(r"\b(?:refer|refers|referring|point|points|pointing|link|links|linking|send|sends|direct|"
                     r"directs|lead|leads)\b", re.I)
_ELSEWHERE = re.compile(r"\b(?:other|another|different|elsewhere|further)\b", re.I)
_CROSS = re.compile(r"\bcross[- ]?referenc\w*|\bsee[- ]also\b", re.I)
# Words of such a question that ask nothing of their own (besides stopwords and meta words).
_OWN = frozenset("point points pointing link links linking send sends direct directs lead leads different elsewhere "
                 "further cross reference references referencing part parts".split())
SEE = re.compile(r"\([^()]*\bsee\b[^()]*\)", re.I)


def asks_cross_reference(question: str, title: str) -> bool:
    """Does the question ask whether the section titled `title` points to another part of the page (it may be joined
    to the question by a follow-up, " — <title>")?"""
    asked = question.removesuffix(f" — {title}")
    if not (_CROSS.search(asked) or _POINTS.search(asked) and _ELSEWHERE.search(asked)):
        return False
    rest = set(content_words(asked)) - _OWN - set(content_words(title))
    return not rest


def referring(sentences: list[str]) -> list[str]:
    """The sentences that hold a cross-reference, in the section's order."""
    return [s for s in sentences if SEE.search(s)]


def cross_reference_answer(heading: str, sentences: list[str]) -> tuple[str, list[str]]:
    """The answer's body and the sentences it quotes: those holding a cross-reference, or the section's first sentence
    beside the statement that it holds none."""
    quoted = referring(sentences)
    if quoted:
        lead = f"**{heading}** points to {'another part' if len(quoted) == 1 else 'other parts'} of the page [1]:"
        return lead + "\n\n" + "\n".join(f"- {s} [1]" for s in quoted), quoted
    first = sentences[:1]
    return f"**{heading}** does not refer to another section [1].", first
