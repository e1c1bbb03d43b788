"""The document's word tables saved with its search parts: the scope vocabulary's counts and the analyzer's tables.

Built from the sections in document order. Ingest saves them (ingest/doc_tables.py); the retriever reads them
(retriever/scope.py's `Vocabulary`, retriever/topic.py's `TopicAnalyzer`) and builds the same ones from here
for an index saved without them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .lookups import Lookups, key_surname
from .text import plain
from .words import stopwords

# "This review examines ...": a sentence of the source record that begins with the document's own noun for itself.
_SELF_NAME = re.compile(r"(?:^|[.!?]\s+)This\s+([a-z]+)\b", re.M)
UBIQUITOUS = 0.4  # share of sections a stem must appear in to count as ubiquitous


@dataclass(frozen=True)
class WordCounts:
    """The document's words, counted and stemmed: what the scope vocabulary answers word questions from."""

    words: dict[str, int]  # word -> count
    word_df: dict[str, int]  # word -> number of sections that use it (for idf weights in ranking)
    n_texts: int
    stems: frozenset[str]
    # Stems in most sections ("ai", "model" on a page about AI models) say nothing about whether
    # a question's topic is covered, so coverage leaves them out when the topic has other words.
    ubiquitous: frozenset[str]

    def to_dict(self) -> dict:
        """The counts as JSON-ready data, for the saved search parts."""
        return {"words": self.words, "stems": sorted(self.stems), "ubiquitous": sorted(self.ubiquitous),
                "word_df": self.word_df, "n_texts": self.n_texts}

    @classmethod
    def from_dict(cls, data: dict) -> WordCounts:
        """The counts `to_dict` wrote; KeyError or TypeError if `data` is not such a dict."""
        return cls(words={str(w): int(n) for w, n in data["words"].items()},
                   word_df={str(w): int(n) for w, n in data["word_df"].items()},
                   n_texts=int(data["n_texts"]), stems=frozenset(data["stems"]),
                   ubiquitous=frozenset(data["ubiquitous"]))


def count_words(sections, stem) -> WordCounts:
    """The words of an index's sections, counted, without source keys and author names."""
    names = {k.lower() for s in sections for c in s.citations for k in plain(c).split("-")}
    # A key of several words ("Di Lorenzo") is a name by its surname; its particles stay words.
    names |= {key_surname(c) for s in sections for c in s.citations if " " in c.split("-")[0]}
    names |= {w.lower() for s in sections for a in s.authors for w in re.findall(r"[A-Za-z]+", plain(a))}
    # Diacritics folded (`fold`) as a question's words are: "Nuñez" is the one word "nunez", not "nu" and "ez".
    texts = [plain(f"{s.title}\n{s.parent or ''}\n{s.text}") for s in sections]
    words: dict[str, int] = {}
    word_df: dict[str, int] = {}
    df: dict[str, int] = {}
    for text in texts:
        seen = set()
        # First-use order, not a set's: word_df's key order is saved and read in order (wordmatch's stem table).
        every = dict.fromkeys(re.findall(r"[a-z]+", text.lower()))
        for w in every:  # names too: a source key is a rare word of the sections that cite it
            word_df[w] = word_df.get(w, 0) + 1
        for w in re.findall(r"[a-z]+", text.lower()):
            if w not in names:
                words[w] = words.get(w, 0) + 1
                seen.add(w)
        for st in set(stem(list(seen))):
            df[st] = df.get(st, 0) + 1
    ubiquitous = frozenset(st for st, n in df.items() if len(texts) >= 5 and n / len(texts) >= UBIQUITOUS)
    return WordCounts(words, word_df, len(texts), frozenset(df), ubiquitous)


def document_name_words(sections) -> frozenset[str]:
    """Words of the source record's title, and the noun its text calls the document by ("This review ..."),
    that no card uses (a place or a project name in the report's title): written with a capital, or beside a
    word about the document ("Who wrote the review?"), they name the document, not a topic."""
    source_words = set()
    prose_words = set()
    for s in sections:
        if s.kind == "source":
            source_words.update(w.lower() for w in re.findall(r"[A-Za-z]+", plain(s.title)))
            # The noun the record calls the document by ("This review examines ..."), whatever its title says.
            source_words.update(_SELF_NAME.findall(s.text))
        elif s.kind == "card":
            prose_words.update(w.lower() for w in re.findall(r"[A-Za-z]+", plain(f"{s.title} {s.text}")))
    return frozenset(source_words - prose_words - stopwords())


def analyzer_table(lookups: Lookups, name_words: frozenset[str]) -> dict:
    """The topic analyzer's tables as JSON-ready data, for the saved search parts."""
    return {"lookups": lookups.to_dict(), "document_name_words": sorted(name_words)}
