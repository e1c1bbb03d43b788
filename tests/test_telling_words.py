"""BM25 over a question's telling words joins the fused ranking (retriever/ranking.py, `TELLING_WEIGHT`): the words
rare in general English say which section is meant, and common ones ("point", "sort", "think") that one section
happens to repeat do not. Real model and index."""

from __future__ import annotations

import pytest

from consensus_chat.retriever.ranking import telling_text


def test_the_telling_words_are_the_ones_rare_in_general_english():
    assert telling_text("What's the point of estimating how bad and how probable a harm is?") == (
        "estimating probable harm")
    assert telling_text("What is the new way?") == ""


@pytest.mark.parametrize("question, first", [
    # Without the telling words' BM25 both rank "Attributing model behaviours to training data" first.
    ("Is a popular open-source evaluation harness the sort of standardised behaviour testing the page discusses?",
     "Audit techniques and benchmarks"),
    ("What does the page think of libraries for crediting predictions to input features?", "Explainability"),
])
def test_the_telling_words_rank_the_section_they_name(retriever, question, first):
    result = retriever.search(question, k=3)
    assert result.in_scope
    assert result.hits[0].section.title == first


@pytest.mark.parametrize("question, telling", [
    ("What's the point of estimating how bad and how probable a harm is?", None),  # its own telling words
    ("Which audits and benchmarks test models?", "audits benchmarks"),
    ("Which audits test models?", "benchmarks"),  # a term the question lacks: both scored in full
    ("What is the new way?", None),  # no telling words at all
])
@pytest.mark.parametrize("allowed", [None, "first two"])
def test_one_bm25_pass_gives_what_two_passes_gave(retriever, question, telling, allowed):
    """`lexical_scores` scores the telling terms once and adds the other terms' scores to them (BM25 is a sum over
    terms); each dict must be what scoring its own terms in full gives, with and without a filter."""
    from consensus_chat.ingest.lexical import query_terms
    from consensus_chat.retriever.ranking import lexical_scores

    generation = retriever._current()  # the loaded index, as search() ranks over it
    stem = retriever._stemmer
    telling = telling_text(question) if telling is None else telling
    if allowed is not None:
        allowed = set(list(generation.sections)[:2])
    n_cand = len(generation.chunk_ids)

    def alone(text):
        words = [w for w in query_terms(text, stem) if w in generation.bm25.vocab_dict]
        if not words:
            return {}
        scores = generation.bm25.get_scores(words)
        best = {}
        for i, score in enumerate(scores):
            sid = generation.chunk_sections[i]
            if score > 0 and (allowed is None or sid in allowed) and score > best.get(sid, 0.0):
                best[sid] = float(score)
        return best

    every, told = lexical_scores(generation, question, n_cand, allowed, stem, telling)
    for got, want in ((every, alone(question)), (told, alone(telling) if telling else {})):
        assert got.keys() == want.keys()
        assert all(got[s] == pytest.approx(want[s], rel=1e-5) for s in want)
    assert every or not query_terms(question, stem)
