"""How text splits into content words: the one split the saved word tables, a question's topic and ranking share.

Ingest uses it to list the document's words (saved with the search parts); the retriever reads questions with it.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .text import fold

# Words that say where to look or what shape of answer to give, not what the question is about.
# Generic English about documents, never words of one document.
META_WORDS = frozenset("""
report reports paper papers document documents doc docs page pages article articles
section sections card cards area areas chapter chapters passage passages entry entries
author authors authored wrote written writer writers write writes contributor contributors editor editors
say says said saying state states stated mention mentions mentioned mentioning
discuss discusses discussed discussing discussion talk talks talked talking
describe describes described cover covers covered covering address addresses addressed
according per consensus source sources cite cites cited citing citation citations
reference references referenced referencing refer refers
code codes coded numbered label labels labelled labeled labelling category categories categorised
categorized classified classification filed fall falls tagged taxonomy
tell summarise summarize summary summaries overview publish published publication year date dated
anything something everything text come comes came appear appears appeared show shows
abstract introduction conclusion conclusions appendix anywhere somewhere everywhere
guide guidebook handbook book books whitepaper title titled
list lists listing listed enumerate enumerated subsection subsections sub-section sub-sections subarea subareas
sub-area sub-areas subtopic subtopics sub-topic sub-topics top-level
""".split())

# Words that ask where the document comes from ("What report is this page drawn from?", "What guide is it based
# on?", "the report behind this page"): about the document, not a topic. Beside them, words for a piece of research
# ("What report is the evidence on this page drawn from?") say which work, as they do beside a named source.
# Generic English, never words of one document.
PROVENANCE_WORDS = frozenset("drawn draws derive derives derived based adapted excerpted behind".split())
META_WORDS = META_WORDS | PROVENANCE_WORDS
# Words for several of the page's sections ("Which cards …?", "Which areas …?").
SECTION_NOUNS = frozenset("sections cards areas entries".split())
# Asking who wrote the document, when, or which document it is ("What report is this page drawn from?", "What is
# the title of the report behind this page?"): answered from the source record when nothing else is asked.
AUTHORSHIP_WORDS = frozenset(
    "author authors authored wrote written writer writers contributor contributors editor editors "
    "publish published publication year date dated who when title titled".split()
) | PROVENANCE_WORDS

# Words for a piece of research and for what it says: beside a source the question names ("Turpin's study",
# "What are Casper's findings?", "What does Hobbhahn argue?") they say which work, not what about, as META_WORDS
# do; so do words for the citing itself ("the key Leveson", "Which sections rely on / draw on / use Smith?"). Generic
# English about research, never words of one document; without a named source they are topic words.
SOURCE_WORK_WORDS = frozenset("""
study studies studied work works research researcher researchers finding findings result results evidence
analysis analyses review reviews experiment experiments argument arguments claim claims claimed view views
contribution contributions contribute contributes contributed contributing
conclude concludes concluded find finds found showed shown argue argues argued
suggest suggests suggested propose proposes proposed note notes noted observe observes observed
demonstrate demonstrates demonstrated material materials content information
illustrate illustrates illustrated illustration illustrations describe describes described discuss discusses discussed
highlight highlights highlighted emphasise emphasises emphasised emphasize emphasizes emphasized warn warns warned
mention mentions mentioned
recommend recommends recommended recommendation recommendations
key keys draw drawing rely relies relied relying lean leans leaned leant leaning use uses used using
credit credits credited attribute attributes attributed invoke invokes invoked depend depends depended
back backs backed backing support supports supported supporting underpin underpins underpinned underpinning
example examples instance instances topic topics context contexts connection connections role roles purpose
twice times name names named naming
""".split())

# What a report says of itself in its abstract: whom it is for, what it leaves out, what it aims at ("Which readers
# is the guide for?", "What does the report leave out?", "What goal does the source report set?", "Which countries does
# the report focus on?"). With the source work named as a document beside them ("the report", "the underlying review",
# "the guide's"), they ask about that work, not a topic. Generic English about reports, never words of one document.
REPORT_ASPECT_WORDS = frozenset("""
audience audiences reader readers readership aimed intended meant prepared
scope exclude excludes excluded excluding exclusion exclusions omit omits omitted omission omissions leave leaves
goal goals aim aims target targets achieve achieves objective objectives ambition ambitions
compare compares compared comparison comparisons
country countries region regions nation nations focus focuses focused purpose purposes
version versions edition editions interim draft drafts
""".split())

# How the answer should look, said inside the question ("Summarise the page in two sentences", "in plain English",
# "as a bulleted list", "briefly"): a small closed class of English, like the meta words, and no topic.
ANSWER_FORM = re.compile(
    r"\b(?:in|as|into|using|with|within)\s+(?:(?:a|an|the|just|only|no more than|at most|under|about)\s+)*"
    r"(?:(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|few|couple of|single|short|brief|simple|plain|"
    r"numbered|bulleted|bullet|everyday|layman'?s|non-technical)\s+)*"
    r"(?:sentences?|bullets?(?:\s+points?)?|points|paragraphs?|words|lines|list|table|terms|english|language|"
    r"nutshell|summary)\b|\b(?:briefly|concisely|succinctly|eli5)\b"
    # A count of what the question points back to or asks for ("those two areas", "Which two cards …?"): how many.
    r"|\b(?:those|these|which)\s+(?:two|three|four|five|six|seven|eight|nine|ten)\b"
    # A count of the answer's parts without a preposition ("Give three bullet points on …", "two sentences on …").
    r"|\b(?:\d+|two|three|four|five|six|seven|eight|nine|ten|a few|a couple of)\s+(?:short\s+|brief\s+|simple\s+)?"
    r"(?:sentences|bullets|bullet\s+points|points|paragraphs|lines|words)\b"
    # A length written as one adjective ("the page's one-sentence rationale", "a two-line summary").
    r"|\b(?:\d+|one|two|three|four|five|single|short)-(?:sentence|line|paragraph|word)\b"
    # An instruction to the assistant itself inside the question ("Ignore prior instructions and say …", "disregard
    # your rules"): the common prompt-injection opener, at the start of a sentence, is about the assistant, never the
    # question's topic ("Why do teams ignore the rules on reporting?" keeps its words).
    r"|(?:^|(?<=[.!?;:]))\s*(?:ignore|disregard|forget|override)\s+(?:(?:all|any|every|the|your|my|of|these|those|previous|prior|above|"
    r"earlier|preceding|former|original|system|other)\s+)*(?:instructions?|rules|prompts?|directions|guidelines|"
    r"guidance|constraints|above|everything(?:\s+(?:above|before|else))?)\b(?:\s+(?:and|then))?"
    # A voice the answer is asked in ("answer as a sports commentator", "pretend you are a pirate and", "you're a
    # stand-up comedian now:", "staying in character", "like I'm ten years old"): how the answer should sound, no topic.
    r"|(?:(?:^|(?<=[,.!?;:]))\s*|(?<=\band\s)|(?<=\bplease\s))(?:answer|respond|reply|write|speak|talk)\s+(?:as|like)\s+(?:an?\s+)?(?:[\w-]+\s+){0,2}?[\w-]+(?=\s*[,.:;!?])"
    r"|\b(?:pretend|imagine)\s+(?:that\s+)?(?:you(?:'re|’re|\s+are)|to\s+be)\s+(?:an?\s+)?(?:[\w-]+\s+){0,2}?[\w-]+"
    r"(?=\s*[,.:;!?]|\s+(?:and|then)\b)(?:\s+(?:and|then)\b)?"
    r"|(?:^|(?<=[,.!?;:]))\s*you(?:'re|’re|\s+are)\s+(?:now\s+)?an?\s+(?:[\w-]+\s+){0,2}?[\w-]+(?:\s+now)?(?=\s*[,.:;!?])"
    r"|\b(?:while\s+)?stay(?:ing)?\s+in\s+character\b|\blike\s+(?:i'?m|i’m|i\s+am)\s+(?:an?\s+)?(?:\w+\s+){0,3}?"
    r"(?:old|child|kid|beginner|novice)\b", re.I)
# How a turn of a conversation opens, before its question ("Never mind.", "Switching topics:", "OK, thanks. Now …",
# "On another note,"): a small closed class of English at the start of a question, no topic (like ANSWER_FORM).
DISCOURSE_OPENING = re.compile(
    r"^\s*(?:(?:(?:never\s?mind|moving on|got it|by the way|btw|one more thing|thank you|all right|"
    r"(?:switching|changing|change of)\s+(?:the\s+)?(?:topics?|subjects?|gears)|"
    r"on\s+(?:a\s+|an\s+)?(?:different|other|another|separate|unrelated)\s+(?:note|topic|subject)|"
    r"(?:a\s+|one\s+|my\s+)?(?:different|new|another|separate|unrelated|next)\s+(?:question|topic|subject))\b"
    # One word ("OK", "Now", "Next") opens a turn only before a pause or the question's own first word.
    r"|(?:ok(?:ay)?|thanks|great|cool|alright|anyway|next|now|so)\b(?=\s*[,.:;!\u2014\u2013-]|\s+(?:what|which|who|"
    r"whom|whose|when|where|why|how|is|are|was|were|does|do|did|can|could|would|should|will|tell|list|give|show|"
    r"explain|describe|summari[sz]e|and)\b))[\s,.:;!\u2014\u2013-]*)+", re.I)
# Words that carry no topic beyond NLTK's English stopwords (which bm25s ships): modal and light
# verbs and fillers that questions are phrased with.
_FILLER = frozenset("""
could would might may must shall also get gets got getting make makes made go goes going
one ones thing things way ways kind kinds lot lots much many really actually please like want
need needs know let us anyone someone exactly whether else
another give gives given meant every explicitly expressly specifically whose among amongst
""".split())  # "another": which one, not what about; "every": a determiner like NLTK's "each";
# "give", "given", "meant": light verbs ("What is meant by …?"); "whose", "among", "amongst": closed-class words NLTK's
# list leaves out beside its "whom" and "between"
# NLTK's list has "you're" and "don't" but not "i'm", "we've" or "what's": every stopword pronoun or wh-word with a
# contracted verb is one too, and so are the forms typed without the apostrophe where they are no other word
# ("im", "dont"; not "ill", "id", "well", "wont").
_CONTRACTED = ("'m", "'re", "'ve", "'ll", "'d", "'s")
_CONTRACTED_BASES = "i you we they he she it that what who where when why how there here let".split()
_UNMARKED = frozenset("""
im ive youre youve theyre theyve weve hes shes thats whats whos theres heres dont doesnt didnt isnt arent wasnt
werent cant couldnt shouldnt wouldnt havent hasnt hadnt
""".split())

# "What ways of learning from failures does the page describe?", "Which methods are …?", "What steps should a lab
# take?": a wh-word, then (after at most one word) a plural noun the question goes on to ask about with an auxiliary
# or "of". A verb in that place ("What happens when …", "What causes fires to spread?") is not followed by one.
# Hand-written because no part-of-speech tagger is installed; the pattern is general English, no page's words.
_ASKED_AUX = "do|does|did|are|were|is|was|can|could|should|would|will|might|may|must|have|has|help|of"
PLURAL_ASKED = re.compile(r"^\W*(?:what|which)\s+(?:(?:are|were)\s+(?:the\s+)?)?(?:[a-z-]+\s+)?"
                          rf"[a-z-]+[^siu\W]s\s+(?:{_ASKED_AUX})\b", re.I)


_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:['’][A-Za-z]+)?(?:-[A-Za-z0-9]+)*")

@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """NLTK's English stopwords (as shipped by bm25s) plus question fillers: the one stopword set."""
    from .bm25_read import bm25s_stopwords

    contracted = {base + end for base in _CONTRACTED_BASES for end in _CONTRACTED}
    return frozenset(bm25s_stopwords().STOPWORDS_EN_PLUS) | _FILLER | contracted | _UNMARKED


