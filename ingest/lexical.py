"""The lexical index's words: the one English stemmer, the BM25 build, and a query split as the build splits chunks."""

from __future__ import annotations

import functools
import warnings


def stemmer():
    """The English stemmer the lexical index and the vocabulary use (PyStemmer, as bm25s recommends): a list-in,
    list-out `stemWords`. Every stemmer of the package is built here, so the index and its readers agree."""
    import Stemmer

    return Stemmer.Stemmer("english").stemWords


def stem_words(words: list[str]) -> list[str]:
    """`words` stemmed by one stemmer kept for the process (for readers that stem a few words at a time)."""
    return _shared_stemmer()(list(words)) if words else []


@functools.cache
def _shared_stemmer():
    return stemmer()


def build_bm25(docs: list[str], stem):
    """The lexical index of the chunk texts: the one build shared by ingest and the retriever."""
    import bm25s

    bm25 = bm25s.BM25()
    tokens = bm25s.tokenize(docs, stopwords="en", stemmer=stem, show_progress=False)
    with warnings.catch_warnings():
        # Only numpy's arithmetic warnings raised inside bm25s (idf of a word that every chunk
        # holds); any other warning still reaches the user.
        warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"bm25s(\.|$)")
        bm25.index(tokens, show_progress=False)
    return bm25


def query_terms(text: str, stem) -> list[str]:
    """The stemmed terms of one query, split exactly as `build_bm25` splits a chunk with bm25s.tokenize.

    The splitting, lower-casing and stopwords are those of bm25s' own Tokenizer built with bm25s.tokenize's
    settings (its token pattern, its English stopwords), read without importing bm25s (bm25_read.py says why;
    tests/test_bm25_read.py keeps them equal to bm25s'); its vocabulary is never used, since a tokenizer keeps
    every word it has seen and a serving process meets endless new words. What is left is
    Tokenizer.streaming_tokenize's order: lower case, split, drop stopwords, stem each word (stemmed together
    here, as bm25s.tokenize does: a stemmer maps each word on its own).
    """
    split, stop = _query_tokenizer()
    words = [w for w in split(text.lower()) if w not in stop]
    return stem(words) if words else []


@functools.cache
def _query_tokenizer():
    import re

    from .bm25_read import TOKEN_PATTERN, bm25s_stopwords

    return re.compile(TOKEN_PATTERN).findall, frozenset(bm25s_stopwords().STOPWORDS_EN)
