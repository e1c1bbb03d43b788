"""The Assistant: resolve a follow-up from the previous turn, retrieve, then answer with verified [n] citations."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from consensus_chat.ingest.config import Config
from consensus_chat.ingest.errors import QueryError
from consensus_chat.ingest.section import in_page_order
from consensus_chat.ingest.words import PLURAL_ASKED, SECTION_NOUNS
from consensus_chat.retriever.blas import one_blas_thread
from consensus_chat.retriever.clean import clean_query
from consensus_chat.retriever.outline import children_asked
from consensus_chat.retriever.ranking import BROAD_MARGIN
from consensus_chat.retriever.types import SearchResult
from consensus_chat.retriever.wording import split_parts

from .asked import compared_sides
from .codes import SUB_AREA_WORDS, shared_keys, shared_kind, sharing
from .extractive import CODE_WORDS, ExtractiveComposer, follow_up_refusal, refusal
from .feedback import Ratings
from .followup import DOCUMENT_NOUNS, Resolution, resolve_follow_up
from .memory import exchanges, history_pairs, turn_from_text
from .types import Answer, Citation, Turn

__all__ = ["Assistant", "Answer", "Citation", "Turn", "open_assistant"]

BACKENDS = ("extractive", "openai")
TOP_K = 5
# The plural nouns a question asks for several sections with ("Which areas deal with X or Y?").
AREA_NOUNS = SECTION_NOUNS | frozenset("chapters passages parts".split())


class Assistant:
    """Answers questions about the indexed document. Imports no Gradio."""

    def __init__(self, retriever, config: Config):
        if config.llm not in BACKENDS:
            raise QueryError(f"Unknown LLM backend {config.llm!r}; use one of {', '.join(BACKENDS)}.")
        self.retriever = retriever
        self.config = config
        self.extractive = ExtractiveComposer(retriever.embedder, retriever.sentences, retriever.sections)
        self._llm = None
        self.ratings = Ratings(config.index_dir)  # votes on this assistant's answers, stored in the index home
        if config.llm == "openai":
            from .llm import OpenAIBackend

            self._llm = OpenAIBackend(config, retriever.embedder, max_tokens=config.llm_max_tokens)

    @property
    def backend(self) -> str:
        """The configured answer backend."""
        return self.config.llm

    def standalone_question(self, question: str, history=()) -> str:
        """The question made stand-alone using the earlier turns (for follow-ups)."""
        return self._resolution(question, history).question

    def _resolution(self, question: str, history, searched: dict | None = None) -> Resolution:
        return self._after(question, self._previous(history), searched)

    def _after(self, question: str, previous: Turn | None, searched: dict | None = None) -> Resolution:
        return resolve_follow_up(question, previous, analyse=self.retriever.analyse,
                                 search=lambda q: self._search(q, searched), section_of=self._section)

    def _previous(self, history) -> Turn | None:
        """The last answer's Turn: as the caller sent it, or else rebuilt from the text of up to four turns."""
        earlier = exchanges(history)
        if not earlier:
            return None
        if earlier[-1].turn is not None:
            return earlier[-1].turn  # its resolved question already stands alone: nothing earlier is re-read
        previous = None
        for exchange in earlier[-4:]:
            if exchange.turn is not None:
                previous = exchange.turn
                continue
            resolution = self._after(exchange.question, previous, {})
            previous = turn_from_text(exchange.question, resolution.question, exchange.answer, self.retriever.sections())
            if resolution.listed and not previous.listed and (resolution.refuse or resolution.section):
                previous = replace(previous, listed=resolution.listed)  # as `stream` keeps it: the list stays
        return previous

    def _section(self, section_id: str):
        try:
            return self.retriever.section(section_id)
        except QueryError:
            return None  # an id from an older index or a caller's typo: the turn just names nothing

    def _search(self, question: str, searched: dict | None = None) -> SearchResult | None:
        """The search of a question, kept in `searched` so the answer does not search it again; None if unusable."""
        if searched is not None and question in searched:
            return searched[question]
        try:
            result = self.retriever.search(question, k=TOP_K)
        except QueryError:
            return None
        if searched is not None:
            searched[question] = result
        return result

    def _each_part(self, result: SearchResult, searched: dict) -> list:
        """The sections to list for a question that asks for several sections ("areas", "sections"): with several
        parts ("Which areas deal with near misses or whistleblowers?") the first card of each part, when each part
        is covered and they differ (the whole question's ranking may put one part's sections first); with one, its
        first cards. [] when it asks for something else, or names what to list (the composer lists that)."""
        topic, evidence = result.topic, result.evidence
        if topic is None or evidence is None or not result.hits:
            return []
        titled = list(dict.fromkeys(e.ids[0] for e in sorted(topic.entities, key=lambda e: e.start)
                                    if e.kind == "title" and len(e.ids) == 1))
        if len(titled) >= 2 and all(e.kind == "title" for e in topic.entities) and not set(topic.meta) & CODE_WORDS:
            # "What's the difference between root cause analysis and near-miss reporting?": two sections named
            # by their titles, so each of them, in the question's order (the composer quoted the first one only).
            named = [h for i in titled for h in result.hits if h.id == i]
            return named if len(named) == len(titled) else []
        if (sides := compared_sides(topic.question)) is not None:
            # "Compare the near-miss card and the whistleblower card.": each side's own card, in the question's order,
            # so the answer shows both and "the second one" is the second side; a side not found alone lists nothing.
            found = [self._search(side, searched) for side in sides]
            cards = [next((h for h in f.hits if h.kind == "card"), None) if f and f.in_scope else None for f in found]
            if None not in cards and cards[0].id != cards[1].id:
                return cards
        # A part may be a title the question names ("Which parts of the page cover <a title> or <a topic>?").
        wordings = [p.wording for p in evidence.parts] or (split_parts(topic.text) if topic.entities else [])
        # "Which parts of the page …", "Where does the page talk about X or Y?" ask for sections as well.
        asks_areas = bool(set(topic.meta) & AREA_NOUNS) or "parts" in topic.words and bool(
            set(topic.meta) & DOCUMENT_NOUNS) or len(wordings) >= 2 and topic.question.lstrip().lower().startswith("where")
        # "What methods help audit AI systems?" asks for several things too: the cards the ranking cannot tell apart.
        several = not asks_areas and PLURAL_ASKED.search(topic.question) is not None and result.hits[0].kind == "card"
        asks_areas = asks_areas or several
        # "What are the codes for nitrate and PFAS?": a code for each part, so each part's card (one part: the composer
        # gives the code of the card it is about).
        if not asks_areas and not (set(topic.meta) & CODE_WORDS and evidence.parts):
            return []
        if topic.entities and (len(wordings) < 2 or any(e.kind != "title" for e in topic.entities)) or (
                not topic.words or children_asked(topic, self.retriever.sections(), evidence) is not None):
            return []  # a code, key, title, label or parent area named: the composer lists what has it or is under it
        hits: list = []
        for wording in wordings:
            found = self._search(wording, searched)
            card = next((h for h in found.hits if h.kind == "card"), None) if found and found.in_scope else None
            if card is None:
                hits = []  # a part not covered alone ("keeping people"): the question's own ranking lists them
                break
            if card.id not in {h.id for h in hits}:
                hits.append(card)
        if len(hits) >= 2:  # in the page's order, as every list is, so "the first one" is the first shown
            return in_page_order(hits)
        if not asks_areas:
            return []
        # "What are the research areas about evaluation?" asks for areas: the first two cards, and any other the
        # ranking cannot tell from the first by more than a broad section's margin (retriever/ranking.py).
        cards = [h for h in result.hits if h.kind == "card"]
        close = [h for h in cards if h.score >= result.hits[0].score - BROAD_MARGIN]
        close = close if len(close) >= 2 or several else cards[:2]
        return close if len(close) >= 2 else []

    def _shared(self, result: SearchResult, resolution: Resolution, kind: str) -> tuple[str, list] | None:
        """The sections that share a code, label or source (`kind`) with the section the question is on (the one it
        names by its title, or the one a follow-up continues), or across the whole page; None when none do."""
        titled = [e.ids[0] for e in result.topic.entities if e.kind == "title" and len(e.ids) == 1]
        focus_id = resolution.section or (titled[0] if len(titled) == 1 else None)
        sections = self.retriever.sections()
        focus = next((s for s in sections if s.id == focus_id), None)
        lead, cards = sharing(sections, kind, focus, sub_areas=bool(SUB_AREA_WORDS & set(result.topic.meta)))
        return (lead, cards) if cards else None

    def answer(self, question: str, history=(), *, codes=None, labels=None) -> Answer:
        """The final Answer (runs `stream` to the end)."""
        final = None
        for item in self.stream(question, history, codes=codes, labels=labels):
            if isinstance(item, Answer):
                final = item
        return final

    def stream(self, question: str, history=(), *, codes=None, labels=None) -> Iterator[str | Answer]:
        """Yield the answer text as it grows, then the final Answer."""
        # QueryError for nothing usable; the search cuts and notes length. Cleaned at the edge (the CLI, the API, the
        # web chat), it is a CleanQuestion and passes as it is; that one goes down, so nothing below cleans it again.
        clean, _ = clean_query(question, limit=None)
        question = str(clean)  # the answer records plain text
        searched: dict = {}
        resolution = self._resolution(clean, history, searched) if history else Resolution(clean)
        if resolution.refuse:
            # A question back about a place past the list keeps the list, so the user can pick again.
            final = _with(follow_up_refusal(question, resolution.refuse, self.backend), resolved_question=question,
                          listed=resolution.listed)
            yield final.text
            yield final
            return
        result = searched.get(resolution.question) if codes is None and labels is None else None
        if result is None:
            result = self.retriever.search(resolution.question, k=TOP_K, codes=codes, labels=labels)
        if resolution.section is not None:
            result = _pinned(result, resolution.section, picked=resolution.picked)
        resolved = result.query  # cleaned and, for very long input, truncated
        together = [h for i in resolution.together for h in result.hits if h.id == i]
        if not result.in_scope:
            final = refusal(question, result, self.backend)
        elif together and len(together) == len(resolution.together) and self._llm is None:
            with one_blas_thread():  # the sentence products, as in a search (retriever/blas.py)
                final = self.extractive.each(resolved, together, result)  # "What do they say?": each listed section
        elif self._llm is None and (kind := shared_kind(result.topic)) and (
                shared := self._shared(result, resolution, kind)):
            with one_blas_thread():  # "Does another area share that code?": from the page's codes, not the search
                keys = shared_keys(shared[1]) if kind == "source" else None
                final = self.extractive.each(resolved, shared[1], result, ranked=True, lead=shared[0], keys=keys)
        elif self._llm is None and resolution.section is None and (each := self._each_part(result, searched)):
            with one_blas_thread():  # "Which areas cover X or Y?": one per part, in page order
                final = self.extractive.each(resolved, each, result, ranked=True)
        elif self._llm is not None:
            final = yield from self._stream_llm(question, resolved, result, history)
        else:
            with one_blas_thread():
                final = self.extractive.compose(resolved, result, question)
        final = _with(final, question=question, resolved_question=resolved)
        if resolution.section is not None and not final.listed and not final.refused:
            final = _with(final, listed=resolution.listed)  # the list stays to pick from ("and the first one?")
        self.ratings.issued.remember(final)  # a vote on it is accepted only while the assistant remembers it
        yield final.text
        yield final

    def feedback(self, answer, liked: bool, comment: str = "", *, client: str | None = None) -> dict:
        """Rate an answer this assistant gave (an Answer or its id): thumbs up (liked=True) or down, stored with the
        question, the answer and the sources it showed; `consensus-chat feedback export` writes the disliked ones."""
        answer_id = answer.id if isinstance(answer, Answer) else answer
        return self.ratings.rate(answer_id, liked, comment, client=client)

    def _stream_llm(self, question, resolved, result, history):
        from .llm import LLMUnavailable

        notices = list(result.notices)
        try:
            for item in self._llm.stream(resolved, list(result.hits), history_pairs(history)):
                if isinstance(item, Answer):
                    return _with(item, notices=tuple(notices) + tuple(item.notices))
                yield item
            notices.append("No claim of the LLM's answer could be verified against its sources; "
                           "showing the extractive answer instead.")
        except LLMUnavailable as exc:
            notices.append(str(exc))
        fallback = self.extractive.compose(resolved, result)
        return _with(fallback, notices=tuple(notices))