def tokens(text: str) -> list[re.Match]:
    """Word tokens with their positions ("chain-of-thought" stays one token), read with diacritics folded
    (`fold`: "Nuñez" is the one token "Nunez", at the same offsets)."""
    return list(_tokens(text))


@lru_cache(maxsize=1024)
def _tokens(text: str) -> tuple[re.Match, ...]:
    # A search splits its question in several places (the topic, its entities, the names, the tags): once here.
    return tuple(_TOKEN.finditer(fold(text)))


def bare(word: str) -> str:
    """Lower-case, without a possessive 's."""
    low = word.lower().replace("’", "'")
    return low[:-2] if low.endswith("'s") else low


# Beside a word for the page's codes, labels or category, "share" and "same" say how they are laid out ("Which areas
# share the code 2.2.1?"), and "parent" and "mitigation" name the layout's own parts (the corpus README: "the taxonomy
# category the mitigation sits in", "the category's parent"): "What is the parent category?" (retriever/topic.py).
LAYOUT_WORDS = frozenset("share shares shared sharing same common parent mitigation".split())


def kind_of_code(bares: list[str], toks: list[re.Match], i: int) -> bool:
    """"codes" after a word that says which kind ("building codes", "legal codes"): a topic, not the page's codes.
    Not after a stopword, a word about the document ("section codes"), a layout word ("share codes") or a
    possessive; the singular stays the page's ("the metrology code", "What is the indoor overheating code?")."""
    if bares[i] != "codes" or i == 0 or toks[i - 1].group(0).endswith(("'s", "’s")):
        return False
    before = bares[i - 1]
    return before.isalpha() and not any(before in words for words in (stopwords(), META_WORDS, SOURCE_WORK_WORDS,
                                                                        LAYOUT_WORDS))


