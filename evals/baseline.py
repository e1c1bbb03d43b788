"""llama-index's default pipeline as a retrieval baseline, scored with the same questions.

The baseline reads the raw corpus file(s) with `SimpleDirectoryReader`, splits them with a
default `SentenceSplitter()` (1024 tokens, 200 overlap), embeds the chunks with our own
embedder through a small `BaseEmbedding` adapter, and retrieves dense top-k from a
`VectorStoreIndex` over an in-memory `SimpleVectorStore`. Global `Settings` are never touched.

Which sections a chunk holds (the relevance rule): a chunk holds a section when its text
(whitespace-normalised) contains the *opening or the closing 80 characters* of any of the
section's body lines that appear verbatim in the corpus file. A chunk that starts or ends in
the middle of a long card therefore still counts when it carries the card's start or its end,
while a chunk that merely mentions a section's title (titles such as "Risk Assessment" recur
in many cards) does not. A chunk may hold several sections; it is relevant to a question when
it holds any relevant title (see evals.metrics).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from consensus_chat.ingest.config import DEFAULT_CORPUS
from consensus_chat.ingest.errors import ConsensusChatError

ANCHOR_CHARS = 80
_WS = re.compile(r"\s+")


class BaselineError(ConsensusChatError):
    """The baseline cannot be built (e.g. the corpus file the index was built from is gone)."""


def collapse_whitespace(text: str) -> str:
    """Collapse runs of whitespace to one space and strip."""
    return _WS.sub(" ", text).strip()


def corpus_paths(manifest: dict | None, index_dir: Path | None = None) -> list[Path]:
    """Corpus files the index was built from (manifest 'corpus' paths), else the shipped document."""
    if manifest is None and index_dir is not None:
        path = Path(index_dir) / "manifest.json"
        if path.is_file():
            manifest = json.loads(path.read_text(encoding="utf-8"))
    entries = (manifest or {}).get("corpus") or []
    paths = [Path(e["path"]) for e in entries if e.get("path")]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise BaselineError(
            f"The index was built from {missing[0]}, which no longer exists; the baseline needs the raw text. "
            "Re-run `consensus-chat ingest`, or pass --no-baseline."
        )
    return paths or [DEFAULT_CORPUS]


def section_anchors(sections, corpus_text: str) -> dict[str, list[str]]:
    """For each section title: opening/closing snippets of its body lines that occur in the corpus."""
    corpus = collapse_whitespace(corpus_text)
    anchors: dict[str, list[str]] = {}
    for s in sections:
        found = anchors.setdefault(s.title, [])
        for line in s.text.split("\n"):
            line = collapse_whitespace(line)
            if len(line) < 20 or line not in corpus:
                continue  # too short to identify a section, or rewritten by the parser
            for snippet in (line[:ANCHOR_CHARS], line[-ANCHOR_CHARS:]):
                if snippet not in found:
                    found.append(snippet)
    return anchors


def titles_in(chunk_text: str, anchors: dict[str, list[str]]) -> set[str]:
    """Section titles a chunk holds: those with an anchor snippet inside the whitespace-normalised text."""
    text = collapse_whitespace(chunk_text)
    return {title for title, snippets in anchors.items() if any(s in text for s in snippets)}


def _adapter_class():
    # Imported lazily: llama-index takes a second to import.
    from llama_index.core.embeddings import BaseEmbedding
    from pydantic import PrivateAttr

    class EmbedderAdapter(BaseEmbedding):
        """Our ingest.embedder.Embedder behind llama-index's BaseEmbedding interface."""

        _embedder = PrivateAttr()

        def __init__(self, embedder, **kwargs):
            super().__init__(model_name=embedder.name, embed_batch_size=32, **kwargs)
            self._embedder = embedder

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._embedder.encode_one(query).tolist()

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._embedder.encode_one(text).tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return self._embedder.encode(list(texts)).tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

    return EmbedderAdapter


@dataclass
class Baseline:
    """A built default-pipeline index that answers queries with the section titles each chunk holds."""

    index: object
    embed_model: object
    anchors: dict[str, list[str]]
    n_chunks: int
    chunk_size: int
    chunk_overlap: int

    def titles_in(self, chunk_text: str) -> set[str]:
        """Section titles a chunk holds, by the anchor rule in the module docstring."""
        return titles_in(chunk_text, self.anchors)

    def search(self, query: str, k: int = 10) -> list[set[str]]:
        """Dense top-k chunks for a query, each as the set of titles it holds."""
        retriever = self.index.as_retriever(similarity_top_k=k, embed_model=self.embed_model)
        nodes = retriever.retrieve(query)
        return [self.titles_in(n.node.get_content()) for n in nodes]


def build_baseline(paths: list[Path], embedder, sections) -> Baseline:
    """Split the raw corpus with SentenceSplitter() and index it in memory with our embedder."""
    from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.core.vector_stores import SimpleVectorStore

    documents = SimpleDirectoryReader(input_files=[str(p) for p in paths]).load_data(show_progress=False)
    splitter = SentenceSplitter()
    embed_model = _adapter_class()(embedder)
    storage = StorageContext.from_defaults(vector_store=SimpleVectorStore())
    index = VectorStoreIndex.from_documents(
        documents, storage_context=storage, embed_model=embed_model, transformations=[splitter],
        show_progress=False,
    )
    corpus_text = "\n".join(Path(p).read_text(encoding="utf-8-sig") for p in paths)
    return Baseline(
        index=index, embed_model=embed_model, anchors=section_anchors(sections, corpus_text),
        n_chunks=len(index.index_struct.nodes_dict), chunk_size=splitter.chunk_size,
        chunk_overlap=splitter.chunk_overlap,
    )


def baseline_report(config, retriever, sections, questions, qrels, depth: int) -> tuple[dict, dict[str, list[str]]]:
    """The baseline row of the report and its section ranking per question (for the trace and TREC files)."""
    from .metrics import retrieval_scores, rounded, sections_ranking

    manifest = getattr(retriever, "manifest", None)
    b = build_baseline(corpus_paths(manifest, getattr(config, "index_dir", None)), retriever.embedder, sections)
    id_of = {s.title: s.id for s in sections}
    order = {s.id: n for n, s in enumerate(sections)}
    ranking = {q.id: sections_ranking(sorted((id_of[t] for t in chunk), key=order.get)
                                      for chunk in b.search(q.question, k=depth))[:depth]
               for q in questions}
    row = {
        **{k: rounded(v) for k, v in retrieval_scores(ranking, qrels).items()},
        "pipeline": f"SimpleDirectoryReader + SentenceSplitter(chunk_size={b.chunk_size}, "
                    f"chunk_overlap={b.chunk_overlap}) + VectorStoreIndex(SimpleVectorStore), dense top-{depth}",
        "chunks": b.n_chunks,
    }
    return row, ranking


def default_retriever(k: int = 10):
    """llama-index's default pipeline over the shipped document as a plain BaseRetriever (nodes know no sections).

    For `consensus-chat eval --retriever evals.baseline:default_retriever`: it must score exactly as the
    baseline row, which shows how `--retriever` maps foreign chunks to sections.
    """
    from consensus_chat.ingest.embedder import load_embedder

    b = build_baseline([DEFAULT_CORPUS], load_embedder(), sections=[])
    return b.index.as_retriever(similarity_top_k=k, embed_model=b.embed_model)
