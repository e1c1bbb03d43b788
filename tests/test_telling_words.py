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
