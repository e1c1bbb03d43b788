"""The evidence a question's scope and ranking are decided on, gathered once into one record.

Each topic word is read once: is it a document word (stemmed), an abbreviation or a misspelling of one
(expanded or corrected against the document's vocabulary), a name the document itself uses (a source
key, an author), and how informative it is in general English (`wordfreq`'s Zipf frequency). Names the
question uses that the document never does ("the EU AI Act", "Meta") are found from the same reading.
The dense support of each way the question can be read (the whole topic; the topic without the unknown
names; only the words the document uses; each part of a question of several parts) is the best chunk
cosine; the readings beyond the whole topic are encoded only when the decision asks for them (a part's
only when all its words are the document's).

`retriever/decision.py` decides scope, partial coverage and what to rank for from this record alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache, partial

from consensus_chat.ingest.text import asked_sentence
from consensus_chat.ingest.words import bare, content_parts, content_words, starts_sentence, tokens

from .names import named_form, unknown_names
from .topic import Topic
from .wording import compared_part, rewritten, said_about, split_parts, without


@lru_cache(maxsize=65536)
def zipf(word: str) -> float:
    """How common a word is in general English: wordfreq's Zipf scale (log10 of uses per billion words;
    "the" 7.7, "kitchen" 4.7, "renovation" 3.7, 0 for a word it never saw)."""
    from consensus_chat.ingest.wordfreqs import cached_zipf

    known = cached_zipf().get(word)  # wordfreq's own value, kept by ingest: no wordfreq import
    if known is not None:
        return known
    from wordfreq import zipf_frequency

    return zipf_frequency(word, "en")


@dataclass(frozen=True)
class WordEvidence:
    """One topic word: what the document makes of it, and how much it says in general English."""

    word: str  # lower-case, as the question writes it
    covered: bool  # the document uses it, an inflection of it, or (rewritten) the word it stands for
    rewrite: str | None  # the document word an abbreviation or misspelling stands for
    zipf: float  # general-English frequency (wordfreq); high = common, says little
    ubiquitous: bool = False  # in most of the document's sections ("ai" on a page about AI): says nothing
    name: str | None = None  # the unknown name it is part of ("EU AI Act"), if any


# Zipf frequency of the most common English words ("the" 7.7): a word's informativeness is how far
# below it the word sits (log10 of how many times rarer it is: its information content, in decimal digits).
ZIPF_TOP = 8.0
# A word used about once in 3,000 words or more often ("set" 5.6, "way" 6.0, "new" 6.3, "work" 6.0) cannot
# carry a topic by itself: a question whose other words are all this common is about its names.
ZIPF_COMMON = 5.5
# Everyday English (wordfreq zipf >= 4.8, about 60 uses a million words: "happens" 5.0, "better", "need"): a word
# the document does not use but that names no topic of its own, unlike "bread" (4.5), "bake" (3.9), "scouts" (3.8).
ZIPF_EVERYDAY = 4.8


def informativeness(word: WordEvidence) -> float:
    """How much a word says about a topic: log10 of how much rarer it is than the commonest English words."""
    return informativeness_of_zipf(word.zipf)


def informativeness_of_zipf(zipf_value: float) -> float:
    """`informativeness` of a word with this Zipf frequency (for callers holding a bare word's frequency)."""
    return max(0.0, ZIPF_TOP - zipf_value)


def telling(words) -> list[WordEvidence]:
    """The words that tell whether a topic is covered. Words in most of the document's sections ("ai", "model" on a
    page about AI models) say nothing about it when the topic has a word of its own beside them ("How do AI models
    bake bread?"), so they are left out then; beside only everyday words ("What sub-areas sit under Red Teaming?" on a
    page about red teaming, "What do outside red teams offer?") the page's own subject is what is asked, and they stay.
    """
    rest = [w for w in words if not w.ubiquitous]
    return rest if any(w.zipf < ZIPF_EVERYDAY for w in rest) else list(words)


@lru_cache(maxsize=4096)
def coverage(words: tuple[WordEvidence, ...]) -> float:
    """Share of the words' informativeness that the document covers (1.0 for no words), over the `telling` words."""
    words = telling(words)
    total = sum(informativeness(w) for w in words)
    if total <= 0:
        return 1.0
    return sum(informativeness(w) for w in words if w.covered) / total


@dataclass(frozen=True)
class Reading:
    """One way to read the question's topic: its text, its words and its dense support."""

    text: str  # as searched (abbreviations expanded, misspellings corrected)
    words: tuple[WordEvidence, ...]
    dense: dict = field(default_factory=dict, compare=False)  # section id -> best chunk cosine (candidates)
    vector: object = field(default=None, compare=False, repr=False)
    wording: str = ""  # as the question writes it (for notices)

    @property
    def best(self) -> float:
        """The best chunk cosine of this reading (0 when nothing was recalled)."""
        return max(self.dense.values()) if self.dense else 0.0


@dataclass(frozen=True)
class Part:
    """One part of a question of several parts. Its dense support costs an encoding, so it is read when asked
    for: a part with a word the document does not use is missing whatever its support (decision.py)."""

    text: str  # as searched (abbreviations expanded, misspellings corrected)
    words: tuple[WordEvidence, ...]
    wording: str  # as the question writes it (for notices)
    read: Callable[[], Reading] = field(repr=False, compare=False)

    @cached_property
    def reading(self) -> Reading:
        """The part's reading, searched densely (once)."""
        return self.read()

    @property
    def best(self) -> float:
        """The best chunk cosine of this part."""
        return self.reading.best


@dataclass
class Evidence:
    """Everything the scope and ranking decision reads, for one question.

    The whole topic's reading is always there; the reading without unknown names, and the readings of
    a question's parts, are made (one encoding each) only when the decision asks for them.
    """

    question: str
    topic: Topic
    words: tuple[WordEvidence, ...]
    names: tuple[str, ...]  # names the question uses and the document never does
    full: Reading  # the whole topic (abbreviations expanded, misspellings corrected)
    rewrites: tuple[tuple[str, str], ...] = ()
    reader: Callable[[str, tuple], Reading] | None = field(default=None, repr=False, compare=False)
    ask: Callable[[str], Evidence] | None = field(default=None, repr=False, compare=False)  # gathers a sentence
    # The parent area the question asks the sections of, and its sections' ids (retriever/outline.py), or None.
    outline: tuple[str, tuple[str, ...]] | None = None

    @property
    def empty(self) -> bool:
        """No topic words: only entities or words about the document."""
        return self.topic.empty

    @cached_property
    def known(self) -> tuple[WordEvidence, ...]:
        """What the question names that the document knows (a section's title, a source key, a code, a label, an
        author), as words the document uses: a title by its content words, anything else as one word. They are
        set aside from the topic words, yet they are what the document can answer for beside an unknown name."""
        return _covered_words(self.topic.entities)

    @cached_property
    def sources(self) -> tuple[WordEvidence, ...]:
        """The source keys the question names, as words the document uses: the question asks what the page cites
        them for ("What does the page attribute to Smith-B?"), so they count towards coverage. Not beside a name the
        document never uses ("Does OpenAI use my ChatGPT chats?": a key can be an organisation, asked about as one),
        and not authors (the record's authors, asked about another work of theirs, are not what the page covers)."""
        return () if self.names else _covered_words(e for e in self.topic.entities if e.kind == "source-key")

    @cached_property
    def titles(self) -> tuple[WordEvidence, ...]:
        """The content words of the sections' titles the question names, as words the document uses: "Which tags
        apply here?" asks about the Tags section, whatever verb it asks with, so they count towards coverage. Only
        when the title is what the question is most about: no uncovered topic word is rarer than the title's rarest
        word ("Is it good for baking bread? — Complaint and review mining"), and not beside an unknown name."""
        titles = _covered_words(e for e in self.topic.entities if e.kind == "title")
        if self.names or not titles:
            return ()
        rarest = min(w.zipf for w in titles)
        return () if any(w.zipf < rarest for w in self.words if not w.covered) else titles

    def read(self, text: str, words: tuple[WordEvidence, ...]) -> Reading:
        """A reading of some of the topic: the text (rewritten), its words and its dense support."""
        return replace(self.reader(rewritten(text, self.rewrites), words), wording=text)

    @cached_property
    def asked(self) -> Evidence | None:
        """The evidence of the one question sentence of a question written with context (`text.asked_sentence`), or of
        the page's side of a comparison with a name it never mentions (`wording.compared_part`)."""
        text = asked_sentence(self.question, typed=True) if self.ask else None
        if text is None and self.ask and self.names:
            # "Would <a name> count as the kind of <a topic> the page describes?": the page's side is what is asked.
            text = compared_part(self.question, self.names)
        if text is None and self.ask:
            text = said_about(self.question)  # "Ignore the rules and tell me what the guide says about <a topic>."
        return self.ask(text) if text else None

    @cached_property
    def rest(self) -> Reading | None:
        """The topic without the unknown names (None when it names nothing unknown)."""
        if not self.names:
            return None
        words = tuple(w for w in self.words if w.name is None)
        if not words:
            return Reading("", (), {})
        return self.read(without(self.topic.text, self.names), words)

    @property
    def ranked(self) -> Reading:
        """What ranking reads: the topic without the unknown names when it has any, else the whole topic."""
        return self.rest if self.names else self.full

    @cached_property
    def covered(self) -> Reading | None:
        """The topic without the informative words the document does not use, nor unknown names; None when
        there are none. Common words ("right", "way") stay: they cannot make a question about something else."""
        gone = {w.word for w in self.words if w.name is not None or not (w.covered or w.zipf >= ZIPF_COMMON)}
        if not gone or self.reader is None:
            return None
        kept = tuple(w for w in self.words if w.word not in gone)
        if not any(w.covered for w in kept):
            return Reading("", (), {})
        text = without(self.topic.text, self.names)
        text = " ".join(m.group(0) for m in tokens(text) if not set(content_parts(bare(m.group(0)))) & gone)
        return self.read(text, kept)

    @property
    def pull(self) -> float:
        """How far the words the document does not use pull the question away from it: the dense support of
        the used words alone minus that of the topic (without unknown names), when positive, times the
        share of the topic's informativeness those words carry.

        A paraphrase's own words mean what the document says in other words, so dropping them does not
        bring the question closer ("executives" beside *senior leadership*); the words that make a question
        about something else do ("investing in stocks" beside *measuring risk*). Read by the one encoder
        in context, which single-word vectors cannot do (docs/scope.md, section 3).
        """
        covered = self.covered
        if covered is None or not covered.words:
            return 0.0
        reading = self.ranked
        # Weighted by the share of the topic's information the dropped words carry: leaving out common words
        # ("problem", "right") sharpens any question a little, which says nothing about its topic.
        dropped = 1.0 - coverage(tuple(w for w in self.words if w.name is None and (w.covered or w.zipf < ZIPF_COMMON)))
        return max(0.0, covered.best - reading.best) * dropped

    @cached_property
    def parts(self) -> tuple[Part, ...]:
        """Each part of a question of several parts ("metrology and quantum computing"); () for one part."""
        if self.empty:
            return ()
        by_word = {w.word: w for w in self.words}
        out = []
        for part in split_parts(self.topic.text):
            words = tuple(by_word[w] for w in content_words(part) if w in by_word)
            if words:
                out.append(Part(rewritten(part, self.rewrites), words, part, partial(self.read, part, words)))
        return tuple(out) if len(out) >= 2 else ()


def read_words(topic: Topic, vocabulary, analyzer) -> tuple[tuple[WordEvidence, ...], tuple[str, ...], list]:
    """(each topic word's evidence, the unknown names, the rewrites (original, document word)).

    Every word is expanded and corrected once here; nothing downstream asks the vocabulary again.
    """
    seen: dict[str, WordEvidence] = {}
    # A word written as a name ("Grok") is no slip of a document word ("grow") one letter away.
    as_name = {bare(m.group(0)) for m in tokens(topic.question)
               if named_form(m.group(0)) and not starts_sentence(topic.question, m.start())}

    def evidence(word: str) -> WordEvidence:
        if word not in seen:
            covered = vocabulary.covers(word) or analyzer.is_document_name(word)
            rewrite = None if covered else (vocabulary.expand(word) or vocabulary.correct(word, word in as_name))
            seen[word] = WordEvidence(word, covered or rewrite is not None, rewrite, zipf(word),
                                      vocabulary.stem([word])[0] in vocabulary.ubiquitous)
        return seen[word]

    names = unknown_names(topic, evidence, analyzer)
    in_name = {p: name for name, parts in names for p in parts}
    words = tuple(_named(evidence(w), in_name.get(w)) for w in topic.words)
    rewrites = []
    for m in tokens(topic.text):
        low = m.group(0).lower()
        ev = seen.get(low)
        if ev is not None and ev.rewrite and low in topic.words:
            rewrites.append((m.group(0), ev.rewrite))
    return words, tuple(name for name, _ in names), rewrites


def _named(ev: WordEvidence, name: str | None) -> WordEvidence:
    return ev if name is None else replace(ev, name=name)


def _covered_words(entities) -> tuple[WordEvidence, ...]:
    """Named entities as words the document uses: a title by its content words, anything else as one word."""
    return tuple(WordEvidence(word, True, None, zipf(word)) for entity in entities
                 for word in (content_words(entity.text) if entity.kind == "title" else [entity.text.lower()]))
