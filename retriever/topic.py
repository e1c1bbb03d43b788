"""What a question is about: its topic words, once meta words, stopwords and named entities are set aside.

"What does the report say about incident databases?" is about *incident databases*; "the report" and "say" only say
where to look. Scope and ranking are decided on the topic. Named entities (a section code, a source key, a title, a
label, an author of the source record) are found by the index's own tables, never by a list written for one document,
and count only when distinctive: a surname that is also a common English word ("Song", "Reason") needs corroboration (a
capital where no sentence starts, or the rest of the question); a label, a question about labels. Which words are
"common English" is read off the embedding model's WordPiece vocabulary (a word that is one whole piece there is an
everyday word), so no word list has to be written for a new page."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from consensus_chat.ingest.lookups import Lookups, normalise_with_offsets
from consensus_chat.ingest.section import Section
from consensus_chat.ingest.vocabulary import analyzer_table, document_name_words
from consensus_chat.ingest.words import (ANSWER_FORM, AUTHORSHIP_WORDS, DISCOURSE_OPENING, LAYOUT_WORDS, META_WORDS,
                                         PROVENANCE_WORDS, REPORT_ASPECT_WORDS, SOURCE_WORK_WORDS, bare, content_parts,
                                         inner_capital, inside_at, kind_of_code, lone_capital, qualifies_noun, tokens,
                                         used_as_verb)
from consensus_chat.ingest.wordtable import wordpiece_lexicon  # noqa: F401 (re-exported: the retriever reads it here)

from .keyphrases import find_key_phrases, phrase_table
from .wording import LABEL_NOUNS, TAG_NAMES, WORK_BEFORE, asks_of_work, code_mentions, document_verbs, names_document

LABEL_WORDS = LABEL_NOUNS | frozenset("category categories categorised categorized classified classification filed "
                                      "fall falls tagged taxonomy".split())  # the label nouns, and words for classing
# What a question calls the document asking who wrote it or when, or what it leaves out ("the crowd agenda").
DOCUMENT_NOUNS = frozenset("report paper document article guide guidebook handbook book whitepaper review study agenda publication".split())
AUTHOR_NOUNS = frozenset("author authors page".split())  # "Who heads the author list?", "Who made this page?"
LAYOUT_NOUNS = frozenset("code codes label labels category categories".split())
RESEARCH_AREA_NOUNS = frozenset("area areas card cards section sections entry entries".split())  # "research cards"
TAG_WORDS = frozenset("tag tags tagged tagging".split())
CITE_WORDS = frozenset("cite cites cited citing citation citations reference references referenced referencing "
                       "source sources".split())


@dataclass(frozen=True)
class Entity:
    """A thing the question names exactly: which sections carry it, and where it sits in the question."""

    kind: str  # "code", "source-key", "title", "label", "author"
    text: str
    ids: tuple[str, ...]
    start: int
    end: int


@dataclass(frozen=True)
class Topic:
    """A question split into where-to-look words, named entities and the topic that remains."""

    question: str
    text: str  # the question without meta words: what dense and lexical search read
    words: tuple[str, ...]  # content words: no stopwords, meta words or entity words
    entities: tuple[Entity, ...]
    meta: tuple[str, ...]
    made_by: bool = False  # asks who made the document, whatever verb says it ("Who compiled the report?")
    rests_on: bool = False  # asks what the page rests on, whatever verb says it ("Which report does this page draw on?")
    about_work: bool = False  # asks what the source work says of itself: its readers, scope, goal ("What does the report leave out?")

    @property
    def empty(self) -> bool:
        """No topic words: the question is only entities and/or words about the document."""
        return not self.words

    @property
    def asks_authorship(self) -> bool:
        """Who wrote the document, or when (only meaningful when the topic is empty)."""
        return self.made_by or any(m in AUTHORSHIP_WORDS for m in self.meta) or bool(  # "When was the report released?"
            set(self.meta) & DOCUMENT_NOUNS and re.match(r"\W*when\b", self.question, re.I))

    @property
    def asks_citations(self) -> bool:
        """The question is about what cites what."""
        return any(m in CITE_WORDS for m in self.meta)

    @property
    def about_document(self) -> bool:
        """Nothing but words about the document itself ("Who wrote this report?", "What does it say?")."""
        return self.empty and not any(e.kind != "author" for e in self.entities)

    def kinds(self) -> set[str]:
        """The kinds of entity found."""
        return {e.kind for e in self.entities}


class TopicAnalyzer:
    """Finds entities and topic words in questions, using tables built from one index's sections."""

    def __init__(self, sections: list[Section], lexicon: frozenset[str] = frozenset()):
        self.lookups = Lookups(sections)
        self.lexicon = lexicon
        self.document_name_words = document_name_words(sections)

    def to_dict(self) -> dict:
        """What `from_dict` needs to rebuild this analyzer without reading the sections again (saved parts)."""
        return analyzer_table(self.lookups, self.document_name_words)

    @classmethod
    def from_dict(cls, data: dict, lexicon: frozenset[str] = frozenset()) -> TopicAnalyzer:
        """The analyzer `to_dict` described; KeyError, TypeError or ValueError if `data` is not such a dict."""
        analyzer = cls.__new__(cls)
        analyzer.lookups = Lookups.from_dict(data["lookups"])
        analyzer.lexicon = lexicon
        analyzer.document_name_words = frozenset(data["document_name_words"])
        return analyzer

    def is_document_name(self, word: str) -> bool:
        """A source key, an author's surname or given name, or a word of the document's own name, written
        in any case, with a possessive ("Smith's") or as a plural ("the Smiths")."""
        low = bare(word)
        return low in self._names or (low.endswith("s") and low[:-1] in self._names)

    @functools.cached_property
    def _names(self) -> set[str]:
        """Every name `is_document_name` knows, lower case, built on first use."""
        lk = self.lookups
        return {*lk.keys, *lk.key_bases, *self.document_name_words,
                *(n.lower() for surname, (_, given) in lk.authors.items() for n in (surname, *given))}

    @functools.cached_property
    def _key_phrases(self) -> dict[str, list]:
        """The table of source keys of several words (retriever/keyphrases.py), built on first use."""
        return phrase_table(self.lookups.keys, self.lookups.key_bases)

    def distinctive(self, word: str) -> bool:
        """Not an everyday English word or common name (so an exact match on it means something)."""
        return word.lower() not in self.lexicon

    def analyse(self, question: str) -> Topic:
        """Split a question into meta words, entities and topic words."""
        toks = tokens(question)  # split once: the entities and the topic words read the same tokens
        bares = [bare(m.group(0)) for m in toks]
        entities = self._entities(question, toks, bares)
        covered = [(e.start, e.end) for e in entities]
        meta, words = [], []
        last = 0
        pieces = []
        # A word of the document's own name ("field" of "A Field Guide") says which document, not what
        # about, when it is written as a name or beside words about the document ("the field guide").
        about_document = any(word in META_WORDS for word in bares)
        makers, provenance = document_verbs(bares, DOCUMENT_NOUNS | AUTHOR_NOUNS | self.document_name_words)
        # A named source, a word for citing ("Which source backs it?"), a question about where the document comes from,
        # or the document written as an owner ("the guide's main argument") says which work "study" or "argument" is.
        names_source = bool(provenance) or any(e.kind in ("source-key", "author") for e in entities) or any(
            word in PROVENANCE_WORDS or word in CITE_WORDS for word in bares) or any(
            word in DOCUMENT_NOUNS and m.group(0).lower().endswith(("'s", "’s")) for m, word in zip(toks, bares))
        titles_document = names_document(bares, makers | provenance, lambda: self._source_title_words,
                                         DOCUMENT_NOUNS, self.document_name_words)
        if makers or set(bares) & AUTHORSHIP_WORDS - {"who", "when"}:  # "Who wrote From Shelf to Bin?"
            titles_document |= {bare(m.group(0)) for t, *_ in self.lookups.work_titles_in(question) for m in tokens(t)}
        # The source work asked about itself (wording.asks_of_work): words for research beside it say which work.
        names_work = asks_of_work(question, toks, bares, DOCUMENT_NOUNS, lambda: self._area_title_words)
        names_source = names_source or names_work
        # "Which areas share the code 2.2.1?", "What code do those two areas share?": beside a word for the document's
        # codes or labels, "share" and "same" say how they are laid out, not what about.
        layout = bool(set(bares) & LAYOUT_NOUNS)
        # "in two sentences", "as a bulleted list", "briefly": how to answer, not what about; "Never mind.", "Switching
        # topics:" before the question: how the turn opens.
        form = [(f.start(), f.end()) for f in ANSWER_FORM.finditer(question)]
        opening = DISCOURSE_OPENING.match(question)  # anchored at the start: one match at most, never empty
        form += [opening.span()] if opening else []
        for i, (m, word) in enumerate(zip(toks, bares)):
            if form and any(a <= m.start() and m.end() <= b for a, b in form):
                pieces.append(question[last:m.start()])
                last = m.end()
                continue
            inside = inside_at(covered, toks, i)
            # "the research areas", "which study areas": a word for research before "area(s)" is the layout's own name
            # for a card (the corpus README's "research area"), not a topic.
            compound = word in SOURCE_WORK_WORDS and i + 1 < len(bares) and bares[i + 1] in RESEARCH_AREA_NOUNS
            # "building codes"; not "codes starting with 5" (a code's phrase beside it)
            coded = kind_of_code(bares, toks, i) and not any(inside_at(covered, toks, j) for j in (i - 1, i + 1))
            verb = used_as_verb(bares, i)  # "How should I report it?": what is done, not the document
            is_meta = not verb and (word in META_WORDS and not coded or i in makers or i in provenance or (
                (names_source or compound) and word in SOURCE_WORK_WORDS) or word in titles_document or (
                layout and word in LAYOUT_WORDS) or (
                word in self.document_name_words and (m.group(0)[0].isupper() or about_document)) or (
                names_work and word in REPORT_ASPECT_WORDS) or (
                i + 1 < len(bares) and (word in WORK_BEFORE and bares[i + 1] in DOCUMENT_NOUNS or bares[i + 1] in (
                    "author", "authors") and content_parts(word))))  # "the underlying report"; "the lead author"
            if is_meta:
                meta.append(word)
                pieces.append(question[last:m.start()])
                last = m.end()
                continue
            if not inside:
                words.extend([word] if coded or verb else content_parts(word))
        pieces.append(question[last:])
        text = re.sub(r"\s+", " ", "".join(pieces)).strip()
        text = re.sub(r"\s+([?.!,;:])", r"\1", text)
        if not re.search(r"[A-Za-z0-9]", text):
            text = question.strip()
        return Topic(question=question, text=text, words=tuple(words), entities=tuple(entities), meta=tuple(meta),
                     made_by=bool(makers), rests_on=bool(provenance), about_work=names_work)

    @functools.cached_property
    def _area_title_words(self) -> frozenset[str]:
        """The content words of the titles of the sections other than the source record (and without a plural s)."""
        return self._title_words(source=False)

    @functools.cached_property
    def _source_title_words(self) -> frozenset[str]:
        """The content words of the source record's title (and their forms without a plural s)."""
        return self._title_words(source=True)

    def _title_words(self, source: bool) -> frozenset[str]:
        lk = self.lookups
        titles = [t for t, ids in lk.titles.items() if bool(set(ids) & set(lk.report_ids)) == source]
        words = {w for t in titles for part in t.split() for w in content_parts(part)}
        return frozenset(words | {w.rstrip("s") for w in words})

    # -- entities --------------------------------------------------------------------------------
    def _entities(self, question: str, toks: list, bares: list[str]) -> list[Entity]:
        """The entities of a question, given its tokens and their bare forms."""
        lk = self.lookups
        found: list[Entity] = []
        low_tokens = set(bares)
        asks_labels = bool(low_tokens & LABEL_WORDS)
        cites = bool(low_tokens & CITE_WORDS)
        for code, start, end in code_mentions(question):  # "2.2.1"; "codes starting with 5" (retriever/wording.py)
            if ids := lk.code_matches(code):
                found.append(Entity("code", code, tuple(ids), start, end))
        # A key of several words ("Di Lorenzo") is a name by its form; written all in lower case it needs a
        # possessive, a question about citations or a surname that is no everyday word.
        phrases = {p.start: p for p in find_key_phrases(question, toks, self._key_phrases)
                   if p.capitalised or p.full or p.possessive or cites or self.distinctive(p.surname)}
        taken = [(p.start, p.end) for p in phrases.values()]
        for i, m in enumerate(toks):
            if taken:
                p = phrases.get(m.start())
                if p is not None:  # in question order among the one-word keys and authors
                    found.append(Entity("source-key", p.text, p.ids, p.start, p.end))
                if any(a <= m.start() < b for a, b in taken):
                    continue  # a word of a key of several words
            token = m.group(0)[:-2] if m.group(0).endswith(("'s", "’s")) else m.group(0)  # "Smith's" -> "Smith"
            low = token.lower().replace("’", "'")  # "O’Neill" typed with a curly apostrophe is the key O'Neill
            key_ids = lk.keys.get(low) or (lk.key_bases.get(low) if "-" not in low else None)
            if key_ids:
                # A key that is also an everyday word ("Reason", "King") needs the question to be
                # about citations to count; so does one written in lower case, unless it is no everyday word
                # ("what does smith show": people type names in lower case). A full key with its
                # suffix ("Smith-B") is distinctive by its form, and a capitalised possessive ("Perez's
                # work") by its grammar: "Perez's" is someone's.
                full = low in lk.keys and "-" in low
                possessive = token != m.group(0)
                # A capital inside the word ("McGregor") or on a key where no sentence starts ("Does Rice back it?"): a name.
                inner = inner_capital(token.split("-")[0]) or low in lk.keys and lone_capital(question, toks, i)
                distinctive = self.distinctive(low.split("-")[0])
                if (token[0].isupper() and (full or possessive or inner or distinctive)) or cites or (
                        distinctive and (full or possessive or low in lk.keys)):
                    # The span covers a possessive too, so "Smith's" leaves no topic word behind.
                    found.append(Entity("source-key", token, tuple(dict.fromkeys(key_ids)), m.start(), m.end()))
                    continue
            if token in lk.authors:  # surnames match case-sensitively
                ids, given = lk.authors[token]
                neighbours = {toks[j].group(0) for j in (i - 1, i + 1) if 0 <= j < len(toks)}
                has_given = bool(neighbours & given)
                if self.distinctive(token) or has_given or (low_tokens & AUTHORSHIP_WORDS - {"who", "when"}):
                    start, end = m.start(), m.end()
                    for j in (i - 1, i + 1):
                        if 0 <= j < len(toks) and toks[j].group(0) in given:
                            start, end = min(start, toks[j].start()), max(end, toks[j].end())
                    found.append(Entity("author", token, tuple(ids), start, end))
        norm, offsets = normalise_with_offsets(question)
        titles = lk.titles_in(norm)
        titles = [t for t in titles if not any(t != o and t in o for o in titles)]  # keep the longest
        for t in titles:
            at = norm.index(t)
            start, end = offsets[at + 1], offsets[at + len(t) - 2] + 1
            found.append(Entity("title", question[start:end], tuple(lk.titles[t]), start, end))
        tags = lk.titles.get(" tags ")
        asks_tags = bool(tags and low_tokens & TAG_WORDS)
        # A kind of tag names the tag lines beside "tag", or alone in two words or more ("lifecycle stage"; not "actor")
        said = [n for n in TAG_NAMES if tags and n in norm and (asks_tags or n.count(" ") > 2)]
        for name in [n for n in said if not any(n in other and n != other for other in TAG_NAMES if other in norm)]:
            at = norm.index(name)
            start, end = offsets[at + 1], offsets[at + len(name) - 2] + 1
            found.append(Entity("title", question[start:end], tuple(tags), start, end))
        found += [Entity("title", text, tuple(ids), a, b) for text, ids, a, b in lk.tags_in(question,
                                                                                            any_case=asks_tags)
                  if not any(e.start <= a < e.end for e in found)]  # "Measure", "its owner tag": the tag lines
        for label, ids in lk.labels.items():
            # A label counts when the question asks about labels, or writes a label of several
            # words exactly as the document does ("Learning Objectives"); "other" is just a word, as it is in lower case
            # before the noun it qualifies ("Which other category is it in?").
            name = lk.label_names[label]
            if label in norm and (asks_labels and not qualifies_noun(name, question) or (
                    " " in name.strip() and name in question)):
                at = norm.index(label)
                start, end = offsets[at + 1], offsets[at + len(label) - 2] + 1
                found.append(Entity("label", question[start:end], tuple(ids), start, end))
        return found
