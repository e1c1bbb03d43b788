"""Save the look-up tables of a generation with its search parts, derived from its sections as the retriever would.

Ingest saves them so that a retriever opens without rebuilding them (ingest/saved_parts.py holds the format; the
tables are built by ingest/vocabulary.py, ingest/lookups.py and ingest/words.py, which the retriever reads too).
"""

from __future__ import annotations

from pathlib import Path

from .lexical import stemmer
from .lookups import Lookups
from .records import read_chunks, read_vectors
from .saved_parts import IN_MEMORY_MAX_CHUNKS, save_parts
from .section import Section
from .vocabulary import analyzer_table, count_words, document_name_words
from .words import document_words


def save_from_collection(store, manifest: dict) -> Path | None:
    """Save the search parts of the generation `manifest` points to, read from its Chroma collection.

    For generations ingested before parts were saved, or whose parts were damaged: `consensus-chat ingest`
    calls this when nothing else changed. Returns the directory, or None for a store without local files.
    """
    name = manifest["generation"]
    gen_dir = store.generation_dir(name)
    if gen_dir is None:
        return None
    collection = store.open_generation(name)
    try:
        ids, docs, chunk_sections, by_id = read_chunks(collection)
        vectors = read_vectors(collection, ids, store.describe()) if len(ids) <= IN_MEMORY_MAX_CHUNKS else None
    finally:
        store.close(collection)
    order = {sid: n for n, sid in enumerate(manifest.get("sections", {}))}
    sections = sorted(by_id.values(), key=lambda s: order.get(s.id, len(order)))
    return save_parts(gen_dir, name, ids, chunk_sections, sections, docs, *derived_tables(sections),
                      chunk_vectors=vectors)


def word_vectors(sections: list[Section], encode, skip=frozenset()) -> tuple[list[str], object]:
    """(the sections' content words but those in `skip`, their unit vectors from `encode`): the optional
    word-vectors part. `skip` is the words of the model's everyday-word table, read from there instead."""
    words = [w for w in document_words(sections) if w not in skip]
    return words, encode(words)


def derived_tables(sections: list[Section]) -> tuple[dict, dict]:
    """(vocabulary, analyzer tables) of the sections in document order, as the retriever would build them on open."""
    analyzer = analyzer_table(Lookups(sections), document_name_words(sections))
    return count_words(sections, stemmer()).to_dict(), analyzer
