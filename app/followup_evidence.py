"""Continue the last topic or start a new one, decided from the retriever's evidence rather than from phrasing.

A follow-up with topic words of its own is searched alone (one search, reused when it stands alone). What that
search found decides:
- it only asks for more of the last answer (an elaboration word, "example", "detail", "explain", beside common
  English only: "Give me an example"): it continues the section just shown;
- it is in the first person, points back to nothing and has a word the document never uses, rarer than common
  English ("How do I become a financial auditor?" after the tags): the user's own new thing, a new topic;
- its first section is one the last answer cited: the user is still on those (the one that uses the question's
  words, else that first section);
- it points back ("it", "that", "the risks") and its own words say little (words most of the document's sections
  use, or common English words: "How does it work?"), or every one of them is a word of the
  section just shown: it continues that section, unless the search's first section names those words in its
  title (then the words name another section);
- it is not covered alone, names nothing, is not in the first person and every word of it the document never uses is
  common English ("Which change worked best?", "Is anyone working on better designs?"): it has no topic of its own,
  so it asks about what was just shown;
- it points back with one word of its own that the document never uses and no name ("Is it reliable?", "How
  expensive is it?", or a quantifier and a noun with no verb: "Any drawbacks?"): it asks for a property of what was
  just shown, and is answered from that section;
- the document does not cover it alone, but the section just shown uses its words, or its own search's first
  section is the one just shown and it refers to a word of it ("are the tools reliable?"; not with two or more words
  the document never uses in that phrase: "the best attack helicopter model kit" is a new thing) or uses no word but
  that section's and everyday ones ("So what happens under optimisation pressure?"): it continues;
- the document covers it alone and its own search's first section names its words in its title (the words the
  document uses: "How do benchmarks fit in?"): a new topic;
- the document covers it alone, no section just shown uses any of its two or more words that say something, and
  its own search's first section uses one of them: a new topic ("Why should red teams be independent of the developer?"
  after another red-teaming section);
- it does not point back, no section just shown uses its words, and its own search's first section uses every word
  of it that says something and that the document uses, with one of them in its title: a new topic ("Any
  examples?" names no title);
- when it points back, or the document covers it alone with words that say something and its own search does not
  lead to the document's source record or overview ("What is AI safety?"), the question is searched again joined
  with the title of the section just shown (the second search, reused as the answer's). If that search still leads
  to a section just shown, it continues ("Any examples?"); if the question's own words pull it to another section,
  they name a new topic ("What is metrology?");
- otherwise it is a new topic, answered (or refused) on its own.
What follows a refusal is decided apart (app/followup_refusal.py): there is no section to continue.
"""

from __future__ import annotations

import re

from consensus_chat.ingest.text import FIRST_PERSON
from consensus_chat.retriever.evidence import ZIPF_COMMON, ZIPF_EVERYDAY, zipf

from .followup_context import (bare_predicate, definite_only, definite_parts, points_back, refers_to, section_using,
                               title_uses, titled_elsewhere, uses_any)

DOCUMENT_KINDS = ("source", "overview")  # sections about the whole document, not one topic of it


def first_in_scope(result):
    """The first section a search found, when it found the question in scope; else None."""
    return result.hits[0] if result is not None and result.in_scope and result.hits else None


def _evidence(result):
    """The evidence record a search decided on, or None (no search, or a result that keeps none)."""
    return getattr(result, "evidence", None) if result is not None else None


def own_words(question_topic, result, *, keep_ubiquitous: bool = False) -> tuple[str, ...]:
    """The question's topic words that say something of their own: all but the covered ones that most of the
    document's sections use or that are common English (`result` is the question's own search; its evidence).
    With `keep_ubiquitous` the words most sections use stay: after a refusal they are the document's subject."""
    evidence = _evidence(result)
    if evidence is None:
        return tuple(question_topic.words)
    weak = {w.word for w in evidence.words if w.covered and w.name is None
            and (w.ubiquitous and not keep_ubiquitous or w.zipf >= ZIPF_COMMON)}
    return tuple(w for w in question_topic.words if w not in weak)


# "What worked instead?", "What else helps?": an alternative to, or more than, what was just said.
# "Any downside?", "Any catch?": a quantifier and one noun, no verb: a fragment of a question about what was just said.
_FRAGMENT = re.compile(r"^\W*(?:any|some|other)\s+[\w'’-]+\W*$", re.I)
_INSTEAD = re.compile(r"\b(?:instead|else|otherwise)\b", re.I)


