"""Does a question point back at the last turn? Pronouns, and words of the section the last answer showed.

Evidence of four kinds, none of them a word list about the document:
- a pronoun ("it", "those", "there");
- after a refusal, a question whose topic is only definite references ("and the risks?");
- a definite reference ("the tools") to a word of the section the last answer cited;
- the question's topic words are all words of a section the last answer cited ("Why is coverage uneven?" after
  a section that says "Coverage is uneven"): the user is asking about what was just shown.
"""

from __future__ import annotations

import re

from consensus_chat.ingest.lexical import stem_words
from consensus_chat.ingest.words import bare, content_parts, content_words, stopwords

# "this weekend", "these days": a time counted from now, not something said before ("that year" may be: a date shown).
_NOW = (r"(?!\s+(?:weekend|week|month|year|morning|afternoon|evening|night|summer|winter|spring|autumn|season|"
        r"quarter|decade|century|day|time)s?\b)")
# Pronouns that stand for something said before; "he", "she" and "her" for a person the last question named.
ANAPHORA = re.compile(rf"\b(it|its|it's|that|(?:this|these){_NOW}|those|there|they|them|their|he|him|his|she|her|"
                      r"hers|the one|that one|same)\b", re.I)
# "the/that/this/such X", and the words after X up to the first stopword: "the proposed fix" names "proposed" and
# "fix"; "such infrastructure" the infrastructure just spoken of.
_DEFINITE = re.compile(r"\b(?:the|that|this|these|those|such)\s+([A-Za-z][\w'’-]*(?:\s+[A-Za-z][\w'’-]*){0,2})", re.I)
_BACK_TO = r"(?:now\s+)?(?:back|returning|going back|coming back)\s+to"  # "Back to …", "Now returning to …"
# "Different question:", "Switching topics -": the user says a new topic starts, so nothing earlier is continued.
NEW_TOPIC = re.compile(r"^\s*(?:(?:(?:a|one|an)\s+)?(?:different|new|another|other|separate|unrelated)\s+"
                       r"(?:question|topic|subject|thing)|switch(?:ing)?\s+(?:topics?|subjects?|gears)|"
                       r"chang(?:e|ing)\s+(?:of\s+)?(?:the\s+)?(?:topic|subject)|"
                       r"on\s+(?:a|an)?\s*(?:different|another|other|unrelated|separate)\s+(?:note|topic|subject)|"
                       r"moving on|unrelated(?:ly)?|separately|random\s+(?:one|question|thing)|leaving\s+(?:that|this|it)\s+"
                       r"aside|(?:something|anything)\s+(?:different|else)|(?:a\s+)?(?:quick\s+)?(?:side\s+question|aside)|"
                       r"off[- ]topic|"
                       # "Back to the page:", "Now about the page again:": the user leaves what came before for the document.
                       rf"(?:{_BACK_TO}|(?:now\s+)?(?:about|on|regarding|(?:to\s+)?(?:return|get back|go back|come back)\s+"
                       r"to))\s+(?:the|this|your)\s+"
                       r"(?:page|document|text|report|guide)(?:\s+(?:again|itself))?(?=\s*[:;,.!\u2014\u2013-])"
                       r")\b[\s,.:;!\u2014\u2013-]*(?:but\s+)?", re.I)
# An opener by which the user says the question has nothing to do with what came before, nor with the page
# ("Unrelated: …", "Off topic: …", "Side question: …", "Random question: …"); not "Different question:", which
# often returns to the page. In the development conversations all 95 turns opening with one ask about something the
# page does not cover (a count over the data, as for `acknowledged`).
_UNRELATED = re.compile(r"^\W*(?:(?:totally|completely|entirely)\s+)?(?:unrelated(?:ly)?|off[- ]topic|off\s+the\s+page|"
                        r"(?:a\s+)?(?:quick\s+)?side\s+question|random\s+(?:one|question|thing))\b", re.I)
UNRELATED_REFUSAL = ("You said this is unrelated to the document, so it is not answered from it. What would you like "
                     "to know about the document?")


def said_unrelated(question: str, rest: str, analyse) -> bool:
    """Does the question open by saying it is unrelated ("Unrelated, but how do I clean leather boots?") while the rest
    names nothing of the page (no section, key or code it names, no word for the document: "Unrelated, but what does
    the page say about X?" asks the page)?"""
    if _UNRELATED.match(question) is None:
        return False
    topic = analyse(rest)
    return not topic.entities and not set(topic.meta) & DOCUMENT_NOUNS


# "Back to red teaming: why is it classed …?": the user names what the question returns to; that name is its topic.
RETURN_TO = re.compile(rf"^\s*{_BACK_TO}\s+([^:;,.?!\u2014\u2013]{{2,60}}?)"
                       r"\s*[:;,.!\u2014\u2013-]+\s*(?=\S)", re.I)
# Generic English nouns for a document (a subset of retriever.topic.META_WORDS).
DOCUMENT_NOUNS = frozenset("""report reports paper papers document documents doc docs page pages article articles
guide guidebook handbook book books whitepaper text abstract introduction overview conclusion conclusions
appendix""".split())
# "OK.", "thanks,", "Fine.": a reply to the last answer before the question, no topic of the question's.
INTERJECTION = re.compile(r"^\s*(?:(?:ok(?:ay)?|thanks|thank you|alright|i see|hmm+)\b[\s,.!;:-]*|"
                          r"(?:fine|right|sure|got it|understood)\s*[,.!;:]+\s*)+", re.I)  # "Fine." not "Fine-tuning"


