"""The format of the search parts saved with each generation: written whole, read back checked.

They let a retriever open without reading every chunk back from Chroma.

Opening an index used to read all chunk texts and metadata from Chroma and rebuild the BM25 index and
the vocabulary in memory (most of the 21.8 s at 100,000 sections). Ingest now writes them next to the
generation's Chroma files, before the manifest points at it:

    gen-*/search-parts/bm25/           bm25s `save`
    gen-*/search-parts/tables.json     chunk ids, each chunk's section id, the sections, the vocabulary,
                                       the look-up tables (ingest/doc_tables.py derives them), the words of word-vectors.npy
    gen-*/search-parts/word-vectors.npy  the document's words embedded one by one (float16), for the
                                       soft word match (retriever/wordmatch.py); optional
    gen-*/search-parts/chunk-vectors.npy  the chunk vectors exactly as stored in Chroma (float32, rows in
                                       chunk order), for indexes small enough to score in memory
                                       (retriever/dense.py): a search then never imports chromadb; optional
    gen-*/search-parts/checksums.json  written last: format, generation, chunk count, sha256 of each file

The directory is written under a temporary name and renamed into place, so it is either whole or absent.
`load_parts` checks every file against checksums.json; anything missing or different raises
`PartsMissing`/`PartsDamaged` and the retriever rebuilds from Chroma as before. Only the embedded store has
a generation directory; the Chroma-server store keeps loading from Chroma.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from .bigjson import loads
from .bm25_read import load_bm25
from .errors import ConsensusChatError
from .lexical import build_bm25, stemmer
from .section import Section

FORMAT = 1
DIRNAME = "search-parts"
_CHECKSUMS = "checksums.json"
_TABLES = "tables.json"
_BM25 = "bm25"
_WORD_VECTORS = "word-vectors.npy"
_CHUNK_VECTORS = "chunk-vectors.npy"
# Up to this many chunks a generation saves its chunk vectors and a search scores them in memory
# (retriever/dense.py says why); above it, searches ask Chroma's HNSW index.
IN_MEMORY_MAX_CHUNKS = 10_000


class PartsMissing(ConsensusChatError):
    """The generation has no saved search parts (built before they existed, or by the server store)."""


class PartsDamaged(ConsensusChatError):
    """The saved search parts are incomplete, altered or from another build; rebuild them from Chroma."""


@dataclass(frozen=True)
class SavedParts:
    """What `load_parts` returns: the same values the retriever would otherwise build from Chroma."""

    chunk_ids: list[str]
    chunk_sections: list[str]
    sections: list[Section]
    bm25: object
    vocabulary: dict | None  # scope.Vocabulary.to_dict(), or None when it was not saved
    analyzer: dict | None = None  # topic.TopicAnalyzer.to_dict(), or None when it was not saved
    word_vectors: tuple[list[str], object] | None = None  # (words, float32 unit vectors), when saved
    chunk_vectors: object | None = None  # (chunks, dim) float32, rows in chunk_ids order, when saved


def parts_dir(generation_dir: Path) -> Path:
    """Where a generation's saved parts live."""
    return Path(generation_dir) / DIRNAME


def _sha256(path: Path) -> str:
    from .embedder import sha256_file

    return sha256_file(path)


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name != _CHECKSUMS)


