"""Retrieval metrics through ir-measures (trec_eval's C code via pytrec_eval), over section ids.

A run maps each question id to its ranked section ids; qrels map each in-scope question id to the
section ids that answer it (binary relevance). hit@k is trec_eval's `success@k`, MRR its
`recip_rank` over the ranked depth, nDCG@5 `ndcg_cut_5`, recall@5 `recall_5`.

Why ir-measures and not ranx: `pip download --no-deps` gives ir-measures 0.4.3 61 KB plus
pytrec-eval-terrier 0.5.11 304 KB (a compiled wheel; its numpy and scipy are already ours), while
ranx 0.3.21 is 99 KB but pulls numba (3.8 MB) and llvmlite (59.7 MB), ir-datasets, pandas, seaborn
and fastparquet, and JIT-compiles its metrics on the first call of every process. Both compute the
same trec_eval definitions; ir-measures costs 0.4 MB and no compile step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

RETRIEVAL_METRICS = ("hit@1", "hit@3", "hit@5", "mrr", "ndcg@5", "recall@5")

Run = Mapping[str, Sequence[str]]
Qrels = Mapping[str, Iterable[str]]


def _measures() -> dict:
    # Imported when scoring, not when the eval module is imported (the CLI's --help stays fast).
    from ir_measures import RR, R, Success, nDCG

    return {"hit@1": Success @ 1, "hit@3": Success @ 3, "hit@5": Success @ 5, "mrr": RR,
            "ndcg@5": nDCG @ 5, "recall@5": R @ 5}


def as_trec(run: Run, qrels: Qrels) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, int]]]:
    """(run, qrels) as pytrec_eval dicts; scores fall strictly with rank so trec_eval keeps our order."""
    trec_run = {qid: {doc: float(len(docs) - i) for i, doc in enumerate(dict.fromkeys(docs))}
                for qid, docs in run.items()}
    trec_qrels = {qid: {doc: 1 for doc in docs} for qid, docs in qrels.items() if docs}
    return trec_run, trec_qrels


def per_query(run: Run, qrels: Qrels) -> dict[str, dict[str, float]]:
    """metric -> question id -> value, for every question with qrels.

    trec_eval leaves out a question that has no ranked documents; here it scores 0, as a retriever
    that returns nothing has found nothing.
    """
    import ir_measures

    measures = _measures()
    trec_run, trec_qrels = as_trec(run, qrels)
    by_measure = {m: name for name, m in measures.items()}
    values: dict[str, dict[str, float]] = {name: dict.fromkeys(trec_qrels, 0.0) for name in measures}
    for row in ir_measures.iter_calc(list(measures.values()), trec_qrels, trec_run):
        values[by_measure[row.measure]][row.query_id] = float(row.value)
    return values


def retrieval_scores(run: Run, qrels: Qrels) -> dict[str, float | None]:
    """hit@1/3/5, MRR, nDCG@5 and recall@5 averaged over the questions that have qrels."""
    return {name: mean(by_q.values()) for name, by_q in per_query(run, qrels).items()}


def first_relevant_rank(ranked: Sequence[str], relevant: Iterable[str]) -> int | None:
    """1-based rank of the first relevant section id, or None (for the per-question trace)."""
    relevant = set(relevant)
    return next((rank for rank, doc in enumerate(ranked, 1) if doc in relevant), None)


def sections_ranking(items: Iterable[Iterable[str]]) -> list[str]:
    """Chunks (each the section ids it holds, in document order) as one section ranking.

    A section takes the rank of the first chunk that holds it (MaxP, as when passages are ranked
    to score documents), so a retriever of long chunks is judged on the sections it points at.
    """
    return list(dict.fromkeys(doc for item in items for doc in item))


def mean(values: Iterable[float]) -> float | None:
    """Arithmetic mean, or None for no values."""
    values = list(values)
    return sum(values) / len(values) if values else None


DIGITS = 3  # every rate and score of the eval report; tables and the chart print them as they are


def rounded(x, digits: int = DIGITS) -> float | None:
    """A figure rounded once, for the report (tables and chart show it unrounded again); None stays None."""
    return None if x is None else round(float(x), digits)


def rounded_rate(x) -> float | None:
    """A rate as the calibration record keeps it: four digits."""
    return rounded(x, 4)


def percentile(values: Iterable[float], p: float) -> float | None:
    """The p-th percentile (0-100), numpy's linear interpolation; None for no values."""
    import numpy as np

    data = list(values)
    if not data:
        return None
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be within 0..100, got {p}")
    return float(np.percentile(data, p))
