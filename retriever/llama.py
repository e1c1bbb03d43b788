"""The single adapter to llama-index: our Retriever as a llama-index BaseRetriever."""

from __future__ import annotations

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from .types import Hit


def hit_to_node(hit: Hit) -> NodeWithScore:
    """A llama-index node carrying the section's text and metadata."""
    metadata = {
        "section_id": hit.id, "code": hit.code or "", "label": hit.label or "", "title": hit.title,
        "parent": hit.parent or "", "kind": hit.kind, "citations": list(hit.citations),
        "heading": hit.heading, "source_file": hit.source_file, "line_start": hit.line_start,
        "line_end": hit.line_end,
    }
    node = TextNode(id_=hit.id, text=hit.text, metadata=metadata,
                    excluded_llm_metadata_keys=["section_id", "source_file", "line_start", "line_end", "kind"])
    return NodeWithScore(node=node, score=hit.score)


class LlamaIndexRetriever(BaseRetriever):
    """Plug the hybrid retriever into any llama-index query or chat engine."""

    def __init__(self, retriever, k: int = 5, **search_options):
        super().__init__()
        self._retriever = retriever
        self._k = k
        self._options = search_options

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        result = self._retriever.search(query_bundle.query_str, k=self._k, **self._options)
        return [hit_to_node(h) for h in result.hits]
