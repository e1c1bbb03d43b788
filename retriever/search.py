"""The Retriever: the public search surface, orchestrating one request over the loaded generation.

A search cleans the question (retriever/clean.py; one the edge has cleaned passes as it is) and checks the
filters (retriever/filters.py), gathers the evidence (retriever/gather.py) the scope decision
(retriever/decision.py) is made on, and ranks the sections (retriever/ranking.py): dense (the chunk vectors,
or Chroma) and lexical (bm25s) fused, exact look-ups on top.
Loading and hot-reloading a generation is retriever/loading.py and retriever/reload.py.
"""

from __future__ import annotations

from dataclasses import replace

from consensus_chat.ingest.config import Config
from consensus_chat.ingest.errors import QueryError
from consensus_chat.ingest.lexical import stemmer
from consensus_chat.ingest.section import Section
from consensus_chat.ingest.text import asked_sentence, spell

from .blas import one_blas_thread, prepare
from .clean import clean_query
from .decision import decide
from .evidence import Evidence
from .filters import allowed, check_k, check_mode
from .gather import Gatherer
from .loading import Generation, Loader
from .outline import outline_of
from .outage import Outage
from .ranking import rank
from .reload import Generations
from .scope import ScopeModel
from .sentences import SentenceCache
from .topic import Topic, wordpiece_lexicon
from .wording import contrasted
from .types import Hit, SearchResult


class Retriever:
    """Search one index. Build with `open_retriever`; `search` is cheap and thread-safe."""

    def __init__(self, config: Config):
        from consensus_chat.ingest.embedder import resolve_model
        from consensus_chat.ingest.store import open_store

        from .encoder import open_query_encoder

        self.config = config
        self.store = open_store(config)
        spec = resolve_model(config.model)
        self._stemmer = stemmer()
        self._outage = Outage(getattr(self.store, "address", self.store.describe()))
        self._lexicon = wordpiece_lexicon(str(spec.path))
        self.embedder = open_query_encoder(config, spec)  # opens in the background while the index loads
        self._generations = Generations(Loader(self.store, self.embedder, self._stemmer, self._lexicon), self._outage)
        self._generations.open(spec.weights_sha256, spec.name)
        self._gatherer = Gatherer(self.embedder, self.store, self._outage)
        self._sentences = SentenceCache(self.embedder)
        prepare()  # finds numpy's BLAS once, so that a search only switches its threads (retriever/blas.py)

    def _current(self) -> Generation:
        """The loaded generation, reloaded first if another ingest swapped in a new one."""
        return self._generations.current()

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
        except KeyError as err:
            raise QueryError(f"No section with id {section_id!r}.") from err

    def source_record(self) -> Section | None:
        """The report's bibliographic record, if the document has one."""
        return next((s for s in self._current().sections.values() if s.kind == "source"), None)

    def search(self, query: str, k: int = 5, *, codes=None, labels=None, kinds=None, mode: str = "hybrid",
               scope_rule: ScopeModel | None = None) -> SearchResult:
        """Rank sections for a query; sections it names exactly (code, key, title, label) come first in hybrid mode.

        `scope_rule` overrides the index's scope rule (for cross-validating a fitted rule).
        """
        with one_blas_thread():  # small products: one core each, leaving the other to the encoder
            return self._search(query, k, codes, labels, kinds, mode, scope_rule)

    def _search(self, query, k, codes, labels, kinds, mode, scope_rule) -> SearchResult:
        generation = self._current()
        query, notices = clean_query(query)  # cut to length; cleaned too, unless the edge has (a CleanQuestion)
        k = check_k(k)
        check_mode(mode)
        ids = allowed(generation, codes, labels, kinds)
        n_sections = len(generation.sections) if ids is None else len(ids)
        n_cand = min(len(generation.chunk_ids), max(30, 6 * k))
        as_typed = query
        query = spell(query)  # "Weiss" for "Weiß", as the page's words and keys are read (`spell`)
        evidence = self._gatherer.gather(generation, query, n_cand, (codes, labels, kinds, ids))
        decision = decide(evidence, scope_rule or generation.scope)
        if evidence.rewrites:
            notices.append("Also searched for: " + ", ".join(f"{a} → {b}" for a, b in evidence.rewrites) + ".")
        notices += decision.notices
        if self._outage.down:
            notices.append(self._outage.notice())
        # A question of stopwords names nothing: no section is "nearest" to it.
        topic = (decision.asked or evidence).topic  # an instruction's names set aside, the asked sentence is the topic
        reading = decision.reading
        kept = contrasted(query) if decision.in_scope and decision.asked is None and evidence.ask else None
        if kept is not None:  # "Which area is not about X but about Y?" ranks for Y; scope read the whole question
            other = evidence.ask(kept)
            topic, reading = other.topic, other.ranked
        # "Which areas fall under <a parent>?" is answered by the parent's sub-areas: they rank first, so the
        # ranking and the answer (which lists them) agree; the parent follows them. The evidence looked for the parent
        # already when the question as asked is what ranks; another reading (the asked sentence, a contrast) looks again.
        outline = None
        if decision.in_scope:
            outline = evidence.outline if topic is evidence.topic else outline_of(
                topic, generation.sections.values(), evidence, generation.children)
        # "HackerOne runs bug bounties. What does the page say about sharing flaws?": the sentence around a name the
        # page does not know describes the name; the asked sentence weighs as much as the whole question. Without such
        # a name the context sets a scene whose words can still name another card ("We log incidents in a database.
        # What about close calls?"): the asked sentence weighs a third (ASKED_WEIGHT).
        context = (decision.in_scope and evidence.ask and decision.asked is None and kept is None
                   and asked_sentence(query) is not None)
        other = evidence.asked if context else None  # that sentence's evidence, gathered once (the decision may have)
        if other is not None and not other.topic.words:  # "…; where does the page discuss that?" names no topic
            other = None
        depth = n_sections if outline or other else min(k, n_sections)
        hits = [] if decision.empty else rank(generation, topic, reading, depth, n_cand, mode, ids, self._stemmer)
        if other is not None:
            hits = _fused(hits, rank(generation, other.topic, other.ranked, depth, n_cand, mode, ids, self._stemmer),
                          min(k, n_sections), ASKED_WEIGHT[bool(evidence.names)])
        if outline:
            kids = set(outline[1])
            hits = ([h for h in hits if h.section.id in kids] + [h for h in hits if h.section.id not in kids])[:k]
        return SearchResult(query=as_typed, hits=hits, in_scope=decision.in_scope, mode=mode, notices=tuple(notices),
                            scope_score=None if decision.score is None else round(float(decision.score), 6),
                            topic=topic, searched=reading.text, searched_vector=reading.vector, evidence=evidence)

    def evidence(self, query: str) -> Evidence:
        """The evidence record scope and ranking are decided on (retriever/evidence.py), without filters."""
        generation = self._current()
        query = spell(clean_query(query)[0])
        return self._gatherer.gather(generation, query, min(len(generation.chunk_ids), 30),
                                     (None, None, None, None))

    def analyse(self, question: str) -> Topic:
        """The question split into meta words, named entities and topic words (for follow-ups)."""
        return self._current().analyzer.analyse(spell(clean_query(question)[0]))

    def sentences(self, hit) -> tuple[list[str], object]:
        """A section's sentences and their unit vectors (cached; shared with the answer composer)."""
        return self._sentences.get(hit)

    @property
    def scope_model(self) -> ScopeModel:
        """The rule that decides scope, and whether it was fitted for this model and corpus."""
        return self._current().scope

    def as_llama_index(self, k: int = 5, **search_options):
        """A llama-index BaseRetriever over this retriever (nodes carry the section metadata)."""
        # The one import of the adapter, at llama-index's edge; the adapter never imports this module.
        from .llama import LlamaIndexRetriever

        return LlamaIndexRetriever(self, k=k, **search_options)


