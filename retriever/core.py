"""The Retriever: dense (Chroma via llama-index) + lexical (bm25s) fused, with exact look-ups on top."""

from __future__ import annotations

import gc
import logging
import os
import re
import threading
import time
import weakref
from dataclasses import dataclass

from consensus_chat.ingest.config import Config
from consensus_chat.ingest.errors import ConsensusChatError, IndexCorrupt, ModelMismatch, QueryError, StoreUnavailable
from consensus_chat.ingest.section import KINDS, Section

from .dense import DenseSearch
from .decision import decide
from .evidence import Evidence, Reading, read_words, rewritten
from .generation import closer, open_current
from .lookups import Lookups, normalise
from .outage import Outage
from .query import MAX_QUERY_CHARS, clean_query
from .saved_parts import query_terms
from .ranking import exact_matches, fuse, ranked_hits
from .scope import ScopeModel, Vocabulary, document_vocabulary, load_scope_model
from .sentences import SentenceCache
from .topic import Topic, TopicAnalyzer, wordpiece_lexicon
from .types import Hit, SearchResult
from .wordmatch import WordMatcher, WordVectors

log = logging.getLogger(__name__)
MODES = ("hybrid", "dense", "lexical")
_CODE_FILTER = re.compile(r"^\d+(?:\.\d+){0,3}\.?$")
_SERVER_RECHECK_SECONDS = 5.0


@dataclass
class _State:
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
    analyzer: TopicAnalyzer | None = None
    vocabulary: Vocabulary | None = None
    scope: ScopeModel | None = None
    matcher: WordMatcher | None = None


