"""The Assistant: condense the question, retrieve, then answer with verified [n] citations."""

from __future__ import annotations

from collections.abc import Iterator

from ingest.config import Config
from ingest.errors import QueryError
from retriever.query import clean_query

from .extractive import ExtractiveComposer, refusal
from .feedback import Ratings
from .followup import condense, history_pairs
from .types import Answer, Citation

__all__ = ["Assistant", "Answer", "Citation", "open_assistant"]

BACKENDS = ("extractive", "openai")
TOP_K = 5


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

    def resolve(self, question: str, history=()) -> str:
        """The question made stand-alone using the earlier turns (for follow-ups)."""
        resolved: list[str] = []
        for user, _ in history_pairs(history)[-4:]:
            resolved.append(condense(user, resolved, self._topic_of, self.retriever.analyse, self._covers))
        return condense(question, resolved, self._topic_of, self.retriever.analyse, self._covers)

    def _covers(self, question: str) -> bool:
        try:
            return self.retriever.search(question, k=1).in_scope
        except QueryError:
            return False

    def _topic_of(self, question: str) -> str | None:
        try:
            hits = self.retriever.search(question, k=1).hits
        except QueryError:
            return None
        return hits[0].title if hits else None

    def answer(self, question: str, history=(), *, codes=None, labels=None) -> Answer:
        """The final Answer (runs `stream` to the end)."""
        final = None
        for item in self.stream(question, history, codes=codes, labels=labels):
            if isinstance(item, Answer):
                final = item
        return final

    def stream(self, question: str, history=(), *, codes=None, labels=None) -> Iterator[str | Answer]:
        """Yield the answer text as it grows, then the final Answer."""
        question, _ = clean_query(question, limit=None)  # QueryError for nothing usable; the search cuts and notes length
        resolved = self.resolve(question, history) if history else question
        result = self.retriever.search(resolved, k=TOP_K, codes=codes, labels=labels)
        resolved = result.query  # cleaned and, for very long input, truncated
        if not result.in_scope:
            final = refusal(question, result, self.backend)
        elif self._llm is not None:
            final = yield from self._stream_llm(question, resolved, result, history)
        else:
            final = self.extractive.compose(resolved, result)
        final = _with(final, question=question, resolved_question=resolved)
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


def _with(answer: Answer, **changes) -> Answer:
    from dataclasses import replace

    return replace(answer, **changes)


def open_assistant(index_dir=None, *, llm: str | None = None, config: Config | None = None, **retriever_options) -> Assistant:
    """Open the index and return an Assistant (`llm="extractive"` by default, or "openai")."""
    from retriever import open_retriever

    if config is None:
        config = Config.from_env(index_dir=index_dir, llm=llm, **retriever_options)
    elif llm is not None:
        config = config.with_(llm=llm)
    retriever = open_retriever(config=config)
    return Assistant(retriever, config)
