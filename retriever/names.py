"""Names a question uses that the document never does ("the EU AI Act", "Kubernetes", "Meta"), found from
the words the evidence record (retriever/evidence.py) has already read."""

from __future__ import annotations

import re

from consensus_chat.ingest.words import (bare, capitals_name_nothing, content_parts, inner_capital, starts_sentence,
                                         tokens)

from .topic import Topic


NAME_ZIPF = 1.0  # wordfreq's Zipf value below which general English does not know a word (its lists stop near 1)


def named_form(word: str) -> bool:
    """Written as a name: capitalised ("Meta"), or a lower-case start with a capital inside ("xAI", "iPhone", "eBay"),
    which no everyday word has."""
    return word[:1].isupper() or (word[:1].islower() and inner_capital(word))


def unknown_names(topic: Topic, evidence, analyzer) -> list[tuple[str, list[str]]]:
    """Names the question uses that the document never does, each with its topic-word parts.

    A name is a run of capitalised words that is not at the start of a sentence (unless general English does not
    know the word: "Quorvix sells …") and is not one of the document's own entities (a source key, an author, a
    title, a label, a word of its own name), one of whose capitalised pieces the document does not use ("the EU AI
    Act", "Kubernetes", "Meta"). A two-letter acronym ("AI", "EU") alone names nothing. Possessives ("Smith's") and
    plurals are read as the name itself.
    """
    question = topic.question
    found = tokens(question)
    words = [m.group(0) for m in found]
    if capitals_name_nothing(words):  # Title Case or SHOUTED
        return []
    spans = [(e.start, e.end) for e in topic.entities]

    def unheard_of(word: str) -> bool:
        # A word general English does not know ("Lakera", "Haize Labs …") names something even where its capital
        # says nothing, at a sentence's start; unless the document uses it.
        parts = content_parts(bare(word))
        return bool(parts) and all(evidence(p).zipf < NAME_ZIPF and not evidence(p).covered for p in parts)

    runs: list[list] = []
    last_end = None
    for m in found:
        word = m.group(0)
        # A sentence's first word is capitalised whatever it is, so it names nothing by its capital; a capital
        # inside it ("HackerOne runs …", "CISA says …") is a name's form wherever it stands.
        # (Read only for a word written as a name outside the entities: the rest is skipped whatever it is.)
        if len(word) < 2 or not named_form(word) or any(a <= m.start() and m.end() <= b for a, b in spans) or (
                starts_sentence(question, m.start()) and not inner_capital(re.sub(r"['’]s$", "", word))
                and not unheard_of(word)):
            last_end = None
            continue
        if last_end is not None and not question[last_end:m.start()].strip():
            runs[-1].append(m)
        else:
            runs.append([m])
        last_end = m.end()

    def unknown(piece: str) -> bool:
        # Only the capitalised pieces of a word name something ("generated" in "AI-generated" does not),
        # and a two-letter acronym ("AI", "EU") is too ambiguous to name anything by itself.
        word = bare(piece)
        if not named_form(piece) or (len(piece) <= 2 and piece.isupper()) or analyzer.is_document_name(word):
            return False
        return any(not evidence(p).covered for p in content_parts(word))

    out = []
    for run in runs:
        if any(unknown(piece) for m in run for piece in m.group(0).split("-")):
            name = question[run[0].start(): run[-1].end()]
            parts = [p for m in run for p in content_parts(bare(m.group(0)))]
            out.append((re.sub(r"['’]s$", "", name), parts))
    return out


# What a law, a body or a report says or lays down ("What does the Digital Markets Act require?"): verbs whose
# subject is the source of what is asked, in the base form a "does"/"did" question puts them in. Hand-written: a
# short closed class of reporting and rule-making verbs; a parser would find the subject, but none is in the stack.
_SOURCE_VERBS = ("say state require recommend define mandate specify prescribe classify ban prohibit predict propose "
                 "conclude demand regulate set change maintain find report cover list publish estimate allow "
                 "impose place record think believe said found").split()
