"""A generation's chunk records in Chroma: the flat metadata ingest writes with each chunk, and reading the records
and the vectors back in chunk order."""

from __future__ import annotations

import json

from .chunker import Chunk
from .errors import IndexCorrupt
from .section import Section


def code_prefixes(code: str | None) -> dict[str, str]:
    """'2.2.1' -> {'code_1': '2', 'code_2': '2.2', 'code_3': '2.2.1', 'code_4': ''} for prefix filters."""
    parts = code.split(".") if code else []
    return {f"code_{i}": ".".join(parts[:i]) if i <= len(parts) else "" for i in range(1, 5)}


def chunk_metadata(section: Section, chunk: Chunk) -> dict:
    """Flat metadata stored with each chunk (Chroma accepts only scalars)."""
    meta = {
        "section_id": section.id,
        "kind": section.kind,
        "code": section.code or "",
        "label": section.label or "",
        "title": section.title,
        "parent": section.parent or "",
        "citations": "|".join(section.citations),
        "part": chunk.part,
        "n_parts": chunk.n_parts,
        "content_hash": section.content_hash,
        "chunk_hash": chunk.sha256,
        "source_file": section.source_file,
        "line_start": section.line_start,
        "line_end": section.line_end,
        **code_prefixes(section.code),
    }
    if chunk.part == 0:
        meta["section_json"] = json.dumps(section.to_dict(), ensure_ascii=False)
    return meta


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
                               "Run `consensus-chat ingest --rebuild`.") from exc
        seen += len(got["ids"])
    if seen != len(chunk_ids) or (out is None and chunk_ids):
        raise IndexCorrupt(f"The index at {where} holds {seen} chunk vectors for {len(chunk_ids)} chunks. "
                           "Run `consensus-chat ingest --rebuild`.")
    return out if out is not None else np.zeros((0, 0), dtype=np.float32)
