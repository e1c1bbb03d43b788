"""The chunk cosine weighs more than each word signal in the fused ranking (retriever/ranking.py, `DENSE_WEIGHT`): what
the whole question means decides between sections, not one word that a section happens to share with it. Real model
and index of the shipped page."""

from __future__ import annotations

from consensus_chat.retriever.ranking import DENSE_WEIGHT, TELLING_WEIGHT


def test_the_cosine_outweighs_each_word_signal():
    # Chosen on the development data (the comment at DENSE_WEIGHT gives the sweep); above the soft word match's 1 (the
    # phrase match weighs PHRASE_WEIGHT, 0.5, since the next turn).
    assert DENSE_WEIGHT > 1 > TELLING_WEIGHT


def test_a_word_shared_with_another_section_does_not_outrank_the_meaning(retriever):
    # "predicting" is a word of the card on attributing behaviours to training data ("predicting what data is needed");
    # the question asks about forecasting society-wide effects. With the cosine weighing 1, like the soft word and the
    # phrase match, that card ranked first and the downstream-impact card second.
    result = retriever.search("Does the page treat predicting wider effects of AI on society as important?", k=3)
    assert result.in_scope
    assert [h.section.title for h in result.hits[:2]] == [
        "Downstream impact assessment and forecasting", "Attributing model behaviours to training data"]
