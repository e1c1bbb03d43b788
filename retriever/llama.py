"""The single adapter to llama-index: our Retriever as a llama-index BaseRetriever.

What a node carries
- `node.score` is the cosine similarity between the question and the section's best-matching chunk,
  clipped to [0, 1]: the same scale as llama-index's own vector retrievers, so
  `SimilarityPostprocessor(similarity_cutoff=...)` means the same thing for every question. (The scope
  decision is separate, on the question's topic: `metadata["scope_score"]`, see retriever/scope.py.) The *order* of the nodes is still the hybrid ranking (dense + BM25 + exact look-ups);
  a cutoff only drops nodes, it never re-orders them. Note that an exact look-up such as a bare code
  ("3.2.1") or a source key ("Leveson") is found by name, not by meaning, so its cosine is low and a
  cutoff will drop it: read `metadata["exact"]` before filtering if look-ups matter to you.
- `metadata["rank"]` (1-based hybrid rank), `["exact"]` (why a look-up matched: "code", "source-key",
  "title", "label", "report", or ""), `["tier"]` (the tier that look-up adds, 0.0 for none), `["fused_score"]` (the hybrid score, whose scale depends on the
  exact-match tier and is *not* comparable with `score`), `["dense_score"]`, `["lexical_score"]`,
  `["in_scope"]` and `["scope_score"]`. None of these reach the LLM prompt or an embedding.
- `node.node_id` is the section id (a slug of parent and title, stable across runs and re-ingests), and
  `node.ref_doc_id` is the corpus file the section came from (a SOURCE relationship).

Off-topic questions
When the document does not cover a question (`SearchResult.in_scope` is False) the retriever returns
no nodes, so a query engine answers "Empty Response" instead of quoting unrelated sections. Pass
`keep_out_of_scope=True` to get the nearest sections anyway, each marked `metadata["in_scope"] = False`.
Either way `retriever.last_result` holds the last `SearchResult` (`.in_scope`, `.scope_score`,
`.notices`) so an empty answer can be explained; when one retriever serves several threads, pass
`on_result=callback` instead, which is called with every SearchResult.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.schema import NodeRelationship, NodeWithScore, QueryBundle, RelatedNodeInfo, TextNode

from .ranking import TIER_BY_REASON
from .types import Hit, SearchResult

log = logging.getLogger(__name__)

# Retrieval diagnostics: useful to a program, noise to an LLM prompt or an embedding.
_SCORING_KEYS = ["rank", "exact", "tier", "fused_score", "dense_score", "lexical_score", "in_scope", "scope_score"]
_LOCATION_KEYS = ["section_id", "source_file", "line_start", "line_end", "kind"]


def _unit(x: float) -> float:
    """Clip a cosine to [0, 1]: an anti-correlated section is as irrelevant as an orthogonal one."""
    return min(1.0, max(0.0, float(x)))


def hit_to_node(hit: Hit, *, score: float, rank: int, result: SearchResult | None = None) -> NodeWithScore:
    """A llama-index node for one hit: section text, section metadata and the retrieval diagnostics."""
    metadata = {
        "section_id": hit.id, "code": hit.code or "", "label": hit.label or "", "title": hit.title,
        "parent": hit.parent or "", "kind": hit.kind, "citations": list(hit.citations),
        "heading": hit.heading, "source_file": hit.source_file, "line_start": hit.line_start,
        "line_end": hit.line_end,
        "rank": rank, "exact": hit.matched_by or "", "tier": TIER_BY_REASON.get(hit.matched_by or "", 0.0),
        "fused_score": float(hit.score),
        "dense_score": hit.dense_score, "lexical_score": hit.lexical_score,
        "in_scope": bool(result.in_scope) if result is not None else True,
        "scope_score": result.scope_score if result is not None else None,
    }
    node = TextNode(
        id_=hit.id, text=hit.text, metadata=metadata,
        excluded_llm_metadata_keys=_LOCATION_KEYS + _SCORING_KEYS,
        excluded_embed_metadata_keys=_LOCATION_KEYS + _SCORING_KEYS,
        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=hit.source_file or "unknown")},
    )
    return NodeWithScore(node=node, score=_unit(score))


class LlamaIndexRetriever(BaseRetriever):
    """Plug the hybrid retriever into any llama-index query or chat engine (see the module docstring)."""

    def __init__(self, retriever, k: int = 5, *, keep_out_of_scope: bool = False,
                 on_result: Callable[[SearchResult], None] | None = None, callback_manager=None,
                 **search_options):
        super().__init__(callback_manager=callback_manager)
        self._retriever = retriever
        self._search_options = {"k": k, **search_options}
        self._keep_out_of_scope = keep_out_of_scope
        self._on_result = on_result
        self.last_result: SearchResult | None = None

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        result = self._retriever.search(query_bundle.query_str, **self._search_options)
        self.last_result = result
        if self._on_result is not None:
            self._on_result(result)
        if not result.in_scope and not self._keep_out_of_scope:
            log.info("no nodes: %r is out of scope (scope score %s); pass keep_out_of_scope=True to keep "
                     "the nearest sections", result.query, result.scope_score)
            return []
        cosines = self._cosines(result)
        return [hit_to_node(h, score=cosines[h.id], rank=r, result=result) for r, h in enumerate(result.hits, 1)]

    def _cosines(self, result: SearchResult) -> dict[str, float]:
        """Each hit's dense cosine; hits found only by BM25 or by name on a large index get one computed."""
        scores = {h.id: h.dense_score for h in result.hits if h.dense_score is not None}
        missing = [h for h in result.hits if h.dense_score is None]
        if missing:
            # Outside the dense candidate pool: embed the section text now, so every node has a cosine
            # on the same scale (vectors are normalised, so the dot product is the cosine).
            embedder = self._retriever.embedder
            query = embedder.encode_one(result.query)
            texts = embedder.encode([f"{h.heading}\n{h.text}" for h in missing])
            for h, vector in zip(missing, texts):
                scores[h.id] = float(vector @ query)
        return scores


def default_retriever(k: int = 10) -> LlamaIndexRetriever:
    """The adapter over the index in CONSENSUS_CHAT_HOME, for `consensus-chat eval --retriever retriever.llama:default_retriever`."""
    # Opened through the package's public name, as a user's factory would: the retriever's `as_llama_index`
    # imports this adapter, so the adapter does not import the retriever's module back.
    from consensus_chat import open_retriever

    return LlamaIndexRetriever(open_retriever(), k=k)