def _pinned(result: SearchResult, section_id: str, *, picked: bool) -> SearchResult:
    """The result answered from the one section a follow-up is about: that section first, and no code or label
    look-up that would turn the answer into a list of its neighbours. Only a section the user picked ("the second
    one") is in scope whatever the search says; an inherited topic keeps the search's scope decision."""
    hits = [h for h in result.hits if h.id == section_id]
    if not hits or result.topic is None or not (picked or result.in_scope):
        return result  # not found by the search of its own title, or out of scope: answer what the search found
    entities = tuple(replace(e, ids=(section_id,)) for e in result.topic.entities
                     if section_id in e.ids and e.kind not in ("code", "label"))
    # A picked section ("the latter") is the whole answer; an inherited topic may still quote a neighbour.
    others = [] if picked else [h for h in result.hits if h.id != section_id and not h.matched_by]
    return replace(result, hits=hits + others, in_scope=True, topic=replace(result.topic, entities=entities))


def _with(answer: Answer, **changes) -> Answer:
    return replace(answer, **changes)


def open_assistant(index_dir=None, *, llm: str | None = None, config: Config | None = None, **retriever_options) -> Assistant:
    """Open the index and return an Assistant (`llm="extractive"` by default, or "openai")."""
    from consensus_chat.retriever import open_retriever

    if config is None:
        config = Config.from_env(index_dir=index_dir, llm=llm, **retriever_options)
    elif llm is not None:
        config = config.with_(llm=llm)
    retriever = open_retriever(config=config)
    return Assistant(retriever, config)
