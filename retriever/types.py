"""Frozen records the retriever returns."""

from __future__ import annotations

from dataclasses import dataclass, field

from consensus_chat.ingest.section import CarriesSection, Section

from .topic import Topic


@dataclass(frozen=True)
class Hit(CarriesSection):
    """One section that matches a query, with the final score and each signal's own score and rank.

    It holds its Section whole: `hit.code`, `hit.title`, `hit.text`, `hit.authors`, ... read the section's fields.
    """

    section: Section
    score: float  # an exact look-up's tier (0 for none) plus the fused signals (< 1): retriever/ranking.py
    dense_score: float | None = None
    dense_rank: int | None = None
    lexical_score: float | None = None
    lexical_rank: int | None = None
    matched_by: str | None = None  # why an exact look-up matched: "code", "source-key", "title", "label", "report",
    # or "area" (a sub-area of an area whose title the question names)

    def to_dict(self) -> dict:
        """The JSON shape of `search --json`."""
        return {
            "id": self.id, "code": self.code, "label": self.label, "title": self.title, "parent": self.parent,
            "kind": self.kind, "score": round(self.score, 6), "citations": list(self.citations), "text": self.text,
        }


@dataclass(frozen=True)
class SearchResult:
    """Hits for a query, and whether the document covers it at all."""

    query: str
    hits: list[Hit]
    in_scope: bool
    mode: str = "hybrid"
    notices: tuple[str, ...] = field(default=())
    scope_score: float | None = None  # the topic's evidence (retriever/scope.py); None when it has no topic words
    topic: Topic | None = None  # the question split into meta words, entities and topic words
    searched: str = ""  # the text that was searched (meta words dropped, abbreviations expanded)
    # The unit vector of `searched` that the dense search used, so an answer composed from it embeds nothing again.
    searched_vector: object = field(default=None, compare=False, repr=False)
    # The evidence record the scope decision was made on (retriever/evidence.py): eval and calibration read it
    # from the result they hold instead of gathering it again.
    evidence: object = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict:
        """The JSON shape of `search --json`."""
        return {"query": self.query, "in_scope": self.in_scope, "hits": [h.to_dict() for h in self.hits]}
