"""Ingest: parse, chunk, embed only what changed, write a new generation, swap it in."""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .chunker import chunk_section
from .config import Config, default_corpus
from .errors import IndexCorrupt, ModelMismatch
from .encoders import Encoders, add_document_words, ensure_word_table
from .page_level import SCOPE_KEY
from .parser import PARSER_VERSION, parse_files
from .records import chunk_metadata
from .progress import Progress, note
from .query_encoder import ensure_query_encoder
from .section import Section
from .store import MANIFEST_FORMAT, ingest_lock, open_store, pages

ADD_BATCH = 512
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestReport:
    """What an ingest did, as printed by `consensus-chat ingest --json`."""

    sections: int
    added: int
    updated: int
    unchanged: int
    removed: int
    seconds: float
    embedded_chunks: int = 0
    index: str = ""
    repaired: str = ""  # why the reused store was rebuilt (it was unreadable or incomplete), if it was

    def to_dict(self) -> dict:
        """The JSON shape of the CLI."""
        return asdict(self)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _file_sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def ingest(
    corpus: list[str | Path] | None = None,
    config: Config | None = None,
    *,
    rebuild: bool = False,
    quiet: bool = True,
    sections: list[Section] | None = None,
    embedder=None,
) -> IngestReport:
    """Bring the index in line with the corpus files, embedding only new or changed sections.

    `embedder` embeds the chunks if given (an `consensus_chat.ingest.embedder.Embedder` or a stand-in); by default the
    model's checked ONNX export does (no torch), opened only when something has to be embedded, with
    sentence-transformers as the fallback."""
    from .embedder import resolve_model

    started = time.perf_counter()
    config = config or Config.from_env()
    paths = [Path(p) for p in (corpus or [default_corpus()])]
    spec = embedder.spec if embedder is not None else resolve_model(config.model)
    store = open_store(config)
    explicit_sections = sections is not None
    if not explicit_sections:
        sections = parse_files(paths)  # bad input fails here, before the index is touched
    # Sections handed in directly (benchmarks) have no corpus file to record.
    corpus_info = [] if explicit_sections and corpus is None else [
        {"file": p.name, "path": str(p.resolve()), "sha256": _file_sha(p)} for p in paths
    ]
    with ingest_lock(config.index_dir):
        try:
            old = store.read_manifest()
        except IndexCorrupt as exc:
            if not rebuild:
                raise
            log.info("Replacing a damaged index: %s", exc)
            old = None  # --rebuild replaces a damaged index from scratch

        if old and not rebuild and old["model"]["weights_sha256"] != spec.weights_sha256:
            raise ModelMismatch(
                f"The index at {store.describe()} was built with {old['model']['name']} "
                f"(weights {old['model']['weights_sha256'][:12]}), not {spec.name} "
                f"(weights {spec.weights_sha256[:12]}). Run `consensus-chat ingest --rebuild` "
                "to rebuild it with the new model, or pass the old model with --model."
            )
        # Before any early return: an index built before the per-model cache hands its export over.
        exported = ensure_query_encoder(spec, config.index_dir, None if quiet else note)
        models = Encoders(spec, exported, embedder)
        everyday = ensure_word_table(models, spec, quiet, sections)
        old_sections = {} if (old is None or rebuild) else old.get("sections", {})
        new_hashes = {s.id: s.content_hash for s in sections}
        added = [i for i in new_hashes if i not in old_sections]
        updated = [i for i in new_hashes if i in old_sections and old_sections[i]["hash"] != new_hashes[i]]
        unchanged = [i for i in new_hashes if i in old_sections and old_sections[i]["hash"] == new_hashes[i]]
        removed = [i for i in old_sections if i not in new_hashes]
        same_build = (
            old is not None and not rebuild and old.get("parser_version") == PARSER_VERSION
            and old.get("format") == MANIFEST_FORMAT
        )
        # "Unchanged" is only true of a store that still opens and holds every chunk; a deleted or
        # truncated chroma.sqlite3 is rebuilt here instead of being reported as up to date.
        repaired = store.verify(old) if old is not None and not rebuild else None
        if repaired:  # the report carries the reason; the CLI prints it
            log.info("The index at %s is not usable (%s); rebuilding it.", store.describe(), repaired)
        if same_build and not repaired and not (added or updated or removed):
            # Nothing changed: no embedding, no new generation. Record the corpus paths only, and save
            # the search parts of a generation built before they existed (or whose parts were damaged).
            _ensure_search_parts(store, old)
            if old.get("corpus") != corpus_info:
                old["corpus"] = corpus_info
                store.publish(old)
            _clean_leftovers(store, old)
            return IngestReport(len(sections), 0, 0, len(unchanged), 0,
                                round(time.perf_counter() - started, 3), 0, store.describe())

        embedder = models.documents
        chunks_by_section = {s.id: chunk_section(s, embedder.count_tokens, embedder.max_tokens) for s in sections}
        all_chunks = [(s, c) for s in sections for c in chunks_by_section[s.id]]
        reuse = old is not None and not rebuild and not repaired
        reused = _old_embeddings(store, old, {c.sha256 for _, c in all_chunks}) if reuse else {}
        to_embed = [(s, c) for s, c in all_chunks if c.sha256 not in reused]

        with Progress(not quiet) as progress:
            task = progress.task("Embedding sections", len(to_embed))
            fresh: dict[str, list[float]] = {}
            for start in range(0, len(to_embed), ADD_BATCH):
                batch = to_embed[start : start + ADD_BATCH]
                vectors = embedder.encode([c.text for _, c in batch])
                for (_, c), v in zip(batch, vectors):
                    fresh[c.sha256] = v.tolist()
                progress.advance(task, len(batch))

            embeddings = [fresh.get(c.sha256) or reused[c.sha256] for _, c in all_chunks]  # in all_chunks' order
            name, collection = store.new_generation()
            task = progress.task("Writing the index", len(all_chunks))
            for start in range(0, len(all_chunks), ADD_BATCH):
                batch = all_chunks[start : start + ADD_BATCH]
                # Chroma's own add, not llama-index's ChromaVectorStore: importing llama-index cost more
                # than the rest of an ingest of the shipped page. The records are what the retriever
                # reads (text, flat metadata, vector); ChromaVectorStore still reads them as plain nodes.
                collection.add(ids=[c.id for _, c in batch], documents=[c.text for _, c in batch],
                               metadatas=[chunk_metadata(s, c) for s, c in batch],
                               embeddings=embeddings[start : start + ADD_BATCH])
                progress.advance(task, len(batch))
            vectors = _stored_vectors(store, name, collection, [c.id for _, c in all_chunks])
            store.close(collection)
            # Before the pointer swap: a crash leaves either the old manifest or a generation with its parts.
            everyday = add_document_words(models, spec, sections, everyday)
            _save_search_parts(store, name, all_chunks, sections, models.words, everyday, vectors)
            level = _page_level(vectors, embeddings)

        manifest = {
            "format": MANIFEST_FORMAT,
            "generation": name,
            "model": {"name": spec.name, "weights_sha256": spec.weights_sha256, "dim": embedder.dim,
                      "max_tokens": embedder.max_tokens},
            "parser_version": PARSER_VERSION,
            "corpus": corpus_info,
            "corpus_sha256": _sha("".join(sorted(f["sha256"] for f in corpus_info))),
            "sections": {s.id: {"hash": s.content_hash, "chunks": [c.id for c in chunks_by_section[s.id]]}
                         for s in sections},
            "chunks": len(all_chunks),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            # Kept one round (below); a later ingest with nothing to do must know it is not a leftover.
            "previous": old["generation"] if old and not repaired else None,
        }
        if level is not None:
            manifest[SCOPE_KEY] = level
        store.publish(manifest)
        # Keep the previous generation one round, so a server that has it open keeps answering
        # (a broken one is of no use to anyone).
        store.cleanup(keep={name, manifest["previous"]} - {None})
    return IngestReport(
        sections=len(sections), added=len(added), updated=len(updated), unchanged=len(unchanged),
        removed=len(removed), seconds=round(time.perf_counter() - started, 3), embedded_chunks=len(to_embed),
        index=store.describe(), repaired=repaired or "",
    )