def refers_back(question: str, question_topic, alone=None) -> bool:
    """A pronoun, a topic that is only definite references ("the risks"), or a word that sets the question against
    what was just said ("instead", "else"): the question leans on the last turn. With its own search (`alone`), a
    definite phrase with two or more words the document never uses names a new thing ("the best video game", "the
    tallest mountain"); one word is a reference back ("the downsides", "the idea")."""
    strong = own_words(question_topic, alone) if alone is not None else ()
    definite = definite_only(question, question_topic) and len(strong) - len(covered_words(strong, alone)) < 2
    return (points_back(question) or definite or _INSTEAD.search(question) is not None
            or _FRAGMENT.match(question) is not None)


def continues(question: str, question_topic, cited: list, alone, joined, *, closed: bool = False) -> tuple | None:
    """(the cited section a follow-up with topic words continues, the title to join the question with, whether it
    is about that section whatever a search of it says), or None when it is a new topic. The title is the one the
    joined search used, so the answer reuses that search.

    `cited` are the last answer's sections in order; `alone` the search of the question by itself; `joined(title)`
    searches the question joined with a section's title (called only when the decision needs it). `closed`: the
    user closed the last answer first ("Thanks. Is it going to rain in Manchester?"): a pronoun then need not point
    back, so a name the document never uses in a question it does not cover is a new topic."""
    if not cited:
        return None
    top = alone.hits[0] if alone is not None and alone.hits else None  # in scope or not (see `same` below)
    covered = first_in_scope(alone) is not None
    same = next((s for s in cited if top is not None and s.id == top.id), None)
    shown = section_using(question_topic.words, cited)
    if covered and same is not None:
        return _on(shown or same)  # the search finds a section just shown: still on them
    if not covered and _names(alone) and (closed or not points_back(question)):
        return None  # "Tell me about the Equifax data breach.": a name the document never uses, tied to nothing shown
    if elaborates(question_topic):
        return _on(shown or cited[0])  # "Give me an example", "Any more details?": more of what was just shown
    if FIRST_PERSON.search(question) and not points_back(question) and _unused(alone, rare=True):
        # "How do I become a financial auditor?" after the tags: the user's own thing, in a word the document never
        # uses and rarer than common English, pointing back to nothing shown: a new topic, judged alone.
        return None
    back = refers_back(question, question_topic, alone)
    strong = own_words(question_topic, alone)
    if back and not strong:
        return _on(shown or cited[0])  # "How does it work?": nothing of its own but weak words
    if back and shown is not None:
        if covered and titled_elsewhere(strong, shown, top.title):
            return None  # the words name another section by its title: a new topic
        return _on(shown)
    if not covered and shown is not None:
        return _on(shown)  # "Why is coverage uneven?": the document covers it only as the section just shown says it
    if not covered and not _names(alone) and not FIRST_PERSON.search(question) and (
            partly := _in_other_words(strong, alone, cited)) is not None:
        # "Why is coverage patchy?" after the incident databases card: the card uses every word of it but one, and that
        # one the document never uses (the user's word for the card's own: "patchy" for "uneven"). Not in the first
        # person: "How do I measure my waist?" after metrology asks of the user's own things, whatever word it shares.
        return _on(partly)
    if back and not covered and len(strong) == 1 and not covered_words(strong, alone) and not _names(alone):
        # "Is it reliable?", "How expensive is it?": it points back and asks one thing the document has no word for,
        # naming nothing: a property of what was just shown. Alone it is about nothing the document covers.
        return _on(cited[0], about=True)
    if not covered and not _names(alone) and bare_predicate(question):
        return _on(cited[0])  # "What helps?", "What is being tried?": a verb with no object, about what was shown
    if not covered and _evidence(alone) is not None and not _names(alone) and not FIRST_PERSON.search(question) and (
            not _unused(alone, rare=True)):
        # "Which change worked best?", "Is anyone working on better designs?": not covered alone, naming nothing, and
        # every word the document does not use is common English, which names no topic of its own: what was shown.
        return _on(cited[0])
    if not covered and same is not None and _only_its_words(strong, alone, same):
        # "So what happens under optimisation pressure?": not covered alone only for an everyday word ("happens"),
        # its own search leads to the section just shown, and that section uses every word of it the document uses.
        return _on(same)
    if not covered and same is not None and refers_to(question, same) and not _names_new_thing(question, alone):
        # "are the tools reliable?": not covered alone, but its own search still leads to the section just shown,
        # and "the tools" are that section's: it asks about them.
        return _on(same)
    # A word the document never uses names no section ("How do benchmarks fit in?"); a question that points back
    # keeps all its words ("why is that a problem for safety?" is about what was shown).
    used = covered_words(strong, alone)
    named = strong if back else used or strong
    if covered and same is None and shown is None and len(used) >= 2 and uses_any(used, top) and not any(
            uses_any(used, section) for section in cited):
        # "Why should red teams be independent of the developer?" after AI-assisted red teaming: no section just shown
        # uses any of its words that say something, and its own search's first section does. Joined with the shown
        # title it would still lead there (the title outweighs the words), so the words decide: a new topic. One
        # word is too little to decide on ("Any examples?" names no topic of its own): the joined search does.
        return None
    if covered and strong and titled_elsewhere(named, cited[0], top.title):
        return None  # its own search finds a section whose title names its words ("What is metrology?")
    about_document = covered and getattr(top, "kind", "") in DOCUMENT_KINDS
    if covered and not back and not about_document and shown is None and section_using(used, [top]) and any(
            title_uses([word], top.title) for word in used):
        return None  # "how do B drift?": a section titled with B uses all its words, and no section just shown does
    if back or covered and strong and not about_document:
        # Does the question still lead to the section just shown once it is joined with that section's title? If
        # its own words pull the joined search to another section, they name a new topic; else it continues. A
        # question that does not point back is tested so only when the document covers it on its own (the title
        # would carry "How do I bake bread?" into scope) with words that say something, and its own search does not
        # lead to the document as a whole (its source record or overview: "What is AI safety?").
        first = first_in_scope(joined(cited[0].title))
        if first is not None:
            found = next((s for s in cited if s.id == first.id), None)
            return (found, cited[0].title, False) if found is not None else None
    return None