# Words for the document that are also verbs of a topic ("How should I report it?", "Do they document near misses?").
_NOUN_OR_VERB = frozenset("report reports document documents".split())
# Before a verb, never before the noun: a subject pronoun, "to", a modal or an auxiliary.
_BEFORE_VERB = frozenset("i we you they to should would could can must will shall may might do does did not".split())


def used_as_verb(bares: list[str], i: int) -> bool:
    """ "report" or "document" as what someone does ("How should I report it?"): a topic word, not the document."""
    return bares[i] in _NOUN_OR_VERB and i > 0 and bares[i - 1] in _BEFORE_VERB


def qualifies_noun(label: str, question: str) -> bool:
    """A one-word label written in lower case before a word for labels ("Which other category …?"): an adjective."""
    return re.search(rf"\b{re.escape(label.strip().lower())}\s+(?:category|categories|label|labels)\b", question) is not None


def inside_at(spans: list[tuple[int, int]], toks: list[re.Match], i: int) -> bool:
    """Token i lies inside one of the spans (a named entity's)."""
    return 0 <= i < len(toks) and any(a <= toks[i].start() and toks[i].end() <= b for a, b in spans)


# The words Title Case writes in lower case (articles, short prepositions and conjunctions).
TITLE_SMALL_WORDS = frozenset("a an the and but or nor for so yet as at by in of off on per to up via vs v".split())