def _save_search_parts(store, name: str, all_chunks: list, sections: list[Section], words_encoder,
                       everyday: frozenset[str], vectors) -> None:
    """Write the generation's lexical index and look-up tables (ingest/saved_parts.py) next to its Chroma files.

    The document's words are embedded as searches will embed them, leaving out `everyday`, the
    words the model's word table already holds. `vectors` are the chunk vectors as Chroma holds them,
    if the index is small enough to be scored in memory (see _stored_vectors).
    """
    gen_dir = store.generation_dir(name)
    if gen_dir is None:
        return  # the Chroma-server store has no local files; its readers build these from Chroma
    # Lazy: ingest must not import bm25s and Stemmer when nothing changed. The look-up tables are built by the
    # same code the retriever builds them with on open (ingest/doc_tables.py), so they match.
    from .doc_tables import derived_tables, word_vectors
    from .saved_parts import save_parts

    with_chunks = {s.id for s, _ in all_chunks}
    kept = [s for s in sections if s.id in with_chunks]
    save_parts(gen_dir, name, [c.id for _, c in all_chunks], [s.id for s, _ in all_chunks], kept,
               [c.text for _, c in all_chunks], *derived_tables(kept),
               word_vectors=word_vectors(kept, lambda words: words_encoder.encode(words, batch_size=512), everyday),
               chunk_vectors=vectors)


