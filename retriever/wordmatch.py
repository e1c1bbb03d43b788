"""Word-level evidence for ranking: does a section use the question's words, or words that mean the same?

Dense retrieval compares one vector per question with one per chunk, and a paraphrase that shares the
meaning but not the words ("who is responsible" for "accountability") often lands second. BM25 only
counts identical stems. Between the two sits a soft word match: every topic word of the question is
paired with its nearest word in the section (cosine of the two words' own embeddings from the same
model), weighted by how rare that section word is in the document, and the pairings are averaged.
A phrase signal adds the question's adjacent word pairs that the section also uses side by side
("safety cases"), the sequential-dependence idea of Metzler and Croft (2005).

Both are computed for the candidate sections only (what dense and BM25 recalled), so the cost does not
grow with the index. Word vectors come from the model's table of everyday words (ingest/wordtable.py)
and the index's saved parts (ingest encodes the document's other words once); an index without them
encodes words on first use and caches them.

Written by hand: llama-index and rerankers offer cross-encoders and ColBERT models, none of which this
project can load offline; this reuses the one model it has.
"""

from __future__ import annotations

import functools
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass

from consensus_chat.ingest.words import content_words

MAX_WORDS = 100_000  # question words encoded on demand and kept (at most about 150 MB), least recent dropped
MAX_SECTIONS = 8192  # sections whose word lists are kept


class WordVectors:
    """Unit vectors of single words from the query encoder; thread-safe.

    The document's words live in one growing matrix (seeded from the saved parts, else encoded the first
    time a section is scored): sections keep row numbers into it. A question's other words come from the
    model's table of everyday words (ingest/wordtable.py) or are encoded on demand and kept in a
    bounded LRU.
    """

    def __init__(self, encoder, words: list[str] | None = None, matrix=None, max_words: int = MAX_WORDS,
                 table: tuple[dict[str, int], object] | None = None):
        import numpy as np

        self.encoder = encoder
        self.table = table  # everyday English words ({word: row}, matrix), ingest/wordtable.py
        self.max_words = max_words
        self._lock = threading.Lock()
        self._rows: dict[str, int] = {}
        self._matrix = np.zeros((0, 0), dtype="float32")
        self._used = 0
        if words is not None and matrix is not None and len(words) == len(matrix):
            self._rows = {w: i for i, w in enumerate(words)}
            self._matrix = np.ascontiguousarray(matrix, dtype="float32")
            self._used = len(words)
        self._extra: OrderedDict[str, object] = OrderedDict()

    @property
    def matrix(self):
        """The document words' vectors (rows numbered by `rows`)."""
        return self._matrix[: self._used]

    def rows(self, words) -> list[int]:
        """Row numbers of document words, encoding (once) the ones not in the matrix yet."""
        import numpy as np

        rows = self._rows
        if all(w in rows for w in words):  # the usual case: no encoding, no lock
            return [rows[w] for w in words]
        missing = [w for w in dict.fromkeys(words) if w not in self._rows]
        if missing:
            # Everyday words come from the model's table; only the others cost an encoder call.
            table_rows, table = self.table if self.table is not None else ({}, None)
            known = [w for w in missing if w in table_rows]
            unknown = [w for w in missing if w not in table_rows]
            found = dict(zip(known, np.asarray(table[[table_rows[w] for w in known]], dtype="float32"))) if known else {}
            if unknown:
                found.update(zip(unknown, self.encoder.encode(unknown)))
            vectors = np.stack([found[w] for w in missing])
            with self._lock:
                fresh = [(w, v) for w, v in zip(missing, vectors) if w not in self._rows]
                need = self._used + len(fresh)
                if need > len(self._matrix):  # grow by doubling, so adding words costs O(1) each on average
                    grown = np.zeros((max(need, 2 * len(self._matrix), 256), vectors.shape[1]), dtype="float32")
                    if self._used:
                        grown[: self._used] = self._matrix[: self._used]
                    self._matrix = grown
                for w, v in fresh:
                    self._matrix[self._used] = v
                    self._rows[w] = self._used
                    self._used += 1
        return [self._rows[w] for w in words]

    def _table_row(self, word: str) -> int | None:
        """The table row of an everyday word, or of the base form an inflection stands for."""
        table_rows = self.table[0] if self.table is not None else {}
        return next((table_rows[b] for b in (word, *_bases(word)) if b in table_rows), None)

    def knows(self, word: str) -> bool:
        """A document word, or an everyday word (or an inflection of one) in the model's table."""
        return word in self._rows or self._table_row(word) is not None

    def lookup(self, words: list[str]):
        """An (n, dim) array of any words' unit vectors (document words from the matrix, others encoded and cached)."""
        import numpy as np

        rows = self._rows
        if words and all(w in rows for w in words):  # the usual case, all document words: one gather, same values
            index = [rows[w] for w in words]  # before reading the matrix, which a concurrent rows() may grow
            return self._matrix[index]
        # Each source in one gather into a float32 array: the same values np.stack of the rows gave (a table
        # row is float16, which float32 holds exactly).
        in_matrix: dict[int, int] = {}
        others: dict[str, list[int]] = {}
        in_table: dict[int, int] = {}
        for i, w in enumerate(words):
            row = rows.get(w)
            if row is not None:
                in_matrix[i] = row
            elif (row := self._table_row(w)) is not None:
                in_table[i] = row
            else:
                others.setdefault(w, []).append(i)
        parts: list[tuple[list[int], object]] = []
        if in_matrix:
            parts.append((list(in_matrix), self._matrix[list(in_matrix.values())]))
        if in_table:  # in one call: the table encodes the words beyond its cached head together
            parts.append((list(in_table), self.table[1][list(in_table.values())]))
        if others:
            with self._lock:
                found = {w: self._extra.get(w) for w in others}
                for w, v in found.items():
                    if v is not None:
                        self._extra.move_to_end(w)
            missing = [w for w, v in found.items() if v is None]
            if missing:
                found.update(zip(missing, self.encoder.encode(missing)))
                with self._lock:
                    self._extra.update((w, found[w]) for w in missing)
                    while len(self._extra) > self.max_words:
                        self._extra.popitem(last=False)
            for w, positions in others.items():
                parts.append((positions, np.asarray(found[w])[None, :].repeat(len(positions), axis=0)))
        if not parts:
            return np.stack([])  # no words: numpy's own error, as before
        out = np.empty((len(words), parts[0][1].shape[1]), dtype=np.result_type(*(v for _, v in parts), np.float32))
        for positions, vectors in parts:
            out[positions] = vectors
        return out.astype("float32", copy=False)


