"""Build a `Generation`: everything a search reads from one index generation, from its saved parts, else from Chroma."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property

from consensus_chat.ingest.errors import IndexCorrupt, ModelMismatch
from consensus_chat.ingest.lookups import Lookups
from consensus_chat.ingest.page_level import page_level
from consensus_chat.ingest.section import Section

from .dense import DenseSearch
from .ranking import broad_sections, sub_areas
from .scope import ScopeModel, Vocabulary, document_vocabulary, load_scope_model
from .topic import TopicAnalyzer
from .wordmatch import WordMatcher, WordVectors

log = logging.getLogger(__name__)


@dataclass
class Generation:
    """Everything loaded from one index generation; swapped whole when the index changes."""

    manifest: dict
    collection: object
    dense: DenseSearch
    chunk_ids: list[str]
    chunk_sections: list[str]
    sections: dict[str, Section]
    bm25: object
    lookups: Lookups
    stamp: object
    analyzer: TopicAnalyzer
    vocabulary: Vocabulary
    scope: ScopeModel
    matcher: WordMatcher

    @cached_property
    def children(self) -> dict[str, tuple[str, ...]]:
        """Each parent area's sub-areas (ranking.sub_areas), found on the first search that needs them."""
        return sub_areas(self.sections)

    @cached_property
    def broad(self) -> frozenset[str]:
        """The ids of the broad sections (ranking.broad_sections), found on the first search that fuses."""
        return broad_sections(self.sections, self.children)


@dataclass(frozen=True)
class Loader:
    """What building any generation of one index needs: its store, the query encoder, the stemmer, the lexicon."""

    store: object
    embedder: object
    stem: object
    lexicon: frozenset[str]

    def build(self, manifest, collection, stamp, spec_hash: str, model_name: str) -> Generation:
        """The generation `manifest` names; ModelMismatch if it was built with another model than the search's."""
        built = manifest["model"]
        if built["weights_sha256"] != spec_hash:
            raise ModelMismatch(
                f"The index at {self.store.describe()} was built with {built['name']} "
                f"(weights {built['weights_sha256'][:12]}), but this search uses {model_name} "
                f"(weights {spec_hash[:12]}). Run `consensus-chat ingest --rebuild` with the model you want, "
                "or search with --model set to the index's model."
            )
        from consensus_chat.ingest.bigjson import gc_paused

        with gc_paused():
            return self._tables(manifest, collection, stamp, built)

    def _tables(self, manifest, collection, stamp, built) -> Generation:
        saved = self._saved_parts(manifest)
        if saved is not None:
            ids, chunk_sections, bm25 = saved.chunk_ids, saved.chunk_sections, saved.bm25
            sections = {s.id: s for s in saved.sections}
        else:
            ids, chunk_sections, sections, bm25 = self._from_chroma(manifest, collection)
        # Keep the manifest's section order (the document's order) for listings; the saved parts keep it already
        # (sorting 100,000 sections again took a tenth of a second of a large index's open).
        listed = manifest.get("sections", {})
        if list(sections) != list(listed):
            order = {sid: n for n, sid in enumerate(listed)}
            sections = dict(sorted(sections.items(), key=lambda kv: order.get(kv[0], len(order))))
        vocabulary = analyzer = None
        if saved is not None and saved.vocabulary is not None and saved.analyzer is not None:
            try:
                vocabulary = Vocabulary.from_dict(saved.vocabulary, self.stem, self.lexicon)
                analyzer = TopicAnalyzer.from_dict(saved.analyzer, self.lexicon)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                vocabulary = analyzer = None
                log.warning("The saved look-up tables of %s are unusable (%s); rebuilding them from the sections.",
                            manifest["generation"], exc)
        if analyzer is None or vocabulary is None:
            analyzer, vocabulary = self._topic_tables(list(sections.values()))
        saved_vectors = saved.word_vectors if saved is not None else None
        vectors = WordVectors(self.embedder, *(saved_vectors or (None, None)), table=self._word_table(built))
        dense = DenseSearch.open(collection, ids, chunk_sections, self.store.describe(),
                                 saved=saved.chunk_vectors if saved is not None else None)
        return Generation(
            manifest=manifest, collection=collection, dense=dense,
            chunk_ids=ids, chunk_sections=chunk_sections, sections=sections, bm25=bm25,
            lookups=analyzer.lookups, stamp=stamp, analyzer=analyzer, vocabulary=vocabulary,
            scope=load_scope_model(built["weights_sha256"], manifest.get("corpus_sha256"), page_level(manifest)),
            matcher=WordMatcher(vectors, vocabulary.word_df, vocabulary.n_texts, self.stem),
        )

    def _word_table(self, built: dict):
        """The model's table of everyday word vectors (ingest/wordtable.py), if the cache holds one; words
        beyond its cached head are encoded on first use, once per process (ingest/learned_words.py)."""
        from consensus_chat.ingest.learned_words import learned_words
        from consensus_chat.ingest.wordtable import load_table

        return load_table(built["weights_sha256"], self.lexicon, built.get("dim"), self.embedder.encode,
                          learned_words(built["weights_sha256"], self.lexicon))

    def _saved_parts(self, manifest):
        """The generation's saved search parts (ingest/saved_parts.py), or None to build from Chroma."""
        from consensus_chat.ingest.saved_parts import PartsDamaged, PartsMissing, load_parts

        name = manifest["generation"]
        gen_dir = self.store.generation_dir(name)
        if gen_dir is None:
            return None  # the Chroma-server store: no local files, load from Chroma
        try:
            return load_parts(gen_dir, name, manifest["chunks"], manifest["model"].get("dim"))
        except PartsMissing:
            log.info("The index generation %s has no saved search parts (built before they existed); reading it "
                     "from Chroma. The next `consensus-chat ingest` saves them.", name)
        except PartsDamaged as exc:
            log.warning("The saved search parts of index generation %s are damaged (%s); rebuilding them from "
                        "Chroma. The next `consensus-chat ingest` writes them again.", name, exc)
        return None

    def _from_chroma(self, manifest, collection):
        """(chunk ids, their section ids, sections by id, BM25) read back from the generation's Chroma collection."""
        from consensus_chat.ingest.lexical import build_bm25
        from consensus_chat.ingest.records import read_chunks

        ids, docs, chunk_sections, sections = read_chunks(collection)
        if len(ids) != manifest["chunks"] or set(chunk_sections) != set(sections):
            raise IndexCorrupt(
                f"The index at {self.store.describe()} is inconsistent ({len(ids)} chunks, "
                f"{len(sections)} sections). Run `consensus-chat ingest --rebuild`."
            )
        return ids, chunk_sections, sections, build_bm25(docs, self.stem)

    def _topic_tables(self, sections: list[Section]) -> tuple[TopicAnalyzer, Vocabulary]:
        """The entity tables and the document vocabulary (without source keys and author names)."""
        return TopicAnalyzer(sections, self.lexicon), document_vocabulary(sections, self.stem, self.lexicon)
