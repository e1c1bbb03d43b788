"""How a question's text is rewritten and cut for its readings (retriever/evidence.py): the document words its
abbreviations and misspellings stand for, without the names the document never uses, in its parts."""

from __future__ import annotations

import re
from collections.abc import Callable

from consensus_chat.ingest.lookups import normalise
from consensus_chat.ingest.parser import TAG_KINDS
from consensus_chat.ingest.words import AUTHORSHIP_WORDS, META_WORDS, REPORT_ASPECT_WORDS, content_parts, content_words, tokens

# The kinds of tag the layout gives (ingest/parser.py), as a question names them, and shorter ways to say them ("the
# stage tag"; a word alone counts only beside "tag", retriever/topic.py).
TAG_NAMES = tuple(dict.fromkeys([normalise(k) for k in TAG_KINDS] + " lifecycle | life cycle stage | function | stage "
                                 .split("|")))

# The mark that ends an opening clause. A dash ends it only after a space ("the X stuff - what …"), not inside
# "chain-of-thought".
_CLAUSE_MARK = r"\s*(?:[,:;\u2014]|(?<=\s)[\u2013-]|\.(?=\s))"
# "Leaving X aside, …", "Setting aside X: …", "Apart from X, …", "Forget X; …": an opening clause naming what is not asked.
_SET_ASIDE = re.compile(r"^\W*(?:(?:leaving|setting|putting)\s+(?:aside\s+[^,:;?]{1,80}?|[^,:;?]{1,80}?\s+aside)|"
                        r"(?:(?:apart|aside)\s+from|other\s+than|besides|except\s+for)\s+[^,:;?]{1,80}?|"
                        r"not\s+[^,:;?.]{1,80}?|"  # "Not the automated stuff: what about …?"
                        # "Forget about X; …", "Never mind X: …", "Skip the part about X; …", "I don't want to hear about X; …"
                        r"(?:forget(?:\s+about)?|never\s*mind|skip(?:ping)?|ignoring|"
                        r"i\s+(?:don't|do\s+not|don’t)\s+(?:want|need)\s+(?:to\s+(?:hear|know|read)\s+)?about|"
                        # "I'm not interested in X; …", "We don't care about X: …", "I'm not asking about X, …"
                        r"(?:i'?m|i’m|i\s+am|we'?re|we’re|we\s+are)\s+not\s+(?:interested\s+in|asking\s+about|after)|"
                        r"(?:i|we)\s+(?:don't|do\s+not|don’t)\s+care\s+(?:about|for))(?:\s+[^,:;?]{1,80}?)?)"
                        + _CLAUSE_MARK + r"\s*(?=\S)", re.I)
# An opening clause that says what is not wanted, in other words than the fixed openings above ("Leave benchmarks
# aside: …", "Leave out anything about jailbreaks. …", "I don't need anything on databases; …", "Don't tell me about
# cameras or fines; …", "Skip the outside red teams part and tell me about …"): it starts with a word that turns
# something away (perhaps after "I"/"we") and ends at the first clause mark. Generic English, never a page's words.
_EXCLUDING = re.compile(r"^\W*(?:(?:(?:i|we)\s+)?(?:don't|don’t|do\s+not)\s+(?:tell|want|need|care|give|show|include|"
                        r"bother|worry)|never\s*mind|forget|skip(?:ping)?|ignor(?:e|ing)|leav(?:e|ing)|not|other\s+than|"
                        r"apart\s+from|aside\s+from|besides|except)\b[^,:;?.\u2014]{0,100}?"
                        r"(?:" + _CLAUSE_MARK + r"|\s+and\s+(?=(?:tell|give|show|explain|focus)\b))\s*(?=\S)", re.I)
# "Which area is not about X but about Y?", "… isn't only about X but about Y": what the question asks is Y.
_NOT_BUT = re.compile(r"\b(?:is\s+not|isn't|are\s+not|aren't|not)\s+(?:only\s+|just\s+|so\s+much\s+)?(?:about\s+|on\s+)?"
                      r"[^,.;:?]+?,?\s+but\s+(?:also\s+|rather\s+)?", re.I)
# Parts of a question of several parts ("metrology and quantum computing").
_PARTS = re.compile(r",|;|\band\b|\bor\b|\bas well as\b", re.I)


