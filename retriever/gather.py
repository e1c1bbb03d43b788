"""The scope step's evidence: a question's words read once, and each reading of it searched densely."""

from __future__ import annotations

from dataclasses import replace

from .evidence import Evidence, Reading, read_words
from .outline import outline_of
from .wording import rewritten, set_aside
from .filters import where


class Gatherer:
    """Gathers the evidence record (retriever/evidence.py) the scope decision and the ranking are made on."""

    def __init__(self, embedder, store, outage):
        self.embedder = embedder
        self.store = store
        self.outage = outage

    def gather(self, generation, query: str, n_cand: int, filters) -> Evidence:
        """The question's evidence: each topic word read once, and the dense support of the topic.

        `filters` is (codes, labels, kinds, allowed ids) of the request; a reading's dense search keeps to them."""
        topic = generation.analyzer.analyse(set_aside(query))  # "Leaving X aside, what about Y?" asks about Y
        words, names, rewrites = read_words(topic, generation.vocabulary, generation.analyzer)

        def reader(text: str, some_words) -> Reading:
            vector = self.embedder.encode_one(text)
            try:
                dense = dense_scores(generation, vector, n_cand, *filters)
            except self.store.connection_errors() as err:  # a large index asks the server on each search
                self.outage.went_down()
                raise self.outage.error() from err
            return Reading(text, tuple(some_words), dense, vector)

        evidence = Evidence(query, topic, words, names, reader(rewritten(topic.text, rewrites), words), tuple(rewrites),
                            reader, lambda sentence: self.gather(generation, sentence, n_cand, filters))
        outline = outline_of(topic, generation.sections.values(), evidence, generation.children)
        return replace(evidence, outline=outline) if outline else evidence


def dense_scores(generation, vector, n_cand: int, codes, labels, kinds, allowed=None) -> dict[str, float]:
    """Section id -> best chunk cosine; `allowed` (filters.allowed) and the Chroma clause are the same filter."""
    if not generation.dense.in_memory:
        return generation.dense.best(vector, n_cand, where=where(generation, codes, labels, kinds))
    return generation.dense.best(vector, n_cand, allowed=allowed)