def _page_level(stored, embeddings: list) -> dict | None:
    """The page's level of dense support (ingest/page_level.py) for the manifest: from the vectors as Chroma
    stores them when they were read back, else from the embeddings written (normalised, as Chroma does)."""
    import numpy as np

    from .page_level import page_record

    if stored is None:
        if len(embeddings) < 2:
            return None  # no nearest other chunk to speak of
        stored = np.asarray(embeddings, dtype=np.float32)
        stored /= np.maximum(np.linalg.norm(stored, axis=1, keepdims=True), 1e-12)
    return page_record(stored)


def _stored_vectors(store, name: str, collection, chunk_ids: list[str]):
    """The chunk vectors read back from the new collection, when the index is small enough to be scored in
    memory (retriever/dense.py); else None. Read back rather than taken from the encoder: in cosine space
    Chroma normalises what it stores, which changes the last bit of some values, and a search from the
    saved parts must score exactly as one through Chroma."""
    from .records import read_vectors
    from .saved_parts import IN_MEMORY_MAX_CHUNKS

    if store.generation_dir(name) is None or len(chunk_ids) > IN_MEMORY_MAX_CHUNKS:
        return None  # the Chroma-server store saves no parts; large indexes are searched through Chroma
    return read_vectors(collection, chunk_ids, store.describe())


def _ensure_search_parts(store, manifest: dict) -> None:
    """Save the current generation's search parts if they are missing or damaged (ingest holds the lock)."""
    name = manifest["generation"]
    gen_dir = store.generation_dir(name)
    if gen_dir is None:
        return
    from .doc_tables import save_from_collection
    from .saved_parts import PartsDamaged, PartsMissing, load_parts

    try:
        load_parts(gen_dir, name, manifest["chunks"])
        return
    except PartsMissing:
        log.info("Saving the search parts of %s (it was built before they existed).", name)
    except PartsDamaged as exc:
        log.warning("Rewriting the damaged search parts of %s (%s).", name, exc)
    save_from_collection(store, manifest)


def _clean_leftovers(store, manifest: dict) -> None:
    """Remove what a killed ingest left behind (a generation never published, a temp manifest), keeping the
    current generation and the previous one a running server may still read. Ingest holds the lock."""
    current, previous = manifest["generation"], manifest.get("previous")
    if isinstance(previous, str):
        keep = {current, previous}
    else:  # a manifest from before "previous" was recorded: only what is newer than it can be a leftover
        keep = {name for name in store.generations() if name <= current}
    store.cleanup(keep)


def _old_embeddings(store, manifest: dict, wanted: set[str]) -> dict[str, list[float]]:
    """Embeddings of unchanged chunks from the current generation, keyed by chunk-text hash."""
    from .store import chroma_errors

    out: dict[str, list[float]] = {}
    try:
        collection = store.open_generation(manifest["generation"])
    except IndexCorrupt as exc:
        log.warning("Re-embedding everything: the previous index cannot be read (%s)", exc)
        return out
    try:
        for got in pages(collection, ["metadatas", "embeddings"]):
            for meta, emb in zip(got["metadatas"], got["embeddings"]):
                if meta.get("chunk_hash") in wanted:
                    out[meta["chunk_hash"]] = list(map(float, emb))
    except chroma_errors() as exc:
        log.warning("Re-embedding everything: the previous index failed while being read (%s)", exc)
        return {}
    finally:
        store.close(collection)
    return out