def _bases(word: str) -> list[str]:
    """Plain English base forms a question word may be an inflection of ("toppings" -> "topping",
    "estimating" -> "estimate"): the table holds base forms, and an inflection means the same here."""
    if len(word) < 5:
        return []
    out = []
    if word.endswith("ies"):
        out.append(word[:-3] + "y")
    if word.endswith("es"):
        out.append(word[:-2])
    if word.endswith("s") and not word.endswith("ss"):
        out.append(word[:-1])
    for suffix in ("ing", "ed"):
        if word.endswith(suffix):
            stem = word[: -len(suffix)]
            out += [stem, stem + "e"] + ([stem[:-1]] if len(stem) > 2 and stem[-1] == stem[-2] else [])
    return out


@dataclass(frozen=True)
class _Terms:
    rows: object  # numpy int array: the section's distinct content words, as rows of WordVectors.matrix
    weights: object  # numpy float array: each word's idf over the document, scaled so the rarest is 1
    bigrams: frozenset[tuple[str, str]]  # adjacent content words, stemmed


class WordMatcher:
    """Soft word match and phrase match of a question's topic words against candidate sections."""

    def __init__(self, vectors: WordVectors, word_df: dict[str, int], n_texts: int, stem):
        self.vectors = vectors
        self.word_df = word_df
        self.n_texts = max(n_texts, 1)
        self._idf: dict[str, float] = {}  # computed once per word: a candidate section asks for each of its words
        self.stem = stem  # PyStemmer's stemWords: a list in, a list out
        self._terms_of = functools.lru_cache(maxsize=MAX_SECTIONS)(self._compute_terms)  # by (title, text)
        self._last_layout = None
        self._by_stem: dict[str, str] | None = None  # stem -> a document word with it, made on first need

    def idf(self, word: str) -> float:
        """BM25's idf of a word over the document's sections (a word it never uses gets the highest)."""
        value = self._idf.get(word)
        if value is None:
            df = self.word_df.get(word, 0)
            value = math.log(1.0 + (self.n_texts - df + 0.5) / (df + 0.5))
            if df:  # kept for the document's words only, so questions' other words cannot grow it
                self._idf[word] = value
        return value

    def _section_terms(self, section) -> _Terms:
        return self._terms_of(section.title, section.text)

    def _compute_terms(self, title: str, text: str) -> _Terms:
        import numpy as np

        every = content_words(f"{title}\n{text}")
        words = list(dict.fromkeys(every))
        # A large index splits about 170 new candidate sections a search: the idf and row look-ups inline
        # for the words already known (the same values `idf` and `rows` give).
        known = self._idf
        rarity = np.array([known[w] if w in known else self.idf(w) for w in words], dtype="float32")
        stems = self.stem(every)
        return _Terms(np.array(self.vectors.rows(words), dtype=np.int64),
                      rarity / rarity.max() if len(words) else rarity, frozenset(zip(stems, stems[1:])))

    def _known(self, words: list[str]) -> list[str]:
        """The topic words with a vector at hand: a rare word the document writes in another form
        ("repeatably") stands as the document's word of the same stem ("repeatable"); a rare word it
        never uses ("sourdough") is left out, since no section word can be near it."""
        if self.vectors.table is None or all(self.vectors.knows(w) for w in words):
            return words  # without the table, "rare" cannot be told: every word is encoded
        if self._by_stem is None:
            by_stem: dict[str, str] = {}
            doc_words = list(self.word_df)
            for st, w in zip(self.stem(doc_words), doc_words):
                by_stem.setdefault(st, w)  # the first in word_df's order, the document's first use: stable
            self._by_stem = by_stem
        stems = self.stem(words)
        out = [w if self.vectors.knows(w) else self._by_stem.get(st) for w, st in zip(words, stems)]
        return [w for w in out if w is not None] or words

    def _layout(self, sections):
        """(section terms, their word rows end to end, the rows' weights as a column, where each section starts); the
        last layout is kept, since a small index offers the same candidates to every question."""
        import numpy as np

        key = [(s.id, id(s)) for s in sections]
        cached = self._last_layout
        if cached is not None and cached[0] == key:
            return cached[1]
        terms = [(s.id, self._section_terms(s)) for s in sections]
        terms = [(sid, t) for sid, t in terms if len(t.rows)]
        layout = (terms, None, None, None)
        if terms:
            layout = (terms, np.concatenate([t.rows for _, t in terms]),
                      np.concatenate([t.weights for _, t in terms])[:, None],  # a column: scales each row's matches
                      np.cumsum([0] + [len(t.rows) for _, t in terms[:-1]]))
        self._last_layout = (key, layout)
        return layout

    def scores(self, words: list[str], sections) -> tuple[dict[str, float], dict[str, float]]:
        """({section id: soft word match}, {section id: phrase match}) for the question's topic words."""
        import numpy as np

        words = list(dict.fromkeys(words))
        if not words or not sections:
            return {}, {}
        words = self._known(words)
        terms, rows, weights, starts = self._layout(sections)
        if not terms:
            return {}, {}
        # Every candidate word x topic word in one product; each section's best match per topic word is a
        # max over its own run of rows (reduceat), averaged over the topic words. When the candidates use
        # most of the document's words, the product over the whole (contiguous) matrix is cheaper than
        # gathering their rows first. (Words x topic words: this orientation stays on OpenBLAS's
        # single-threaded path; the transposed product wakes its thread pool, milliseconds on a busy machine.)
        matrix, query = self.vectors.matrix, self.vectors.lookup(words).T
        if 2 * len(rows) >= len(matrix):
            sims = np.dot(matrix, query)[rows]
        else:
            sims = np.dot(matrix[rows], query)
        sims *= weights  # in place: `sims` is a new array either way
        best = np.maximum.reduceat(sims, starts, axis=0).mean(axis=1)
        soft = dict(zip([sid for sid, _ in terms], best.tolist()))
        stems = self.stem(words)
        pairs = {(a, b): (self.idf(x) + self.idf(y)) / 2
                 for (a, b), (x, y) in zip(zip(stems, stems[1:]), zip(words, words[1:]))}
        phrase = {}
        if pairs:
            pair_values = list(pairs.items())
            for sid, t in terms:
                bigrams = t.bigrams
                matched = sum([v for pair, v in pair_values if pair in bigrams])
                if matched:
                    phrase[sid] = matched
        return soft, phrase
