"""Reading a generation's chunks back from its Chroma collection: their records, and their vectors in chunk order."""

from __future__ import annotations

import json

from .errors import IndexCorrupt
from .section import Section


def read_chunks(collection) -> tuple[list[str], list[str], list[str], dict[str, Section]]:
    """(chunk ids, chunk texts, each chunk's section id, sections by id) read back from a generation's collection."""
    from .store import pages

    ids, docs, metas = [], [], []
    for got in pages(collection, ["documents", "metadatas"]):
        ids += got["ids"]
        docs += got["documents"]
        metas += got["metadatas"]
    sections: dict[str, Section] = {}
    for meta in metas:
        if "section_json" in meta:
            s = Section.from_dict(json.loads(meta["section_json"]))
            sections[s.id] = s
    return ids, docs, [m["section_id"] for m in metas], sections


def read_vectors(collection, chunk_ids: list[str], where: str):
    """The collection's chunk vectors as one (chunks, dim) float32 array, rows in `chunk_ids` order."""
    import numpy as np

    from .store import pages

    row = {cid: n for n, cid in enumerate(chunk_ids)}
    out = None
    seen = 0
    for got in pages(collection, ["embeddings"]):
        block = np.asarray(got["embeddings"], dtype=np.float32)
        if out is None:
            out = np.zeros((len(chunk_ids), block.shape[1]), dtype=np.float32)
        try:
            out[[row[cid] for cid in got["ids"]]] = block
        except KeyError as exc:
            raise IndexCorrupt(f"The index at {where} holds chunk {exc.args[0]!r}, which its tables do not list. "
                               "Run `consensus-chat ingest --rebuild`.") from None
        seen += len(got["ids"])
    if seen != len(chunk_ids) or (out is None and chunk_ids):
        raise IndexCorrupt(f"The index at {where} holds {seen} chunk vectors for {len(chunk_ids)} chunks. "
                           "Run `consensus-chat ingest --rebuild`.")
    return out if out is not None else np.zeros((0, 0), dtype=np.float32)
