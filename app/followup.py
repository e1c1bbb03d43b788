"""Resolve a follow-up question from the previous answer's Turn (what it asked, cited, listed, and whether it refused).

Hand-written rules rather than an LLM condenser: the default backend must stay offline and deterministic, and
follow-ups have a small, regular shape. Each rule fires only when the previous turn holds what it refers to:
- "the second one", "the 2nd", "number two", "#2", "the last of those", "the latter" pick from the sections the
  previous answer listed, in its order (else the source keys it listed, else the sections it cited when it cited
  several); "the next one", "the previous one" and "the other one" step from the one it was about;
- a question that is nothing but a place ("number two") with nothing to count in is asked back, naming the section
  the last answer was about, never guessed, and the conversation stays on that section (nothing was refused);
  within a question with a topic of its own ("the first step of an audit") an ordinal is an ordinary word;
- "that one" is the previous answer's section when it cited (or listed) exactly one; "the card", "this section" (a
  section noun that does not say which) is the section the last answer was about, not the document;
- a fragment "and X?" / "what about X?" is asked in the previous question's frame with X where it named its topic
  ("Which sections cite Reason?" + "and Leveson?" -> "Which sections cite Leveson?") when the search's evidence
  says the frame finds what X names, else X alone (app/followup_frame.py); "and who decides?" is a question of
  its own, asked without the "and";
- a plural ("who are they citing?") after a pick from a list is about the picked section, not the whole list;
- a question with topic words of its own continues the last answer's section or starts a new topic as the
  retriever's evidence says (app/followup_evidence.py): its own search, and the question joined with that
  section's title; never more than two searches;
- a question with no content of its own ("When?", "Why?") continues the previous question; a bare "When?" after a
  section with no date of its own asks the document's date;
- a question with no topic that does not name the document ("Who is cited?", "What code?") is about the last topic;
- a question that points back ("What does it cite?") and has no topic of its own inherits the previous topic; with a
  plural ("What do they say?") after a short list, each listed section answers;
- a question that says a new topic starts ("Different question: ...") is asked alone;
- after a refusal there is nothing to continue: a follow-up stands alone (answered or refused as if asked first)
  or leans on what was refused and is refused again, never answered from a section nor put in the refused
  question's frame (app/followup_refusal.py); a question back about a place keeps the list;
- a question for the overview's layout lines ("Which category is it also in?") stands alone (app/overview.py).
What a question is about is read by the retriever's topic analysis (retriever/topic.py), not from document words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from consensus_chat.ingest.section import asks_overview_line
from consensus_chat.ingest.words import META_WORDS, SOURCE_WORK_WORDS
from consensus_chat.retriever.evidence import ZIPF_COMMON, zipf

from .codes import about_last, shared_back, shared_kind
from .followup_context import (INTERJECTION, UNRELATED_REFUSAL, acknowledged, fresh_question, names_last_section,
                               points_back, said_unrelated, section_using, uses_any,
                               DOCUMENT_NOUNS)  # noqa: F401 - DOCUMENT_NOUNS re-exported
from .followup_evidence import continues, covered_words, own_words
from .followup_frame import is_question, substitute, swapped
from .followup_refusal import after_refusal
from .ordinals import THING, counted, nothing_to_count, only_a_place, places_in
from .memory import history_pairs  # noqa: F401 - re-exported: the pairs of any history shape
from .types import Turn

# "and", "what about", "ok, and what about": one or more words that carry the last question on.
_CONTINUATION = re.compile(r"^\s*(?:(?:and|also|what about|how about|(?:the )?same (?:question |thing )?(?:for|about)|"
                           r"ok(?:ay)?,? and)\b[\s,:]*)+", re.I)
_HOW_ONE = re.compile(r"^\s*how\s+[a-z]+\s*[?.!]*\s*$", re.I)  # "How so?", "How often?"
# "written about it", "work on this": the pronoun is what was written about, not what was written.
_ABOUT_IT = re.compile(r"\b(?:about|on)\s+(?:it|this|that|them|these|those)\b", re.I)
_THE_ONE = re.compile(r"\b(?:the|that) (?:one|section|area|card) (?:on|about|for|of)\s+", re.I)
_THAT_ONE = re.compile(r"\b(?:that|this)\s+" + THING + r"\b", re.I)
_PLURAL = re.compile(r"\b(?:they|them|their|those|these|both|each|all of them)\b", re.I)
_DATE_OR_AGENT = re.compile(r"^\W*(?:and\s+|but\s+|so\s+)?(?:when|who|whom|what\s+year)\b", re.I)
_BARE_WH = re.compile(r"^\W*(?:and\s+)?(when|who)\W*$", re.I)  # "When?", "Who?" alone
DOCUMENT_DATE = "When was the document published?"
DOCUMENT_AUTHORS = "Who wrote the document?"
MAX_TOGETHER = 5  # a plural answers each listed section only for a short list (an overview lists every card)
# How a source is used ("Is an example source named?"): no word for a document, unlike "review" or "study".
_SOURCE_USE = SOURCE_WORK_WORDS - frozenset("review reviews study studies".split())

@dataclass(frozen=True)
class Resolution:
    """A follow-up made stand-alone: the question to search, the one section it points to, or why to refuse."""

    question: str
    section: str | None = None  # the id of the section the question is about: answered from it first
    picked: bool = False  # the user picked that section ("the second one"), so it is in scope whatever the search says
    listed: tuple[str, ...] = ()  # the list it was picked from, kept so that "and the first one?" can follow
    together: tuple[str, ...] = ()  # the listed sections a plural ("they", "both") points back to, answered each
    refuse: str = ""  # a reason to refuse without searching (a follow-up to a refusal, a place past the list)


def resolve_follow_up(question: str, previous: Turn | None, *, analyse, search, section_of) -> Resolution:
    """The question made stand-alone from the previous turn (None: the conversation starts here).

    `analyse(q)` is the retriever's topic analysis; `search(q)` the retriever's search of a question (kept, so the
    answer reuses it; None when the question has nothing to search); `section_of(id)` returns a section of the
    index or None. A follow-up costs at most two searches: the question alone, and joined with the last section.
    """
    if previous is None:
        return Resolution(question)
    stripped, closed = INTERJECTION.sub("", question), acknowledged(question)
    question = stripped if any(ch.isalnum() for ch in stripped) else question  # "OK. Who wrote this guide?"
    if (fresh := fresh_question(question)) is not None:
        # "New question: why are old antibiotics scarce?", "Back to the page: who wrote it?"; "Unrelated: …": refused
        return Resolution(fresh, refuse=UNRELATED_REFUSAL if said_unrelated(question, fresh, analyse) else "")
    # "Is that source used on the other card too?" asks what the last section shares (app/codes.py): no pick.
    asked, before = analyse(question), lambda: analyse(previous.resolved_question)
    question, shares = shared_back(question, asked, before) or (question, shared_kind(asked))
    picked = None if shares else _pick(question, previous, section_of, analyse)
    if picked is not None:
        continuation = _CONTINUATION.search(picked.question)
        if continuation and picked.section is not None:  # "and the last one?": the last question, for that one
            rest = picked.question[continuation.end():].strip(" ?.!")
            head, _, clause = rest.partition(", ")
            if clause and is_question(clause) and section_of(picked.section).title == head:
                # "And the last one, what does it say current approaches lack?": the clause is its own question
                return replace(picked, question=f"{clause}? — {head}")
            return replace(picked, question=substitute(previous.resolved_question, rest,
                                                       analyse(previous.resolved_question)))
        return picked
    continuation = _CONTINUATION.search(question)
    rest = _THE_ONE.sub("", question[continuation.end():]).strip(" ?.!") if continuation else None
    if previous.refused and not previous.cited and len(previous.listed) == 1:
        # The question back for a place ("Go with the first one.") refused nothing: still on the section it named.
        previous = replace(previous, refused=False, cited=previous.listed)
    if previous.refused:  # nothing to continue: a topic of its own, or refused again (app/followup_refusal.py)
        if only_a_place(question, analyse):
            return _after_refusal(question)  # "the second one" of nothing listed
        asked = after_refusal(question, rest, analyse=analyse, search=search, section_of=section_of,
                              names_document=_names_document)
        return Resolution(asked) if asked is not None else _after_refusal(question)
    if asks_overview_line(question):
        return Resolution(question)  # "Which category is it also in?": the page's, not a card's
    if only_a_place(question, analyse) and not shares:  # "number two" with nothing listed to count in: ask
        return Resolution(question, refuse=nothing_to_count(previous, section_of), listed=previous.cited[:1])
    if continuation:
        new = analyse(rest)
        if rest and new.meta and (new.words or new.entities) and not _document_beside_pronoun(rest, new):
            # "and the system safety one, who does it cite?" asks for itself.
            return Resolution(rest + "?")
        said = previous.resolved_question.split(" — ")[0]  # without the topic a follow-up was joined with
        before = analyse(said)
        shown = None if new.entities or before.words or before.entities else (
            section_using(new.words, [s for s in map(section_of, previous.cited) if s is not None]))
        if shown is not None:  # "and how many contributed?" after a question with nothing to put it in place of
            return Resolution(f"{rest}? — {shown.title}", section=shown.id, listed=previous.listed)
        if rest and (is_question(rest) or points_back(rest)):
            # "and who decides on the thresholds?": a follow-up of its own, without the "and"; "and its limits?" asks
            # about what the last answer was about (the pronoun), not for its topic swapped out.
            question = f"{rest}?"
        elif rest and (new.words or new.entities):
            last = section_of(previous.cited[0]) if previous.cited else None
            asked, pinned = swapped(said, rest, before, new, last, search, section_of)
            return Resolution(asked, section=pinned, picked=pinned is not None)
    own = about_last(analyse(question))  # "Are its sources used elsewhere?", "Does any other card share that label?"
    # "When?", "Why?", "How so?"; "How soon?", "How often?": "how" and one word, asking the degree of the last topic.
    bare = not own.entities and not own.meta and (not own.words or bool(_HOW_ONE.match(question)))
    # "Who is cited?", "What code?", "Tell me more": nothing to search but the document, and no word naming it
    # (as "What does the report say?" does), so it asks about what the conversation is on.
    # Authorship is the document's own ("Who are the authors?"), so it names the document too.
    unnamed = not own.words and not own.entities and not own.asks_authorship and not any(
        _names_document(m) for m in own.meta)
    cited = [s for s in map(section_of, previous.cited) if s is not None]
    if cited and cited[0].kind == "source" and own.asks_authorship and not own.entities and all(
            zipf(w) >= ZIPF_COMMON for w in own.words):
        # "Who is its first author?" after the source record: answered from that record, which lists its authors in
        # order; "first" or "main" beside the authors says which of them, not a topic to search for.
        asked = DOCUMENT_AUTHORS if own.words else question
        return Resolution(asked, section=cited[0].id, listed=previous.listed)
    shown, joined_with, about = None, None, False
    if not unnamed and not bare and not _CONTINUATION.search(question):
        # A name is a topic of its own; so is a question about the document that does not point back ("Who wrote
        # the report?"), and words with a meta word that the document covers ("What does it say about X?": the
        # pronoun is the document's, unless the question names the document beside it: "How does the page use it?"
        # points back).
        if own.entities or not own.words and not points_back(question) or (
                own.meta and own.words and not _document_beside_pronoun(question, own)
                and getattr(search(question), "in_scope", False)
                and not (cited and points_back(question)
                         and uses_any(covered_words(own.words, search(question)), cited[0]))):
            return Resolution(question)
        if own.words and (name := _named_elsewhere(question, previous, own, cited, search)):
            # "When did it come into force?" after "What does the EU AI Act require for high-risk systems?": the
            # pronoun stands for the name the document never mentions, not for the section that answered the rest.
            return Resolution(question, refuse=(
                f"This follows up on {name}, which the document never mentions, so there is nothing to build on. "
                "What would you like to know about the document?"))
        if own.words:
            joined = lambda title: search(f"{question.rstrip()} — {title}")  # noqa: E731 - the answer's search
            found = continues(question, own, cited, search(question), joined, closed=closed)
            if found is None:
                return Resolution(question)
            shown, joined_with, about = found
    if bare:  # continues what the last question was about ("more?" after "more?" does not stack)
        first = section_of(previous.cited[0]) if previous.cited else None
        wh = (_BARE_WH.match(question) or [""] * 2)[1].lower()
        if wh and first is not None and (first.kind == "source" or wh == "when" and not first.year):
            # The record's date or authors ("Who?" of a report: who wrote it); a section without a date: the page's
            return Resolution(DOCUMENT_DATE if wh == "when" else DOCUMENT_AUTHORS)
        if wh == "who" and first is not None:  # "Who?" of a card: whom it cites, as "Who is cited?" asks
            return Resolution(f"Who is cited? — {first.title}", section=first.id, listed=previous.listed)
        base, said = previous.resolved_question, f"{previous.question.rstrip()} — "
        return Resolution(f"{question.rstrip()} — {base[len(said):] if base.startswith(said) else base}")
    first = shown or (section_of(previous.cited[0]) if previous.cited else None)
    if first is not None and own.asks_authorship and not (first.authors or first.year) and not _ABOUT_IT.search(
            question):
        # "Who wrote it?" after a section that has no authors: the document's; "Who has written about it?" asks who
        # wrote on the section's topic: its sources.
        return Resolution(question)
    if first is not None and own.asks_authorship and first.kind == "source" and not own.words:
        # "And the authors?" after the source record: its own question, answered from that record as a report
        # answer (a title appended would make it a question about the title's words).
        return Resolution(question, section=first.id, listed=previous.listed)
    listed = [x for x in map(section_of, previous.listed) if x is not None]
    # After a pick from the list ("the third one") the last answer was about that one section: "who are they
    # citing?" asks about it, and the list is kept only to pick from again.
    about_one = len(previous.cited) == 1 and previous.cited[0] in previous.listed
    about_one = about_one and counted(question) != len(listed)  # "those two areas" counts the whole list again
    if 1 < len(listed) <= MAX_TOGETHER and _PLURAL.search(question) and not about_one:  # "What do they say?"
        names = "; ".join(x.title for x in listed)
        return Resolution(f"{question.rstrip()} — {names}", together=tuple(x.id for x in listed),
                          listed=previous.listed)
    if first is not None:  # the last answer's section, known from its turn: no search has to find it again
        return Resolution(f"{question.rstrip()} — {joined_with or first.title}", section=first.id,
                          picked=about, listed=previous.listed)
    return Resolution(f"{question.rstrip()} — {previous.resolved_question}")


def _named_elsewhere(question: str, previous: Turn, own, cited: list, search) -> str | None:
    """The name the document never mentions that a pronoun of the question stands for, or None.

    The last question named something the document does not know (its answer said so and covered the rest), and this
    one points back with words of its own that the document does not cover alone and that no section just shown
    uses: the pronoun is the name's ("When was it adopted?", "Who commissioned it?"). Only a question for a date or
    for who did something asks this of "it": a law, a body or a product has a date and a maker, a research area has
    neither, while "Why does it matter?" asks about the rest the last answer covered."""
    if not _DATE_OR_AGENT.match(question) or not points_back(question) or own.entities:
        return None
    alone = search(question)
    if alone is None or getattr(alone, "in_scope", True):
        return None
    if section_using(own_words(own, alone), cited) is not None:
        return None  # "are its limits known?": a word of the section just shown
    before = search(previous.resolved_question.split(" — ")[0])
    names = getattr(getattr(before, "evidence", None), "names", ())
    return names[0] if names else None


def _after_refusal(question: str) -> Resolution:
    """A follow-up that points back at a refusal: nothing to build on, so ask what is meant."""
    return Resolution(question, refuse="This follows up on a question the document does not cover, so there is "
                      "nothing to build on. What would you like to know about the document?")


def _document_beside_pronoun(question: str, topic) -> bool:
    """The document named beside a pronoun ("How does the page use it?") or "the card": the pronoun points back."""
    return points_back(question) and any(m in DOCUMENT_NOUNS for m in topic.meta) or names_last_section(question)


def _names_document(meta_word: str) -> bool:
    """A word for a document ("report") or of its own name (a capitalised word of its title), not of what is asked
    nor of how a source is used ("Is an example source named?")."""
    return meta_word in DOCUMENT_NOUNS or meta_word not in META_WORDS and meta_word not in _SOURCE_USE


def _choices(previous: Turn, section_of) -> list:
    """What an ordinal counts in, as the last answer showed it: the sections it listed, else the keys it listed, else
    the sections it cited when it cited several."""
    listed = [s for s in map(section_of, previous.listed) if s is not None]
    if listed or previous.listed_keys:
        return listed or list(previous.listed_keys)
    cited = [s for s in map(section_of, previous.cited) if s is not None]
    return cited if len(cited) > 1 else []


def _pick(question: str, previous: Turn, section_of, analyse) -> Resolution | None:
    """An ordinal or "that one" resolved against what the previous answer listed or cited; None if it is neither."""
    items = _choices(previous, section_of)
    places = places_in(question, previous, items, analyse) if items else []
    if places:
        past = [question[start:end].strip() for place, start, end in places
                if place >= len(items) or place < -len(items)]
        if past:
            what = "sources" if isinstance(items[0], str) else "sections"
            return Resolution(question, listed=previous.listed, refuse=f"The last answer listed {len(items)} {what}, "
                              f"and \"{past[0]}\" is not one of them. Which do you mean?")
        chosen = [items[place] for place, _, _ in places]
        rewritten = question
        for (_, start, end), item in sorted(zip(places, chosen), key=lambda pair: -pair[0][1]):
            rewritten = f"{rewritten[:start]}{item if isinstance(item, str) else item.title}{rewritten[end:]}"
        if len(places) == 1 and not isinstance(chosen[0], str) and only_a_place(question, analyse) and (
                not _CONTINUATION.search(question) or len(set(previous.cited)) >= 2):  # "The first one.", "What about
            # #2?" after the list: the card, as "Tell me about" asks; after one of them, "and #2?" asks that again
            rewritten = f"Tell me about {chosen[0].title}."
        if isinstance(chosen[0], str):
            return Resolution(rewritten)  # source keys: the question now names them
        ids = tuple(dict.fromkeys(item.id for item in chosen))
        listed = tuple(s.id for s in items)
        if len(ids) > 1:  # "compare the first and the last": each picked section answers
            return Resolution(rewritten, together=ids, listed=listed)
        return Resolution(rewritten, section=ids[0], picked=True, listed=listed)
    listed, match = [s for s in map(section_of, previous.listed) if s is not None], _THAT_ONE.search(question)
    cited = [s for s in map(section_of, previous.cited) if s is not None]
    candidates = next((c for c in (cited, listed) if len(c) == 1), [])
    if match and candidates:
        only = candidates[0]
        said = f"{question[:match.start()]}{only.title}{question[match.end():]}"
        return Resolution(said, section=only.id, picked=True, listed=previous.listed)
    return None