class Retriever:
    """Search one index. Build with `open_retriever`; `search` is cheap and thread-safe."""

    def __init__(self, config: Config):
        from consensus_chat.ingest.embedder import resolve_model
        from consensus_chat.ingest.store import open_store

        from .encoder import open_query_encoder

        self.config = config
        self.store = open_store(config)
        spec = resolve_model(config.model)
        self._lock = threading.Lock()
        self._last_check = 0.0
        import Stemmer

        self._stemmer = Stemmer.Stemmer("english").stemWords
        # Set when a replaced generation was closed; the next request collects what Chroma left in
        # reference cycles, so the old generation's files are really closed (see _load).
        self._released = threading.Event()
        self._last_warning: str | None = None
        self._outage = Outage(getattr(self.store, "address", self.store.describe()))
        self._lexicon = wordpiece_lexicon(str(spec.path))
        self.embedder = open_query_encoder(config, spec)  # opens in the background while the index loads
        self._state = self._load(spec_hash=spec.weights_sha256, model_name=spec.name)
        self._sentences = SentenceCache(self.embedder)

    # -- loading ---------------------------------------------------------------------------
    def _stamp(self, loaded: bool = True):
        """What changes when an ingest publishes: the manifest's mtime, or the server's generation name."""
        path = getattr(self.store, "manifest_path", None)
        if path is not None:
            try:
                return os.stat(path).st_mtime_ns
            except FileNotFoundError:
                if loaded:  # before the first load there is nothing to answer from: open_current says what to do
                    self._warn(f"{path} has gone; still answering from the loaded index.")
                return None
        manifest = self.store.read_manifest()
        return manifest and manifest.get("generation")

    def _load(self, spec_hash: str, model_name: str) -> _State:
        stamp = self._stamp(loaded=hasattr(self, "_state"))
        # Without Chroma when the saved parts can answer alone (retriever/generation.py).
        manifest, collection = open_current(self.store)
        close = closer(self.store, collection)
        try:
            state = self._build(manifest, collection, stamp, spec_hash, model_name)
        except BaseException:
            close()
            raise
        # Close the generation's Chroma client once no request holds this state any more: the swap
        # in _current only drops the retriever's own reference, and a search still running on the
        # old generation keeps it (its local variable) until it returns.
        finalizer = weakref.finalize(state, _release, close, self._released)
        finalizer.atexit = False  # at exit the process closes its files anyway, and Chroma may be half torn down
        return state

    def _build(self, manifest, collection, stamp, spec_hash: str, model_name: str) -> _State:
        built = manifest["model"]
        if built["weights_sha256"] != spec_hash:
            raise ModelMismatch(
                f"The index at {self.store.describe()} was built with {built['name']} "
                f"(weights {built['weights_sha256'][:12]}), but this search uses {model_name} "
                f"(weights {spec_hash[:12]}). Run `consensus-chat ingest --rebuild` with the model you want, "
                "or search with --model set to the index's model."
            )
        from .saved_parts import gc_paused

        with gc_paused():
            return self._build_tables(manifest, collection, stamp, built)

    def _build_tables(self, manifest, collection, stamp, built) -> _State:
        saved = self._saved_parts(manifest)
        if saved is not None:
            ids, chunk_sections, bm25 = saved.chunk_ids, saved.chunk_sections, saved.bm25
            sections = {s.id: s for s in saved.sections}
        else:
            ids, chunk_sections, sections, bm25 = self._from_chroma(manifest, collection)
        # Keep the manifest's section order (the document's order) for listings.
        order = {sid: n for n, sid in enumerate(manifest.get("sections", {}))}
        sections = dict(sorted(sections.items(), key=lambda kv: order.get(kv[0], len(order))))
        vocabulary = analyzer = None
        if saved is not None and saved.vocabulary is not None and saved.analyzer is not None:
            try:
                vocabulary = Vocabulary.from_dict(saved.vocabulary, self._stemmer, self._lexicon)
                analyzer = TopicAnalyzer.from_dict(saved.analyzer, self._lexicon)
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
        return _State(
            manifest=manifest, collection=collection, dense=dense,
            chunk_ids=ids, chunk_sections=chunk_sections, sections=sections, bm25=bm25,
            lookups=analyzer.lookups, stamp=stamp, analyzer=analyzer, vocabulary=vocabulary,
            scope=load_scope_model(built["weights_sha256"], manifest.get("corpus_sha256")),
            matcher=WordMatcher(vectors, vocabulary.word_df, vocabulary.n_texts, self._stemmer),
        )

    def _word_table(self, built: dict):
        """The model's table of everyday word vectors (ingest/wordtable.py), if the cache holds one; words
        beyond its cached head are encoded on first use."""
        from consensus_chat.ingest.wordtable import load_table

        return load_table(built["weights_sha256"], self._lexicon, built.get("dim"), self.embedder.encode)

    def _saved_parts(self, manifest):
        """The generation's saved search parts (retriever/saved_parts.py), or None to build from Chroma."""
        from .saved_parts import PartsDamaged, PartsMissing, load_parts

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
        from .saved_parts import build_bm25, read_chunks

        ids, docs, chunk_sections, sections = read_chunks(collection)
        if len(ids) != manifest["chunks"] or set(chunk_sections) != set(sections):
            raise IndexCorrupt(
                f"The index at {self.store.describe()} is inconsistent ({len(ids)} chunks, "
                f"{len(sections)} sections). Run `consensus-chat ingest --rebuild`."
            )
        return ids, chunk_sections, sections, build_bm25(docs, self._stemmer)

    def _topic_tables(self, sections: list[Section]) -> tuple[TopicAnalyzer, Vocabulary]:
        """The entity tables and the document vocabulary (without source keys and author names)."""
        return TopicAnalyzer(sections, self._lexicon), document_vocabulary(sections, self._stemmer, self._lexicon)

    def _current(self) -> _State:
        """The loaded state, reloaded first if another ingest swapped in a new generation."""
        state = self._state
        now = time.monotonic()
        if getattr(self.store, "manifest_path", None) is None and now - self._last_check < _SERVER_RECHECK_SECONDS:
            return state
        self._last_check = now
        if self._released.is_set():
            self._released.clear()
            gc.collect()  # Chroma's client leaves cycles; collecting them closes the old files
        try:
            stamp = self._stamp()
        except StoreUnavailable:
            self._outage.went_down()  # logged once per outage; each answer carries the notice
            return state
        except (OSError, ConsensusChatError) as exc:
            self._warn(f"Cannot check the index for a newer generation ({exc}); still answering from the loaded one.")
            return state
        self._outage.came_back()
        if stamp == state.stamp or stamp is None:
            return state
        with self._lock:
            if self._state.stamp != stamp:
                try:
                    self._state = self._load(self.embedder.spec.weights_sha256, self.embedder.name)
                except (ConsensusChatError, OSError) as exc:
                    # A swap is atomic, so this is a damaged or foreign new index: keep serving the old one.
                    self._warn(f"Not switching to the new index ({exc}); still answering from the loaded one.")
                    return state
            return self._state

    def _warn(self, message: str) -> None:
        """Log a skipped reload once, not on every request that meets the same problem."""
        if message != self._last_warning:
            self._last_warning = message
            log.warning(message)

    # -- public API --------------------------------------------------------------------------
    def refresh(self) -> None:
        """Switch to a newer generation if an ingest published one, and close the files of replaced ones.

        Every request does this first; `serve` also calls it on a timer, so that an idle server does not keep
        the files of a generation ingest has deleted."""
        self._current()

    @property
    def manifest(self) -> dict:
        """The manifest of the index being searched."""
        return self._current().manifest

    def sections(self) -> list[Section]:
        """Every section in the index, in document order."""
        return list(self._current().sections.values())

    def section(self, section_id: str) -> Section:
        """One section by id."""
        try:
            return self._current().sections[section_id]
        except KeyError:
            raise QueryError(f"No section with id {section_id!r}.") from None

    def source_record(self) -> Section | None:
        """The report's bibliographic record, if the document has one."""
        return next((s for s in self._current().sections.values() if s.kind == "source"), None)

    def search(self, query: str, k: int = 5, *, codes=None, labels=None, kinds=None, mode: str = "hybrid",
               scope: ScopeModel | None = None) -> SearchResult:
        """Rank sections for a query; sections it names exactly (code, key, title, label) come first in hybrid mode.

        `scope` overrides the index's scope rule (cross-validation in `evals` uses it).
        """
        state = self._current()
        query, notices = _clean_query(query)
        k = _check_k(k)
        if mode not in MODES:
            raise QueryError(f"mode must be one of {', '.join(MODES)}, not {mode!r}.")
        allowed = self._allowed(state, codes, labels, kinds)
        n_sections = len(state.sections) if allowed is None else len(allowed)
        n_cand = min(len(state.chunk_ids), max(30, 6 * k))
        evidence = self._gather(state, query, n_cand, (codes, labels, kinds, allowed))
        decision = decide(evidence, scope or state.scope)
        if evidence.rewrites:
            notices.append("Also searched for: " + ", ".join(f"{a} → {b}" for a, b in evidence.rewrites) + ".")
        notices += decision.notices
        if self._outage.down:
            notices.append(self._outage.notice())
        hits = self._rank(state, evidence.topic, decision.reading, min(k, n_sections), n_cand, mode, allowed)
        return SearchResult(query=query, hits=hits, in_scope=decision.in_scope, mode=mode, notices=tuple(notices),
                            scope_score=None if decision.score is None else round(float(decision.score), 6),
                            topic=evidence.topic, searched=decision.reading.text)

    def evidence(self, query: str) -> Evidence:
        """The evidence record scope and ranking are decided on (retriever/evidence.py), without filters."""
        state = self._current()
        query, _ = _clean_query(query)
        return self._gather(state, query, min(len(state.chunk_ids), 30), (None, None, None, None))

    def _gather(self, state: _State, query: str, n_cand: int, filters) -> Evidence:
        """The question's evidence: each topic word read once, and the dense support of the topic."""
        topic = state.analyzer.analyse(query)
        words, names, rewrites = read_words(topic, state.vocabulary, state.analyzer)

        def reader(text: str, some_words) -> Reading:
            vector = self.embedder.encode_one(text)
            try:
                dense = self._dense(state, vector, n_cand, *filters)
            except self.store.connection_errors():  # a large index asks the server on each search
                self._outage.went_down()
                raise self._outage.error() from None
            return Reading(text, tuple(some_words), dense, vector)

        return Evidence(query, topic, words, names, reader(rewritten(topic.text, rewrites), words),
                        tuple(rewrites), reader)

    def _rank(self, state: _State, topic: Topic, reading: Reading, k: int, n_cand: int, mode: str,
              allowed) -> list[Hit]:
        """The top k sections for a reading of the question, in the order the mode gives."""
        dense = reading.dense
        lexical = self._lexical(state, reading.text, n_cand, allowed) if mode != "dense" else {}
        exact = exact_matches(topic, state.sections) if mode == "hybrid" else {}
        if allowed is not None:
            exact = {i: m for i, m in exact.items() if i in allowed}
        if mode == "dense":
            scored = dict(dense)
        elif mode == "lexical":
            scored = dict(lexical)
        else:
            scored = fuse(state.sections, state.matcher, topic, reading.text, dense, lexical, exact)
        return ranked_hits(state.sections, scored, dense, lexical, exact, k)

    def analyse(self, question: str) -> Topic:
        """The question split into meta words, named entities and topic words (for follow-ups)."""
        return self._current().analyzer.analyse(_clean_query(question)[0])

    def sentences(self, hit) -> tuple[list[str], object]:
        """A section's sentences and their unit vectors (cached; shared with the answer composer)."""
        return self._sentences.get(hit)

    @property
    def scope_model(self) -> ScopeModel:
        """The rule that decides scope, and whether it was fitted for this model and corpus."""
        return self._current().scope

    def as_llama_index(self, k: int = 5, **search_options):
        """A llama-index BaseRetriever over this retriever (nodes carry the section metadata)."""
        from .llama import LlamaIndexRetriever

        return LlamaIndexRetriever(self, k=k, **search_options)

    # -- internals ---------------------------------------------------------------------------
    def _allowed(self, state: _State, codes, labels, kinds) -> set[str] | None:
        if not (codes or labels or kinds):
            return None
        codes = _as_list(codes, "codes")
        labels = _as_list(labels, "labels")
        kinds = _as_list(kinds, "kinds")
        allowed = set(state.sections)
        if codes:
            matched: set[str] = set()
            for prefix in codes:
                if not _CODE_FILTER.match(prefix.strip()):
                    raise QueryError(f"Code filter {prefix!r} is not a dotted section code such as 2.2 or 3.2.1.")
                ids = state.lookups.code_matches(prefix)
                if not ids:
                    known = ", ".join(sorted(state.lookups.codes))
                    raise QueryError(f"No section has a code starting with {prefix.strip()!r}. Known codes: {known}.")
                matched.update(ids)
            allowed &= matched
        if labels:
            wanted = {normalise(label) for label in labels}
            unknown = [label for label in labels if normalise(label) not in state.lookups.labels]
            if unknown:
                known = ", ".join(sorted(state.lookups.label_names.values()))
                raise QueryError(f"Unknown label {unknown[0]!r}. Known labels: {known}.")
            allowed &= {i for lab in wanted for i in state.lookups.labels[lab]}
        if kinds:
            bad = [kd for kd in kinds if kd not in KINDS]
            if bad:
                raise QueryError(f"Unknown kind {bad[0]!r}; use one of {', '.join(KINDS)}.")
            allowed &= {i for i, s in state.sections.items() if s.kind in kinds}
        return allowed

    def _dense(self, state: _State, vector, n_cand: int, codes, labels, kinds, allowed=None) -> dict[str, float]:
        """Section id -> best chunk cosine; `allowed` (from `_allowed`) and the Chroma clause are the same filter."""
        if not state.dense.in_memory:
            return state.dense.best(vector, n_cand, where=_where(state, codes, labels, kinds))
        return state.dense.best(vector, n_cand, allowed=allowed)

    def _lexical(self, state: _State, query: str, n_cand: int, allowed) -> dict[str, float]:
        import numpy as np

        words = [w for w in query_terms(query, self._stemmer) if w in state.bm25.vocab_dict]
        if not words:
            return {}
        scores = state.bm25.get_scores(words)
        if allowed is not None:
            mask = np.fromiter((sid in allowed for sid in state.chunk_sections), dtype=bool, count=len(scores))
            scores = np.where(mask, scores, 0.0)
        top = np.argpartition(-scores, min(n_cand, len(scores) - 1))[:n_cand]
        best: dict[str, float] = {}
        for i in top:
            score = float(scores[i])
            if score <= 0:
                continue
            sid = state.chunk_sections[i]
            if score > best.get(sid, 0.0):
                best[sid] = score
        return best


