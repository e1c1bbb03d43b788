"""The hand-written retrieval metrics evals/metrics.py used before ir-measures: the test oracle.

Kept only here, so a test can show the library gives the same numbers on our question set.

Each ranked item is the set of section titles it holds: one title for a retriever Hit,
possibly several for a baseline chunk. An item is relevant when it holds a relevant title.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

Ranked = Sequence[Iterable[str]]


def _sets(ranked: Ranked) -> list[set[str]]:
    return [set(item) for item in ranked]


def first_relevant_rank(ranked: Ranked, relevant: Iterable[str]) -> int | None:
    """1-based rank of the first item holding a relevant title, or None."""
    relevant = set(relevant)
    for rank, titles in enumerate(_sets(ranked), 1):
        if titles & relevant:
            return rank
    return None


def hit_at_k(ranked: Ranked, relevant: Iterable[str], k: int) -> float:
    """1.0 if any of the top k items holds a relevant title, else 0.0."""
    rank = first_relevant_rank(ranked, relevant)
    return 1.0 if rank is not None and rank <= k else 0.0


def reciprocal_rank(ranked: Ranked, relevant: Iterable[str]) -> float:
    """1/rank of the first relevant item; 0.0 when none of the ranked items is relevant."""
    rank = first_relevant_rank(ranked, relevant)
    return 0.0 if rank is None else 1.0 / rank


def _new_titles(ranked: Ranked, relevant: set[str], k: int) -> list[set[str]]:
    """For each of the top k items, the relevant titles it holds that no earlier item held."""
    seen: set[str] = set()
    out = []
    for titles in _sets(ranked)[:k]:
        out.append((titles & relevant) - seen)
        seen |= out[-1]
    return out


def ndcg_at_k(ranked: Ranked, relevant: Iterable[str], k: int = 5) -> float:
    """Binary-relevance nDCG@k; ideal DCG assumes min(#relevant titles, k) relevant items on top.

    An item gains 1 only if it holds a relevant title no earlier item held, so a title found
    twice (e.g. in two overlapping chunks) is not counted twice and nDCG stays within [0, 1].
    """
    relevant = set(relevant)
    if not relevant:
        return 0.0
    dcg = sum(1.0 / math.log2(i + 2) for i, new in enumerate(_new_titles(ranked, relevant, k)) if new)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(relevant), k)))
    return dcg / ideal


def recall_at_k(ranked: Ranked, relevant: Iterable[str], k: int = 5) -> float:
    """Share of the relevant titles held by the top k items."""
    relevant = set(relevant)
    return sum(map(len, _new_titles(ranked, relevant, k))) / len(relevant) if relevant else 0.0


def mean(values: Iterable[float]) -> float | None:
    """Arithmetic mean, or None for no values."""
    values = list(values)
    return sum(values) / len(values) if values else None


def retrieval_scores(rankings: Sequence[tuple[Ranked, Iterable[str]]]) -> dict[str, float | None]:
    """hit@1/3/5, MRR, nDCG@5 and recall@5 averaged over (ranked, relevant) pairs."""
    pairs = [(_sets(r), set(rel)) for r, rel in rankings]
    return {
        "hit@1": mean(hit_at_k(r, rel, 1) for r, rel in pairs),
        "hit@3": mean(hit_at_k(r, rel, 3) for r, rel in pairs),
        "hit@5": mean(hit_at_k(r, rel, 5) for r, rel in pairs),
        "mrr": mean(reciprocal_rank(r, rel) for r, rel in pairs),
        "ndcg@5": mean(ndcg_at_k(r, rel, 5) for r, rel in pairs),
        "recall@5": mean(recall_at_k(r, rel, 5) for r, rel in pairs),
    }

