"""Every question searched once per mode: the results, rankings and timings every later phase of the eval reads."""

from __future__ import annotations

import time
from dataclasses import dataclass

from consensus_chat.ingest.errors import ConsensusChatError

from .metrics import retrieval_scores, rounded

MODES = ("hybrid", "dense", "lexical")
RANK_DEPTH = 10


@dataclass(frozen=True)
class Searched:
    """Each mode's search result per question id, its ranked section ids, and the hybrid search times (ms)."""

    results: dict[str, dict[str, object]]
    rankings: dict[str, dict[str, list[str]]]
    search_ms: list[float]

    def scores(self, qrels: dict[str, set[str]]) -> dict[str, dict]:
        """Retrieval metrics per mode."""
        return {m: {k: rounded(v) for k, v in retrieval_scores(run, qrels).items()} for m, run in self.rankings.items()}


def check_modes(modes) -> tuple[str, ...]:
    """The modes to score, hybrid always and first; an unknown mode is an error."""
    modes = tuple(dict.fromkeys(("hybrid", *modes)))
    for m in modes:
        if m not in MODES:
            raise ConsensusChatError(f"mode must be one of {', '.join(MODES)} or all, not {m!r}.")
    return modes


def search_all(retriever, questions, modes, depth: int = RANK_DEPTH, progress=None) -> Searched:
    """Search every question in every mode, after one warm-up call so model and caches are hot for the timings."""
    say = progress or (lambda msg: None)
    retriever.search(questions[0].question, k=depth)
    results: dict[str, dict[str, object]] = {m: {} for m in modes}
    search_ms: list[float] = []
    for m in modes:
        say(f"searching ({m})")
        for q in questions:
            start = time.perf_counter()
            results[m][q.id] = retriever.search(q.question, k=depth, mode=m)
            if m == "hybrid":
                search_ms.append((time.perf_counter() - start) * 1000.0)
    rankings = {m: {q.id: [h.id for h in results[m][q.id].hits] for q in questions} for m in modes}
    return Searched(results, rankings, search_ms)