def rewritten(text: str, rewrites) -> str:
    """`text` with each rewritten word replaced by the document word it stands for."""
    table = dict(rewrites)
    if not table:
        return text
    pieces, last = [], 0
    for m in tokens(text):
        new = table.get(m.group(0))
        if new:
            pieces += [text[last:m.start()], new]
            last = m.end()
    pieces.append(text[last:])
    return "".join(pieces)


def without(text: str, names) -> str:
    """The topic text with the unknown names cut out (what the rest of the question asks)."""
    for name in names:
        text = text.replace(name, " ")
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r"\s+([?.!,;:'’])", r"\1", text)


def split_parts(text: str) -> list[str]:
    """The parts of a question of several parts (none when it has one)."""
    parts = [p.strip(" ?.!") for p in _PARTS.split(text)]
    parts = [p for p in parts if content_words(p)]
    return parts if len(parts) >= 2 else []


def set_aside(question: str) -> str:
    """The question without an opening clause that sets something aside ("Leaving leisure boating aside, what about
    ferries?" asks about ferries): the words of what is set aside would rank its sections first. Hand-written: a few
    fixed English openings, or a clause starting with a word that turns something away (`_EXCLUDING`); the rest of the
    question must ask something."""
    m = _SET_ASIDE.match(question) or _EXCLUDING.match(question)
    if m is None:
        return question
    rest = question[m.end():]
    return rest if content_words(rest) else question


def contrasted(question: str) -> str | None:
    """The question without what a "not X but Y" sets against what it asks ("Which area is not about benchmarks but
    about societal impacts?" -> "Which area about societal impacts?"), for ranking: X's words would rank X's section
    first. None without such a contrast or when nothing is left to ask. Scope still reads the whole question (without
    the "not", "about X" alone is often what the page never says). Hand-written: one fixed English frame."""
    m = _NOT_BUT.search(question)
    if m is None or not content_words(question[m.end():]):
        return None
    return f"{question[:m.start()].rstrip()} {question[m.end():]}"


_DETERMINERS = frozenset("the this that these those its their your a an".split())
_PARTICLES = frozenset("together up out forward".split())  # "put together", "drew up", "brought out"
_PAGE_NOUNS = frozenset("page document card text".split())


def document_verbs(bares: list[str], document_nouns: frozenset[str]) -> tuple[set[int], set[int]]:
    """The positions of the words that say who made the document and what the page rests on, whatever verb says it:
    (makers, provenance). "Who compiled the report?", "Who put together the field guide?", "Who heads the author
    list?": the verb after an opening "who" whose object is the document (a determiner, then one of
    `document_nouns` within three words) asks for its authors. "the review this page relies on", "the report the
    page is built on": the verb of a clause about the page after the document's noun says where it comes from; so
    does a participle or "come" before a "from" ending a question that names a document ("Which report is this
    taken from?").
    Hand-written: three fixed shapes of English sentence around generic nouns, so no list of verbs is needed."""
    makers: set[int] = set()
    start = next((i for i, w in enumerate(bares) if w == "who"), None)
    if start is not None and start <= 2 and start + 2 < len(bares):
        i = start + 1
        verb = [i] + ([i + 1] if bares[i + 1] in _PARTICLES else [])
        det = verb[-1] + 1
        if det < len(bares) and bares[det] in _DETERMINERS and set(bares[det + 1:det + 4]) & document_nouns:
            makers.update(verb)
    provenance: set[int] = set()
    for i, word in enumerate(bares[:-1]):
        if word in _PAGE_NOUNS and i >= 2 and bares[i - 1] in _DETERMINERS and set(bares[max(0, i - 5):i - 1]) & (
                document_nouns - _PAGE_NOUNS | {"source"}):  # "What source is this page built on?"
            provenance.add(i + 1 + (bares[i + 1] in ("is", "was") and i + 2 < len(bares)))
    if len(bares) >= 3 and bares[-1] == "from" and re.search(r"(?:en|ed|^comes?|^came)$", bares[-2]) and set(
            bares[:-2]) & (document_nouns - _PAGE_NOUNS):  # a participle or "come" ("draw its lessons from": a topic)
        provenance.add(len(bares) - 2)  # "Which report is the evidence on this page taken from?": where it comes from
    return makers, provenance


