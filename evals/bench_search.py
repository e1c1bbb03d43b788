"""Search measurements: open time and warm latency, on the embedded store or a Chroma server."""

from __future__ import annotations

import time

from .bench_common import log, summary, time_calls

def copy_to_server(src_config, dst_config) -> None:
    """Publish an embedded index on the server as-is (same ids, vectors, metadata and manifest); no re-embedding.

    This is what `consensus-chat ingest --chroma-host` writes, minus the embedding time, which the
    ingest measurements already cover.
    """
    from consensus_chat.ingest.store import open_store, pages

    manifest, src = open_store(src_config).open_current()
    dst = open_store(dst_config)
    name, col = dst.new_generation()
    for got in pages(src, ["embeddings", "metadatas", "documents"]):
        col.add(ids=got["ids"], embeddings=got["embeddings"], metadatas=got["metadatas"], documents=got["documents"])
    dst.publish(dict(manifest, generation=name))
    dst.cleanup(keep={name})


# -- search ---------------------------------------------------------------------------------------------

def measure_search(config, queries, label: str) -> dict:
    """Open a retriever on config, then time warm hybrid searches (k=5)."""
    from consensus_chat.retriever import open_retriever

    start = time.perf_counter()
    retriever = open_retriever(config=config)
    open_s = time.perf_counter() - start
    times = time_calls(lambda q: retriever.search(q, k=5), queries)
    row = {"label": label, "open_s": round(open_s, 2), **summary(times), "sections": len(retriever.sections())}
    log(f"  {label}: {row['sections']} sections, open {open_s:.1f}s, search p50 {row['p50']} ms, p95 {row['p95']} ms")
    return row
