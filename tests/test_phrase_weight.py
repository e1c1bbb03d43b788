"""The phrase match weighs less than each single-word signal in the fused ranking (retriever/ranking.py,
`PHRASE_WEIGHT`): two adjacent words a section shares with the question ("a model's output" beside "model behaviours")
do not outrank the section the question is about. Real model and index of the shipped page."""

from __future__ import annotations

from consensus_chat.retriever.ranking import DENSE_WEIGHT, PHRASE_WEIGHT


def test_the_phrase_match_weighs_less_than_a_word_signal():
    # Chosen on the development data (the comment at PHRASE_WEIGHT gives the sweep); below the soft word match's 1.
    assert 0 < PHRASE_WEIGHT < 1 < DENSE_WEIGHT


def test_a_shared_word_pair_does_not_outrank_the_section_asked_about(retriever):
    # Explainability is the card on attributing an output to input features (first for the cosine and for BM25 alike);
    # the card on attributing model behaviours to training data shares the words beside each other. With the phrase
    # match weighing 1, like the soft word match, that card ranked first (0.752 against 0.750).
    question = "Are tools that attribute a model's output to particular input features reliable yet?"
    result = retriever.search(question, k=3)
    assert result.in_scope
    assert [h.section.title for h in result.hits[:2]] == [
        "Explainability", "Attributing model behaviours to training data"]