def save_parts(generation_dir: Path, generation: str, chunk_ids: list[str], chunk_sections: list[str],
               sections: list[Section], docs: list[str], vocabulary: dict | None = None,
               analyzer: dict | None = None, bm25=None, word_vectors=None, chunk_vectors=None) -> Path:
    """Write the generation's search parts (replacing any) and return their directory.

    `docs` are the chunk texts in `chunk_ids` order, exactly as stored in Chroma; `bm25`, if given, is
    the index already built from them; `word_vectors`, if given, is (words, their unit vectors);
    `chunk_vectors`, if given, is the chunks' vectors as stored in Chroma, one row per chunk.
    """
    if not (len(chunk_ids) == len(chunk_sections) == len(docs)):
        raise ValueError("chunk_ids, chunk_sections and docs must have one entry per chunk")
    final = parts_dir(generation_dir)
    tmp = final.with_name(f"{DIRNAME}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        bm25 = bm25 if bm25 is not None else build_bm25(docs, stemmer())
        bm25.save(str(tmp / _BM25), show_progress=False)
        tables = {"chunk_ids": chunk_ids, "chunk_sections": chunk_sections,
                  "sections": [s.to_dict() for s in sections], "vocabulary": vocabulary, "analyzer": analyzer}
        if word_vectors is not None:
            import numpy as np

            words, matrix = word_vectors
            np.save(tmp / _WORD_VECTORS, np.asarray(matrix, dtype="float16"), allow_pickle=False)
            tables["vector_words"] = list(words)
        if chunk_vectors is not None:
            import numpy as np

            matrix = np.asarray(chunk_vectors, dtype="float32")
            if matrix.ndim != 2 or len(matrix) != len(chunk_ids):
                raise ValueError("chunk_vectors must have one row per chunk")
            np.save(tmp / _CHUNK_VECTORS, matrix, allow_pickle=False)
        (tmp / _TABLES).write_text(json.dumps(tables, ensure_ascii=False), encoding="utf-8")
        checksums = {"format": FORMAT, "generation": generation, "chunks": len(chunk_ids),
                     "files": {str(p.relative_to(tmp)): _sha256(p) for p in _files(tmp)}}
        (tmp / _CHECKSUMS).write_text(json.dumps(checksums, indent=1), encoding="utf-8")
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def load_parts(generation_dir: Path, generation: str, chunks: int, dim: int | None = None) -> SavedParts:
    """The saved parts of `generation`; PartsMissing or PartsDamaged when they cannot be used as they are.

    `chunks` and `dim` come from the manifest: the parts must hold that many chunks, and saved chunk
    vectors that many rows of `dim` (when the manifest records it) values."""
    root = parts_dir(generation_dir)
    try:
        raw = (root / _CHECKSUMS).read_bytes()
    except FileNotFoundError as err:
        raise PartsMissing(f"{root} does not exist") from err
    except OSError as exc:
        raise PartsDamaged(f"{root / _CHECKSUMS} cannot be read ({exc.strerror})") from exc
    try:
        checksums = json.loads(raw.decode("utf-8"))  # random bytes fail here too (UnicodeDecodeError)
        expected = (FORMAT, generation, chunks)
        found = (checksums.get("format"), checksums.get("generation"), checksums.get("chunks"))
        files = dict(checksums["files"])
    except (ValueError, TypeError, AttributeError, KeyError) as err:
        raise PartsDamaged(f"{root / _CHECKSUMS} is not a valid checksum list") from err
    if found != expected:
        raise PartsDamaged(f"{root} is for format/generation/chunks {found}, not {expected}")
    present = {str(p.relative_to(root)) for p in _files(root)}
    if present != set(files):
        raise PartsDamaged(f"{root} holds other files than its checksum list names "
                           f"(missing: {sorted(set(files) - present)[:3]}, extra: {sorted(present - set(files))[:3]})")
    for name, digest in files.items():
        if _sha256(root / name) != digest:
            raise PartsDamaged(f"{root / name} does not match its checksum")
    try:
        tables = loads((root / _TABLES).read_bytes())
        sections = [Section.from_dict(d) for d in tables["sections"]]
        # Read into memory, not memory-mapped: each mapped array holds a file descriptor until the replaced
        # generation's state is collected, and a serve process must not pile up descriptors on deleted
        # generations (tests/test_hardening.py). The arrays take about 1 MB per 1,000 chunks and load in
        # well under a second at 100,000.
        bm25 = load_bm25(root / _BM25)  # not bm25s.BM25.load: a query need not import bm25s (bm25_read.py)
        word_vectors = None
        if "vector_words" in tables:
            import numpy as np

            matrix = np.load(root / _WORD_VECTORS, allow_pickle=False).astype("float32")
            if matrix.ndim != 2 or len(matrix) != len(tables["vector_words"]):
                raise ValueError(f"{_WORD_VECTORS} does not hold one vector per saved word")
            word_vectors = (list(tables["vector_words"]), matrix)
        chunk_vectors = None
        if _CHUNK_VECTORS in files:
            import numpy as np

            chunk_vectors = np.load(root / _CHUNK_VECTORS, allow_pickle=False)
            if chunk_vectors.dtype != np.float32 or chunk_vectors.ndim != 2 or len(chunk_vectors) != chunks or \
                    (dim is not None and chunk_vectors.shape[1] != dim):
                raise ValueError(f"{_CHUNK_VECTORS} has shape {chunk_vectors.shape} {chunk_vectors.dtype}, not "
                                 f"({chunks}, {dim}) float32 as the manifest says")
        parts = SavedParts(list(tables["chunk_ids"]), list(tables["chunk_sections"]), sections, bm25,
                           tables.get("vocabulary"), tables.get("analyzer"), word_vectors, chunk_vectors)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise PartsDamaged(f"{root} cannot be loaded ({type(exc).__name__}: {exc})") from exc
    if not (len(parts.chunk_ids) == len(parts.chunk_sections) == chunks) or \
            set(parts.chunk_sections) != {s.id for s in sections}:
        raise PartsDamaged(f"{root} does not match the manifest ({len(parts.chunk_ids)} chunks, "
                           f"{len(sections)} sections)")
    return parts