# Words that ask for more of what was just shown rather than name a topic ("Give me an example", "More detail?").
# Hand-written: a small closed class, like the meta words; a word list about the document it is not.
ELABORATION_WORDS = frozenset("example examples instance instances detail details elaborate elaboration explain "
                              "explanation clarify summary summarise summarize expand".split())


def elaborates(question_topic) -> bool:
    """Does the question only ask for more of the last answer: an elaboration word, and beside it nothing but common
    English ("Can you give an example?", "Any examples?"), no name?"""
    words = question_topic.words
    return bool(words) and not question_topic.entities and any(w in ELABORATION_WORDS for w in words) and all(
        w in ELABORATION_WORDS or zipf(w) >= ZIPF_COMMON for w in words)


def _names(result) -> tuple[str, ...]:
    """The names the document never uses that the search's question has."""
    evidence = _evidence(result)
    return evidence.names if evidence is not None else ()


def _names_new_thing(question: str, result) -> bool:
    """Does a definite phrase of the question hold two or more words the document never uses? Then it names a new
    thing ("What is the best retro games console to buy?" after a section on emulating old consoles), as in
    `refers_back`; one such word is a reference back ("Who raises the coverage concern?")."""
    return len(_unused(result).intersection(definite_parts(question))) >= 2


def _unused(result, *, rare: bool = False) -> set[str]:
    """The question's words the document never uses, by its own search; with `rare`, only those rarer than common
    English."""
    evidence = _evidence(result)
    if evidence is None:
        return set()
    return {w.word for w in evidence.words if not w.covered and not (rare and w.zipf >= ZIPF_COMMON)}


def covered_words(words, result) -> tuple[str, ...]:
    """The words the document uses, by the search's evidence (all of them when it has none)."""
    evidence = _evidence(result)
    if evidence is None:
        return tuple(words)
    used = {w.word for w in evidence.words if w.covered}
    return tuple(w for w in words if w in used)


def _on(section, *, about: bool = False) -> tuple:
    return section, section.title, about



def _only_its_words(words, result, section) -> bool:
    """Does `section` use every one of `words` the document uses (at least one), with the rest everyday words?"""
    evidence = _evidence(result)
    if evidence is None:
        return False
    used = covered_words(words, result)
    return bool(used) and section_using(used, [section]) is not None and all(
        w.zipf >= ZIPF_EVERYDAY for w in evidence.words if w.word in words and not w.covered)


def _in_other_words(words, result, cited) -> object | None:
    """The first section just shown that uses every one of `words` but one, at least one of them a word the document
    uses that is not common English, the one left a word the document never uses; else None."""
    evidence = _evidence(result)
    if evidence is None or len(words) < 2:
        return None
    unused = [w for w in evidence.words if w.word in words and not w.covered]
    telling = [w for w in evidence.words if w.word in words and w.covered and w.zipf < ZIPF_COMMON]
    if len(unused) != 1 or not telling:
        return None
    return section_using([w for w in words if w != unused[0].word], cited)