_ASKS_CONTENT = r"(?:what|which|how\s+many|how\s+much)\b"
_DEFINING_VERBS = "define classify regulate".split()  # "How does the EU AI Act define …?" asks its content too
_OPENS_FOR_CONTENT = re.compile(r"^\W*(?:what|which|how)\b", re.I)  # implied by both openings below
_AUXILIARY = re.compile(r"\b(?:does|did|do|has|have)\s", re.I)  # implied by `subject` below


def asks_what_it_says(question: str, names) -> bool:
    """Does the question ask what one of `names` (names the document never mentions) says, requires or found?
    "What does the EU AI Act require of providers?", "Which benchmarks does MLCommons maintain?", "How many deaths
    did the O'Neill Review predict?": the name is the subject of a "does"/"did" question for content, so what is
    asked is that name's, which the document cannot give. "How would Nvidia find …?" or "What should Amazon do …?"
    ask what someone could do about a topic the document may cover."""
    # What both patterns below need whatever the name: the question opens with "what", "which" or "how", and has a
    # "does"/"did"/"has" before a space. Checked first, with patterns compiled once, so that a question without them
    # does not compile the patterns built around each new name (most of this function's cost on a new question).
    if _OPENS_FOR_CONTENT.match(question) is None or _AUXILIARY.search(question) is None:
        return False
    for name in names:
        # The name, with a part of it before ("the final text of the EU AI Act") and up to five words of its own after
        # ("the O'Neill Review on antimicrobial resistance", "Biden's October 2023 executive order on AI"), then the
        # verb. "has"/"have" put the verb in its past participle ("What incidents has the FAA recorded?").
        subject = (rf"\b(?:does|did|do|has|have)\s+(?:the\s+|an?\s+)?(?:(?:\S+\s+){{1,3}}?of\s+(?:the\s+)?)?"
                   rf"{re.escape(name)}\S*(?:\s+\S+){{0,5}}?\s+")
        if re.search(rf"^\W*{_ASKS_CONTENT}[^?]*?{subject}(?:{'|'.join(_SOURCE_VERBS)})(?:e?d)?\b", question,
                     re.I) or (
                re.search(rf"^\W*how\s+{subject}(?:{'|'.join(_DEFINING_VERBS)})\b", question, re.I)):
            return True
    return False


# A question that opens with a modal or a yes/no auxiliary, or "if", or "how" with a modal: "Would Foolbox help find
# weak spots?", "Could the UK AI Security Institute test a model without its weights?", "If HackerOne ran a bounty, …?",
# "How could Meta detect …?". Hand-written: a closed class of English auxiliaries, as `_SOURCE_VERBS` above.
_MODAL = r"would|could|can|should|might|may|will|if|how\s+(?:would|could|should|can|might|may)"
_APPLIES = re.compile(rf"^\W*(?:{_MODAL}|does|do|is|are)\b", re.I)
_MODAL_OPENING = re.compile(rf"^\W*(?:{_MODAL})\b", re.I)


def asks_how_it_applies(question: str) -> bool:
    """Does the question ask whether or how something applies (a modal or yes/no question, or a condition), rather than
    for a fact (a "what"/"when"/"who" question)? Then a name in it is an instance of the topic asked about, and what the
    embedding model knows of it ("Foolbox" is an attack library) is evidence for that topic; a question for a fact
    about a name ("What was agreed at the Paris summit?") asks about the name itself, which the document cannot give."""
    return _APPLIES.match(question) is not None


def asks_what_could_be_done(question: str) -> bool:
    """Does the question open with a modal or a condition ("Should Waymo log cases where its cars nearly hit someone?",
    "How could Meta detect …?", "If HackerOne ran a bounty, …?"): what someone could or should do, the name being who
    would do it or what it would be done to? Then the name is not what is asked about, and its share of the question
    does not count against coverage (`decision.name_feature`). A yes/no question with "is" or "does" can ask about the
    name itself ("Is it legal to jailbreak an iPhone?"), so only the modal opening counts."""
    return _MODAL_OPENING.match(question) is not None
