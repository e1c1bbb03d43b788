"""What follows a refusal: the refused turn cited and listed nothing, so a follow-up either stands alone (a new topic,
answered or refused by its own search, exactly as if it were asked first) or leans on what was refused (refused
again, with a question back). Never a "nearest section" of the refused question, and never its frame.

The previous turn's state decides that there is nothing to continue; the question's own evidence decides whether it
leans:
- a pronoun with nothing of the question before it to stand for ("When was it published?", "How does it handle
  B?") leans; a possessive after a word of the question ("how might a model hide its state?") is that word's,
  "there" after "is" / "are" points at nothing, and a question that asks what the document says ("Does it say
  anything about B?") stands alone;
- a topic of nothing but definite references ("What are the penalties?") leans;
- after "and" / "what about": a pronoun or only definite references lean ("and when is it due?"); a name the index
  knows, or a word about the document beside topic words, stands alone ("and <a source key>?", "and what does the
  report say about B?"); a fragment led by a preposition ("And in France?", "and for small firms?") is the refused
  question with a new detail; another fragment stands alone when it has words that say something and that the first
  section of its own search uses ("what about B?"); a question must name that section in its title ("and how is B
  done?", a section titled *B*);
- a question with no topic of its own ("Why?", "Who is cited?", "Tell me more") leans, unless it names the document.
Words that most of the document's sections use count here: after a refusal they are the document's subject, not a
sign of continuing a section ("how is B measured?" on a page whose sections all speak of B).
"""

from __future__ import annotations

import re

from consensus_chat.ingest.words import AUTHORSHIP_WORDS, stopwords
from consensus_chat.retriever.evidence import ZIPF_COMMON, zipf

from .followup_context import ANAPHORA, bare_predicate, definite_only, section_using, title_uses
from .followup_evidence import DOCUMENT_KINDS, covered_words, first_in_scope, own_words
from .followup_frame import PREPOSITIONS, is_question

_POSSESSIVES = frozenset("its their his her".split())
_DEMONSTRATIVES = frozenset("that this these those".split())
_PAST = re.compile(r"^\W*(?:(?:who|what|when|where|why|how|which)(?:\s+\w+)?\s+)?(?:was|were|did|had)\b", re.I)
_ELLIPTICAL = re.compile(r"^\W*(?:who|when|where)\b", re.I)  # asks who/when/where of something said before
_NEXT_WORD = re.compile(r"\s+([A-Za-z][\w'’-]*)")
# "there" after a form of "be" ("Is there a limit on B?") says that something exists; it points at nothing.
_BE = re.compile(r"\b(?:is|are|was|were)\s+$", re.I)
# "it" before or after "is" and a word, then "to" / "that" ("Why is it hard to study B?", "Is it true that B?", "it is
# possible to B"): the pronoun stands for the clause that follows, not for anything said before (a participle, "Is it
# related to B?", still leans).
_EXPLETIVE_AFTER = re.compile(r"^\s+(?:(?:is|was|'s|’s|seems|seemed)\s+)?(?:\w+ly\s+)?(?!\w+ed\b)\w+\s+(?:to|that)\b", re.I)
_EXPLETIVE_BEFORE = re.compile(r"\b(?:is|was|isn't|wasn't)\s+$", re.I)
_EXPLETIVE_STATED = re.compile(r"^\s+(?:is|was|'s|’s|seems|seemed)\b", re.I)


def after_refusal(question: str, rest: str | None, *, analyse, search, section_of, names_document) -> str | None:
    """The question to ask on its own after a refused turn, or None to refuse it again.

    `rest` is what follows a leading "and" / "what about" (None when the question has none); `analyse`, `search`,
    `section_of` and `names_document(meta_word)` are the resolver's (app/followup.py). A question led by a preposition
    ("In how many weeks?", "For how long?") hangs on the one before as a question after "and" does: it is read so;
    not one of several clauses ("About red teaming: what do jailbreaks circumvent?" says what it is about first)."""
    words = question.split(None, 1)
    if rest is None and words and words[0].lower() in PREPOSITIONS and not re.search(r"[:;,\u2014]", question):
        rest = question.strip().rstrip("?.!").strip()
    if rest is not None:
        if not rest:
            return None
        asked = f"{rest}?"
        topic = analyse(asked)
        return asked if _names_topic(asked, topic, search(asked), section_of, names_document,
                                     fragment=not is_question(rest)) else None
    topic = analyse(question)
    return question if _stands_alone(question, topic, search(question), names_document) else None


def leaning_pronoun(question: str, topic) -> bool:
    """A pronoun that can only stand for something said before: any but a possessive after a word of the question's
    own topic ("how might a model hide its state?": the model's). "Which parts does it handle?" leans."""
    lowered = question.lower()
    starts = [m.start() for w in topic.words for m in [re.search(rf"\b{re.escape(w)}", lowered)] if m]
    starts += [e.start for e in topic.entities]
    first = min(starts, default=len(question))
    return any((m.group(1).lower() not in _POSSESSIVES or m.start() < first) and not (
        m.group(1).lower() == "there" and _BE.search(question[:m.start()])) and not _introduces(question, m)
        and not _expletive(question, m) for m in ANAPHORA.finditer(question))