_SENTENCE_MARK = re.compile(r"[.?!;]")
# Words before a document's noun that make it the source work: "the report", "the underlying review", "its guide".
WORK_BEFORE = frozenset("the this that its their your underlying source original".split())


def asks_of_work(question: str, toks, bares: list[str], document_nouns: frozenset[str],
                 topical: Callable[[], frozenset[str]] = frozenset) -> bool:
    """Does the question ask what the source work says of itself ("Which readers was the guide prepared for?", "What
    does the report leave out?", "the guide's intended readership")? One of `document_nouns` after a word of
    WORK_BEFORE (within three words; not after "to": "hard to study" is a verb), and a word of REPORT_ASPECT_WORDS in
    the same sentence: a long question's own story ("The review we ran turned into blame. Our aim is …") can use one
    in another. An aspect word in `topical()` (the words of the titles of the page's own areas, read only when a
    question has an aspect word) is a topic of the page's own. Hand-written: a closed class of English about reports,
    never words of one document."""
    if not REPORT_ASPECT_WORDS.intersection(bares):
        return False
    sentence, n, last = [], 0, 0  # each token's sentence number, counted in one pass over the question
    for m in toks:
        n += len(_SENTENCE_MARK.findall(question, last, m.start()))
        sentence.append(n)
        last = m.start()
    own = topical()
    return any(word in document_nouns and i > 0 and bares[i - 1] != "to" and any(
        b in WORK_BEFORE for b in bares[max(0, i - 3):i])
               and any(a in REPORT_ASPECT_WORDS and a not in own and a.rstrip("s") not in own
                       and sentence[j] == sentence[i] for j, a in enumerate(bares))
               for i, word in enumerate(bares))


def names_document(bares: list[str], about: set[int], title: Callable[[], frozenset[str]],
                   document_nouns: frozenset[str], name_words: frozenset[str]) -> frozenset[str]:
    """The words that name the document in a question about who wrote it or when ("When was the red teaming field guide
    published?", "Who wrote the report on antimicrobial resistance?"): when the question asks for authors or a date,
    calls the document one of `document_nouns` (a report, guide or review) or by a word of its own name (`name_words`),
    and every other topic word is a word of the source record's title (`title()`, read only then), those words say
    which document, not what about. Empty otherwise. `about`: the positions `document_verbs` found saying who made the
    document or what the page rests on ("the radon report this page rests on"), about the document as META_WORDS are."""
    words = set(bares)
    if not (words & (AUTHORSHIP_WORDS - {"who", "when"}) and words & (document_nouns | name_words)):
        return frozenset()
    # The noun for the document is no topic word either ("Who wrote the lightning research agenda?": "agenda" is not a
    # word of the record's title).
    rest = [part for i, word in enumerate(bares)
            if word not in META_WORDS and word not in document_nouns and word not in name_words and i not in about
            for part in content_parts(word)]
    titled = title()
    if not rest or not all(w in titled or w.rstrip("s") in titled for w in rest):
        return frozenset()
    return frozenset(w for w in bares if content_parts(w))


# "Would <a name> count as the kind of <a topic> the page describes?", "Is <a name> an example of <a topic>?": a
# frame that says what a named thing is compared with; what follows it is the page's side.
_COMPARED = re.compile(r"\b(?:(?:count|work|serve|act)(?:s|ed)?\s+as|(?:an?\s+)?(?:example|instance|case|form)\s+of|"
                       r"(?:the|a|this|that)\s+(?:kind|sort|type)\s+of|"
                       r"(?:connect|relate|belong|fit)s?\s+(?:to|with|into|under|in))\s+", re.I)
# What a question says the page holds, after the name: "… fit what the page says about <a topic>?", "… match how the
# page says <a topic>?" (what follows the frame), "… run into the <topic> the page mentions?", "… illustrate the
# <topic> on the page?" (the noun phrase the page is said to hold).
_PAGE = r"(?:the|this)\s+(?:page|document|report|text|card|section|guide|review)"
_PAGE_SAYS = re.compile(rf"\b(?:what|how)\s+{_PAGE}\s+(?:says?|said|describes?|described|means?|calls?)\s+"
                        r"(?:about\s+)?", re.I)