def _where(state: _State, codes, labels, kinds) -> dict | None:
    """The Chroma metadata clause for the code, label and kind filters (the HNSW path of dense search)."""
    clauses = []
    if codes:
        levels = []
        for prefix in codes:
            prefix = prefix.strip().rstrip(".")
            levels.append({f"code_{prefix.count('.') + 1}": prefix})
        clauses.append(levels[0] if len(levels) == 1 else {"$or": levels})
    if labels:
        names = [state.lookups.label_names[normalise(label)] for label in labels]
        clauses.append({"label": {"$in": names}})
    if kinds:
        clauses.append({"kind": {"$in": list(kinds)}})
    return None if not clauses else clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _clean_query(query) -> tuple[str, list[str]]:
    return clean_query(query, MAX_QUERY_CHARS)


def _release(close, released: threading.Event) -> None:
    """Close a replaced generation's store client and ask the next request to collect the leftovers."""
    try:
        close()
    except Exception as exc:  # noqa: BLE001 - runs from a finalizer, where an exception is only printed
        log.warning("Closing a replaced index generation failed: %s", exc)
    released.set()


def _check_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, int):
        if isinstance(k, float) and k.is_integer():
            k = int(k)
        else:
            raise QueryError(f"k must be a whole number from 1 to 50, not {k!r}.")
    if not 1 <= k <= 50:
        raise QueryError(f"k must be from 1 to 50, not {k}.")
    return k


def _as_list(value, name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple, set)) or not all(isinstance(v, str) for v in value):
        raise QueryError(f"{name} must be a list of strings.")
    return [v for v in value if v.strip()]


def open_retriever(index_dir=None, *, chroma_host=None, chroma_port=None, model=None, config: Config | None = None) -> Retriever:
    """Open an index once (model, store, lexical index); then call `.search(query, k)` as often as you like."""
    if config is None:
        config = Config.from_env(index_dir=index_dir, chroma_host=chroma_host, chroma_port=chroma_port, model=model)
    return Retriever(config)