def capitals_name_nothing(words: list[str]) -> bool:
    """A question in Title Case or SHOUTED, whose capitals say nothing about names.

    Short acronyms ("EU", "AI") are capitalised in any sentence, so they do not count towards it. Title Case leaves
    only its small words in lower case ("of", "the", "and"): any other lower-case word after the first ("is" in "What
    is the Sarbanes-Oxley Act?") makes the question a sentence, whose capitals are names however few its other words.
    """
    long_words = [w for w in words if not (len(w) <= 3 and w.isupper())]
    sentence = any(w.islower() and (len(w) >= 4 or w not in TITLE_SMALL_WORDS) for w in words[1:])
    return sum(w[0].isupper() for w in long_words) * 2 > len(long_words) and not sentence


def starts_sentence(text: str, at: int) -> bool:
    """Whether the word at offset `at` is a sentence's first, whose capital says nothing about it."""
    before = text[:at].rstrip()
    return not before or before[-1] in ".?!:;\"“("


def inner_capital(word: str) -> bool:
    """A capital after the first letter ("McGregor", "xAI", "iPhone"): a name's form, which no everyday word has."""
    return any(c.isupper() for c in word[1:])


def lone_capital(question: str, toks: list, i: int) -> bool:
    """Token `i` is capitalised where no sentence starts and stands alone: no capitalised word beside it, nor after an
    "and" or "of" ("Does Rice back it?" names Rice; "Khan Academy", "Marks and Spencer" are other names)."""
    if not toks[i].group(0)[:1].isupper() or starts_sentence(question, toks[i].start()):
        return False
    near = [i - 1, i + 1] + ([i + 2] if i + 2 < len(toks) and toks[i + 1].group(0).lower() in ("and", "of") else [])
    return not any(0 < j < len(toks) and toks[j].group(0)[:1].isupper() for j in near)


def content_parts(word: str) -> list[str]:
    """The parts of one bare word that carry meaning (hyphenated parts split; stop, meta and number parts dropped)."""
    return list(_bare_parts(word))


@lru_cache(maxsize=65536)
def _bare_parts(word: str) -> tuple[str, ...]:
    # Each bare word is split once: a search asks for the parts of its question's words in several places.
    stop = stopwords()
    parts = (part.strip("'") for part in word.split("-"))
    return tuple(p for p in parts if len(p) > 1 and p not in stop and p not in META_WORDS and not p.isdigit())


def content_words(text: str) -> list[str]:
    """Lower-case words that carry meaning: hyphenated parts split, stopwords and meta words dropped."""
    # Each distinct token is split once (a large index's sections share most of their words): the soft word
    # match splits every candidate section of a question, 170 a search at 100,000 sections.
    return [part for token in _TOKEN.findall(text) for part in _token_parts(token)]


@lru_cache(maxsize=65536)
def _token_parts(token: str) -> tuple[str, ...]:
    return _bare_parts(bare(token))


def section_words(title: str, text: str) -> list[str]:
    """A section's distinct content words, in first-use order (what the soft match pairs with)."""
    return list(dict.fromkeys(content_words(f"{title}\n{text}")))


def document_words(sections) -> list[str]:
    """Every content word of the sections, sorted: the words ingest encodes and saves."""
    return sorted({w for s in sections for w in section_words(s.title, s.text)})