def open_retriever(index_dir=None, *, chroma_host=None, chroma_port=None, model=None, config: Config | None = None) -> Retriever:
    """Open an index once (model, store, lexical index); then call `.search(query, k)` as often as you like."""
    if config is None:
        config = Config.from_env(index_dir=index_dir, chroma_host=chroma_host, chroma_port=chroma_port, model=model)
    return Retriever(config)


# The asked sentence's share of a ranking fused with the whole question's: (without, beside) a name the page does not
# know. Chosen on blind sets 7-28 (development data): a half without a name lost 12 questions for 20 won; a third,
# 6 for 16.
ASKED_WEIGHT = (1 / 3, 0.5)


def _fused(whole: list[Hit], asked: list[Hit], k: int, weight: float) -> list[Hit]:
    """Two rankings of every section, the second weighing `weight` (CombSUM; a section one lacks scores that ranking's
    lowest)."""
    floor_whole, floor_asked = min((h.score for h in whole), default=0.0), min((h.score for h in asked), default=0.0)
    score_whole, score_asked = {h.id: h.score for h in whole}, {h.id: h.score for h in asked}
    by_id = {h.id: h for h in asked} | {h.id: h for h in whole}
    fused = {i: (1 - weight) * score_whole.get(i, floor_whole) + weight * score_asked.get(i, floor_asked)
             for i in by_id}
    return [replace(by_id[i], score=fused[i]) for i in sorted(fused, key=lambda i: (-fused[i], i))[:k]]