def _expletive(question: str, match) -> bool:
    """"it" in "Why is it hard to B?", "It is possible that B": a dummy subject for the clause after it."""
    if match.group(1).lower() != "it":
        return False
    after = question[match.end():]
    inverted = _EXPLETIVE_BEFORE.search(question[:match.start()]) is not None  # "Why is it hard to B?"
    stated = _EXPLETIVE_STATED.match(after) is not None  # "It is possible to B"
    return _EXPLETIVE_AFTER.match(after) is not None and (inverted or stated)


def _introduces(question: str, match) -> bool:
    """"that" / "this" / "these" / "those" before a word that says something: a clause ("check that unlearning
    worked") or a definite phrase ("that approach", which `definite_only` judges), not a pronoun standing alone."""
    if match.group(1).lower() not in _DEMONSTRATIVES:
        return False
    after = _NEXT_WORD.match(question, match.end())
    return after is not None and after.group(1).lower() not in stopwords()


def _stands_alone(question: str, topic, result, names_document) -> bool:
    """A question (no "and" before it) after a refusal: does it bring a topic of its own?"""
    words = own_words(topic, result, keep_ubiquitous=True)  # words most sections use are the document's subject
    if leaning_pronoun(_unnamed(question, topic, names_document), topic):
        # "What does it say about B?", "Is there anything on B?": the document is asked what it says. Asking who
        # wrote "it" or when "it" appeared is about what was refused.
        return bool(words or topic.entities) and any(m not in AUTHORSHIP_WORDS for m in topic.meta)
    if topic.entities:
        return True
    if _PAST.match(question) and sum(zipf(w) < ZIPF_COMMON for w in topic.words) <= 2 and not topic.meta:
        # "Were there whistleblowers?", "What was the root cause?", "How long did the disruption last?" after a
        # question about an event: a short question in the past tense (short in the words that say something: "long"
        # and "last" are everyday English) asks about that event ("Did banning growth promoters hurt farm
        # production?" says enough of its own to be a question of the page's).
        return False
    if bare_predicate(question) and not topic.meta and not topic.entities:
        return False  # "How many died?", "What happened?": one verb and no object, about the event refused
    if _ELLIPTICAL.match(question) and len(topic.words) == 1 and not topic.meta:
        # "Who investigated?", "Who was responsible?": an agent, a time or a place of an event the question does not
        # name, with one word beside the wh-word: the event is the refused one.
        return False
    if definite_only(question, topic):
        return bool(topic.meta) and bool(words)  # "What does the report say about the risks?"
    top = first_in_scope(result)
    if top is not None and top.kind in DOCUMENT_KINDS and not topic.meta:
        # "How many people lost power?" after a blackout: only the source record's abstract or the overview uses its
        # words ("nuclear power"), and it asks nothing about the document: it goes on with what was refused.
        return False
    return bool(words) or any(names_document(m) for m in topic.meta)


def _unnamed(question: str, topic, names_document) -> str:
    """The question without "this guide", "that report": such a pronoun points at the document, not at what was
    refused."""
    named = [re.escape(m) for m in topic.meta if names_document(m)]
    return re.sub(rf"\b(?:this|that|these|those)\s+(?:{'|'.join(named)})\b", " ", question, flags=re.I) \
        if named else question


def _names_topic(asked: str, topic, result, section_of, names_document, *, fragment: bool) -> bool:
    """A follow-up after "and" / "what about": does it name a topic of the document on its own?"""
    if not fragment and not topic.words and any(names_document(m) for m in topic.meta) \
            and not ANAPHORA.search(_unnamed(asked, topic, names_document)):
        return True  # "and who wrote this report?": a question about the document, as it is without the "and"
    if ANAPHORA.search(asked) or definite_only(asked, topic):
        return False  # "and when is it due?", "and the risks?": what was refused
    first = asked.split(None, 1)[0].lower() if asked.split() else ""
    if topic.entities or topic.meta and any(zipf(w) < ZIPF_COMMON for w in topic.words):
        # "and <a source key>?", "what about <a code>?", "and what does the report say about B?"; "what about last
        # year?" has only everyday words beside "year": what was refused, a year on.
        return True
    if fragment and first in PREPOSITIONS:
        return False  # "And in France?", "what about for small firms?": the refused question, with a new detail
    top = first_in_scope(result)
    words = covered_words(own_words(topic, result, keep_ubiquitous=True), result)  # "B though?": "though" names nothing
    if top is None or not words:
        return False
    if not fragment:
        return title_uses(words, top.title)  # "and what do experts recommend?" is still on what was refused
    section = section_of(top.id)
    return section is not None and section.kind not in DOCUMENT_KINDS and section_using(words, [section]) is not None