def acknowledged(question: str) -> bool:
    """Does the question open with a whole sentence of reply to the last answer ("Thanks.", "OK!", "Fine;"), not a
    word leading into it ("OK, and who wrote it?")? Such a sentence closes what was said: in the development
    conversations (blind sets 7-42 and evals/conversations*.jsonl), all 82 turns opening with one ask about something
    other than the sections of the turn before."""
    said = INTERJECTION.match(question)
    return said is not None and re.search(r"[.!;]", said.group(0)) is not None


def fresh_question(question: str) -> str | None:
    """The question a user starts anew ("New question: why …?", "Back to the page: who wrote it?"; "Back to red teaming:
    why is it classed …?" asks about red teaming), or None: nothing said before is continued."""
    fresh = NEW_TOPIC.match(question)
    if fresh and any(ch.isalnum() for ch in question[fresh.end():]):
        return question[fresh.end():].strip()
    back = RETURN_TO.match(question)
    if back and any(ch.isalnum() for ch in question[back.end():]):
        return f"{back.group(1)}: {question[back.end():].strip()}"
    return None


# "the card", "this section": a section noun in the singular with nothing after it that says which one ("the section
# on risk" says which): the section the last answer was about, not the document.
_THE_SECTION = re.compile(r"\b(?:the|this|that)\s+(?:card|section|area|entry)\b(?!\s+(?:on|about|for|of|that|which|"
                          r"titled|called|named|coded|with|in|under)\b)(?![-'’])", re.I)


# "What helps?", "What is being tried?", "Who pays?": a wh-word as the subject, auxiliaries, then one verb with no
# object and nothing after it. Such a question names no topic of its own; it asks about the one being discussed.
# After a lone "is" the word is a noun or an adjective ("What is metrology?", "Who is responsible?"), not a verb.
_BARE_PREDICATE = re.compile(r"^\W*(?:and\s+|so\s+|but\s+)?(?:what|who|which|how\s+many|how\s+much)\s+"
                             r"((?:(?:is|are|was|were|has|have|had|does|do|did|can|could|would|should|will|might|"
                             r"may|must|be|being|been|get|gets|got)\s+)*)[a-z][a-z-]*\W*$", re.I)
_COPULA = frozenset("is are was were".split())


def bare_predicate(question: str) -> bool:
    """Is the question a wh-word, auxiliaries and one verb, with nothing the verb acts on ("What helps?")?"""
    m = _BARE_PREDICATE.match(question)
    return m is not None and not (m[1] and set(m[1].lower().split()) <= _COPULA)


def names_last_section(question: str) -> bool:
    """Does the question speak of "the card" or "this section" without saying which ("What example does the card
    give?")? Then it is the one the last answer was about."""
    return _THE_SECTION.search(question) is not None


def points_back(question: str) -> bool:
    """A pronoun that can stand for what the last answer was about ("it", "those", "there")."""
    return bool(ANAPHORA.search(question))


def definite_only(question: str, topic) -> bool:
    """Every topic word sits in a "the/that/this X" phrase and nothing is named ("and the risks?"): after a refusal
    the phrase refers to what was refused, since the question names no topic of the document's instead."""
    if not topic.words or topic.entities:
        return False
    referred = {part for word in _definite_words(question) for part in content_parts(bare(word))}
    return set(topic.words) <= referred


def refers_to(question: str, section) -> bool:
    """Does a "the/that/this X" of the question name a word of `section` ("are the tools reliable?" after a section
    on tools for B)? Then X is the thing that section spoke of."""
    return uses_any(definite_parts(question), section)


def definite_parts(question: str) -> list[str]:
    """The content words of the question's "the/that/this X" phrases ("the best retro games console": best, retro,
    games, console)."""
    return [part for word in _definite_words(question) for part in content_parts(bare(word))]


def _definite_words(question: str) -> list[str]:
    """The words of each definite phrase: the determiner's noun and the words after it, up to the first stopword
    ("the proposed fix" -> proposed, fix; "the risks are high" -> risks)."""
    out = []
    for m in _DEFINITE.finditer(question):
        for n, word in enumerate(m.group(1).split()):
            if n and bare(word) in stopwords():
                break
            out.append(word)
    return out


def section_using(words, sections) -> object | None:
    """The first of `sections` (in the last answer's order) that uses every one of `words` (stemmed), or None."""
    wanted = set(_stems(tuple(words)))
    if not wanted:
        return None
    for section in sections:
        if wanted <= _section_stems(section):
            return section
    return None


def uses_any(words, section) -> bool:
    """Does `section` use at least one of `words` (stemmed)? The section's words are stemmed once."""
    wanted = set(_stems(tuple(words)))
    return bool(wanted) and not wanted.isdisjoint(_section_stems(section))


def titled_elsewhere(words, shown, title: str | None) -> bool:
    """Does another section's title (`title`, the search's first hit) use every one of `words`? Then the question
    names that section ("the chain-of-thought one it mentions"), though the section shown mentions the words too."""
    if not title or title == shown.title:
        return False
    return title_uses(words, title)


def title_uses(words, title: str) -> bool:
    """Does `title` use every one of `words` (stemmed)?"""
    return set(_stems(tuple(words))) <= set(_stems(tuple(content_words(title))))


def _section_stems(section) -> set[str]:
    """The stems of a section's title and text words."""
    return set(_stems(tuple(content_words(f"{section.title}\n{section.text}"))))


def _stems(words: tuple[str, ...]) -> list[str]:
    # The lexical index's stemmer, so "measured" and "measurement" meet as the search would meet them.
    return stem_words(list(words))