_PAGE_HOLDS = re.compile(rf"\b(?:the|a|an)\s+((?:[\w'’-]+\s+){{0,5}}?[\w'’-]+)\s+(?:(?:that|which)\s+)?"
                         rf"(?:{_PAGE}\s+"
                         r"(?:mentions|describes|discusses|raises|covers|lists|names|highlights|recommends|proposes|"
                         rf"sets\s+out|talks\s+about|warns\s+(?:of|about))|(?:on|in)\s+{_PAGE})\b", re.I)


def compared_part(question: str, names) -> str | None:
    """The part of the question after a frame that compares a name the document never mentions with one of its topics
    ("Is a HackerOne bug bounty the sort of coordinated channel the page wants findings to go through?" -> "coordinated
    channel the page wants findings to go through?"), or what it says the page holds ("Does CISA's 72-hour rule
    illustrate the timing trade-off on the page?" -> "timing trade-off"); None without such a frame after the names.
    Hand-written: a few fixed English frames, and the name must come before them (the name is what is compared, not
    the topic: "What does the page say about the EU AI Act?" has no page side apart from the name)."""
    ends = [question.find(name) + len(name) for name in names if name in question]
    if not ends:
        return None
    frames = [m for m in _COMPARED.finditer(question) if m.start() >= max(ends)]
    says = [m for m in _PAGE_SAYS.finditer(question) if m.start() >= max(ends)]
    holds = [m for m in _PAGE_HOLDS.finditer(question) if m.start() >= max(ends)]
    rest = (question[frames[-1].end():] if frames else question[says[-1].end():] if says
            else holds[-1].group(1) if holds else "")
    return rest if content_words(rest) else None


def said_about(question: str) -> str | None:
    """What a question asks the page about when it asks in an embedded clause, after an instruction or a role ("As a
    town crier, announce what this page says about <a topic>." -> "<a topic>."): the words after the last "what the
    page says about"; None without that clause. A direct question puts the verb first ("What does the page say
    about …?"), so the embedded form means the words before it frame the question rather than ask it."""
    says = [m for m in _PAGE_SAYS.finditer(question) if m.group(0).rstrip().lower().endswith("about")]
    rest = question[says[-1].end():] if says else ""
    return rest if content_words(rest) else None


# A code as the page writes it ("2.2.1"), and a code's first part as people ask for it: "codes starting with 5",
# "whose code begins with the digit 1", "codes that start with a 3.2". The corpus layout numbers every card, so a
# number after "start(s)/begin(s) with" beside a word for codes is a code prefix; the phrase says how codes are laid
# out, not a topic. Hand-written: the layout's own numbering, a closed form, not a word list about any document.
_CODE = re.compile(r"(?<![\d.])(\d+(?:\.\d+){1,3})(?![\d])")
_CODE_PREFIX = re.compile(r"\b(?:start|starts|starting|begin|begins|beginning)\s+with\s+(?:(?:the|a|an)\s+)?"
                          r"(?:(?:digit|number|code|prefix)\s+)?(\d+(?:\.\d+){0,3})(?![\d.]*\d)", re.I)
CODE_NOUNS = frozenset("code codes coded numbered".split())  # the words a question asks about the page's codes with
LABEL_NOUNS = frozenset("label labels labelled labeled labelling".split())  # and about its labels, by that name
_CODE_WORD = re.compile(r"\b(?:" + "|".join(CODE_NOUNS) + r")\b", re.I)  # "How do I start with 3 testers?": no code


def code_mentions(question: str) -> list[tuple[str, int, int]]:
    """(the code or code prefix, where its phrase starts, where it ends) for each code the question names, in order;
    a prefix phrase spans its words ("starting with 5"), so they are read as the layout's, not as topic words."""
    prefixes = _CODE_PREFIX.finditer(question) if _CODE_WORD.search(question) else ()
    found = [(m.group(1), m.start(), m.end(1)) for m in prefixes]
    found += [(m.group(1), m.start(1), m.end(1)) for m in _CODE.finditer(question)
              if not any(a <= m.start(1) < b for _, a, b in found)]
    return sorted(found, key=lambda f: f[1])
