"""A query reads bm25s' stopwords, token pattern and saved index without importing bm25s (ingest/bm25_read.py):
every value must be what bm25s itself gives, so a bm25s upgrade that changes one fails here."""

from __future__ import annotations

import numpy as np
import pytest

DOCS = [
    "Metrology, the science of measurement, has only recently been studied in AI risk assessment.",
    "Chain-of-thought faithfulness and legibility: does the reasoning a model writes cause its answer?",
    "Benchmarks and evaluation: audits, red-teaming and the measurement of dangerous capabilities.",
    "Who wrote the report? The authors measured the risk of measurement error twice, and again.",
    "Interpretability tools attribute model behaviours to training data and to input features.",
]


def test_the_stopwords_and_token_pattern_are_bm25s_own():
    from bm25s import stopwords
    from bm25s.tokenization import Tokenizer

    from consensus_chat.ingest.bm25_read import TOKEN_PATTERN, bm25s_stopwords
    from consensus_chat.ingest.lexical import _query_tokenizer

    tokenizer = Tokenizer(stopwords="en")
    assert tokenizer.splitter.__self__.pattern == TOKEN_PATTERN and tokenizer.lower
    split, stop = _query_tokenizer()
    assert stop == frozenset(tokenizer.stopwords)
    text = "Who wrote ChAin-of-THOUGHT faithfulness, in 2024? A ü-umlaut_word x"
    assert split(text.lower()) == tokenizer.splitter(text.lower())
    assert bm25s_stopwords().STOPWORDS_EN_PLUS == stopwords.STOPWORDS_EN_PLUS


def test_a_saved_index_scores_exactly_as_bm25s_loads_it(tmp_path):
    import bm25s

    from consensus_chat.ingest.bm25_read import SavedBM25, load_bm25
    from consensus_chat.ingest.lexical import build_bm25, query_terms, stemmer

    stem = stemmer()
    build_bm25(DOCS, stem).save(str(tmp_path / "bm25"), show_progress=False)
    ours = load_bm25(tmp_path / "bm25")
    theirs = bm25s.BM25.load(str(tmp_path / "bm25"), mmap=False, show_progress=False)
    assert isinstance(ours, SavedBM25) and ours.vocab_dict == theirs.vocab_dict
    for query in ("What is metrology?", "measurement measurement risk", "chain-of-thought model answer",
                  "who wrote the report", "unseen words only zyzzyva", "model model model data features"):
        terms = query_terms(query, stem)
        if not terms:
            continue
        for words in (terms, [w for w in terms if w in ours.vocab_dict] or terms):
            a, b = ours.get_scores(words), theirs.get_scores(words)
            assert a.dtype == b.dtype and np.array_equal(a, b), query
    with pytest.raises(ValueError):
        ours.get_scores([])
