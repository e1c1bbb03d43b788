"""Dense scoring: each section's best chunk cosine for a query vector.

Two ways to the same numbers:
- up to `IN_MEMORY_MAX_CHUNKS` chunks, the chunk vectors are loaded once when the index opens (from the
  generation's saved search parts, else read from its collection) and a query is one matrix-vector
  product over them (exact cosines);
- above that, Chroma's HNSW query, as before (the vectors stay on disk or on the `chroma run` server).

Why the threshold: at the shipped document a Chroma query cost ~4 ms of fixed overhead per search (request
validation, the Rust bindings, building result dicts) for 18 vectors, more than embedding the query, while
the product over 18 vectors costs microseconds. Measured on this 2-core machine at 10,000 random 384-d
chunks: product 0.4 ms against Chroma's 2.0 ms, and reading the vectors at open 0.4 s (1.5 KB per chunk in
every serving process). Both grow linearly, so at 100,000 chunks reading them would take most of the 3 s an
open may cost: large indexes keep the HNSW index Chroma maintains. The in-memory path is exact, HNSW is
approximate, so between 1,000 and 10,000 chunks a rank near the cut-off can differ from what Chroma returned.
"""

from __future__ import annotations

from consensus_chat.ingest.records import read_vectors
from consensus_chat.ingest.saved_parts import IN_MEMORY_MAX_CHUNKS


class DenseSearch:
    """Best chunk cosine per section, over one generation's collection."""

    def __init__(self, collection, chunk_sections: list[str], vectors=None, chunk_ids: list[str] | None = None):
        self.collection = collection
        self.chunk_sections = chunk_sections
        self.vectors = vectors  # (chunks, dim) float32 unit vectors in chunk order, or None: ask Chroma
        self._chunk_ids = chunk_ids  # in chunk_sections' order: a Chroma result's sections without its metadata
        self._section_of: dict[str, str] | None = None

    @property
    def in_memory(self) -> bool:
        """True when queries are scored with the vectors in memory rather than by a Chroma query."""
        return self.vectors is not None

    @classmethod
    def open(cls, collection, chunk_ids: list[str], chunk_sections: list[str], where: str,
             max_in_memory: int = IN_MEMORY_MAX_CHUNKS, saved=None) -> DenseSearch:
        """Use the chunk vectors when there are at most `max_in_memory` chunks; else query Chroma per search.

        `saved` is the vectors the generation's search parts hold (ingest/saved_parts.py), the same
        numbers as Chroma's; without them they are read from the collection. `where` names the store in
        the error raised when the collection lacks a chunk the tables list.
        """
        if len(chunk_ids) > max_in_memory:
            return cls(collection, chunk_sections, chunk_ids=chunk_ids)
        if saved is not None:
            return cls(collection, chunk_sections, saved)
        return cls(collection, chunk_sections, read_vectors(collection, chunk_ids, where))

    def best(self, vector, n_cand: int, *, where: dict | None = None, allowed: set[str] | None = None) -> dict[str, float]:
        """Section id -> best cosine among the `n_cand` chunks nearest to `vector`.

        Only chunks of sections in `allowed` count (the in-memory path); `where` is the same filter as a
        Chroma metadata clause (the Chroma path). The retriever passes both, built from one request.
        """
        if n_cand <= 0 or not self.chunk_sections:
            return {}
        if self.vectors is None:
            return self._chroma(vector, n_cand, where)
        import numpy as np

        scores = self.vectors @ np.asarray(vector, dtype=np.float32)
        if allowed is None and n_cand >= len(scores):
            found = enumerate(scores.tolist())  # every chunk, in order (a small index: the usual case)
        else:
            rows = np.arange(len(scores))
            if allowed is not None:
                rows = rows[np.fromiter((sid in allowed for sid in self.chunk_sections), dtype=bool,
                                        count=len(scores))]
            if n_cand < len(rows):
                rows = rows[np.argpartition(-scores[rows], n_cand - 1)[:n_cand]]
            found = zip(rows.tolist(), scores[rows].tolist())
        best: dict[str, float] = {}
        for i, cosine in found:
            sid = self.chunk_sections[i]
            if cosine > best.get(sid, -2.0):
                best[sid] = cosine
        return best

    def _chroma(self, vector, n_cand: int, where: dict | None) -> dict[str, float]:
        # Chroma directly, not llama-index's ChromaVectorStore: importing llama-index costs seconds
        # on every cold search, and a query needs nothing from it.
        if self._chunk_ids is not None:
            if self._section_of is None:  # once, on the first query (100,000 entries: milliseconds)
                self._section_of = dict(zip(self._chunk_ids, self.chunk_sections))
            # Distances only: fetching the results' metadata was most of a query at 100,000 chunks (about 8 of
            # 10 ms), and the generation's tables know each chunk's section. The nearest chunks are the same.
            result = self.collection.query(query_embeddings=[vector.tolist()], n_results=n_cand, where=where,
                                           include=["distances"])
            ids, section_of = result["ids"][0], self._section_of
            if all(i in section_of for i in ids):
                return _best(zip((section_of[i] for i in ids), result["distances"][0]))
            # A chunk the tables do not list (a store changed behind them): its metadata says, as before.
        result = self.collection.query(query_embeddings=[vector.tolist()], n_results=n_cand, where=where,
                                       include=["metadatas", "distances"])
        return _best(zip((meta["section_id"] for meta in result["metadatas"][0]), result["distances"][0]))


def _best(found) -> dict[str, float]:
    """Section id -> best cosine, from (section id, cosine distance) pairs nearest first."""
    best: dict[str, float] = {}
    for sid, distance in found:
        cosine = 1.0 - distance  # a cosine-space collection: distance = 1 - cosine similarity
        if cosine > best.get(sid, -2.0):
            best[sid] = cosine
    return best
