"""The lexical index's words: the one English stemmer, the BM25 build, and a query split as the build splits chunks."""

from __future__ import annotations

import functools
import threading
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

    bm25s' own Tokenizer with the same settings as bm25s.tokenize (lower case, its token pattern, its English
    stopwords), so the two cannot drift apart. One tokenizer serves every query: it is asked for a stream (no
    progress bar to build) and forgets its vocabulary after each query, since a tokenizer keeps every word it has
    seen and a serving process meets endless new words. The words are stemmed together afterwards, which is
    what bm25s.tokenize does too (a stemmer maps each word on its own).
    """
    tokenizer = _query_tokenizer()
    with _TOKENIZING:  # the tokenizer's vocabulary is per query
        try:
            ids = list(tokenizer.tokenize([text], update_vocab=True, return_as="stream", allow_empty=False))
            (words,) = tokenizer.decode(ids)
        finally:
            tokenizer.reset_vocab()
    return stem(words) if words else []


_TOKENIZING = threading.Lock()


@functools.cache
def _query_tokenizer():
    from bm25s.tokenization import Tokenizer

    return Tokenizer(stopwords="en")
