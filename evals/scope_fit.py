"""The scope fit: a linear rule on the scope features, fitted for balanced accuracy and cross-validated.

Every candidate rule is judged through the retriever's one decision (`consensus_chat.retriever.decision.decide`) on
each question's evidence record, gathered once; the rule is `dense + coverage_weight * coverage >=
threshold` (retriever/scope.py). The fit it tries each weight on a small grid and, for each, the
threshold that maximises balanced accuracy, (1 - false-refusal rate + refusal rate) / 2; ties go to
the lower false-refusal rate, then to the lower threshold. Stratified k-fold cross-validation refits
weight and threshold without each fold and judges that fold; across pages, each page is judged by the
rule fitted on the others. `evals/calibrate.py` (the command) and `evals/scope_eval.py` (the eval) use it.
"""

from __future__ import annotations

from dataclasses import dataclass

import click

from .metrics import rounded_rate as _r  # the calibration record's rates keep four digits


FEATURES = ("dense", "coverage")
WEIGHTS = tuple(round(0.1 * i, 1) for i in range(0, 11))
FOLDS = 10


@dataclass(frozen=True)
class Sample:
    """One question's evidence record (retriever/evidence.py) and its label."""

    id: str
    in_scope: bool
    evidence: object

    @property
    def features(self) -> tuple[float, float] | bool:
        """(dense, coverage) for the rule, or the decision when no rule is needed (retriever/decision.py)."""
        from consensus_chat.retriever.decision import judged

        return judged(self.evidence)


@dataclass(frozen=True)
class Fit:
    """A rule and its rates on the samples it was judged on."""

    threshold: float
    refusal_rate: float | None
    false_refusal_rate: float | None
    balanced_accuracy: float
    coverage_weight: float = 0.0


def combined(sample: Sample, weight: float) -> float | None:
    """The scope score of a sample under a coverage weight (None when no rule is needed)."""
    f = sample.features
    return None if isinstance(f, bool) else f[0] + weight * f[1]


def predict(sample: Sample, threshold: float, weight: float = 0.0) -> bool:
    """The retriever's in-scope call for a sample under this rule: the one decision, retriever.decision.decide."""
    from consensus_chat.retriever.decision import decide
    from consensus_chat.retriever.scope import ScopeModel

    return decide(sample.evidence, ScopeModel(weight, threshold, "fold")).in_scope


def rates(samples: list[Sample], threshold: float, weight: float = 0.0) -> Fit:
    """Refusal rate (out-of-scope refused), false-refusal rate (in-scope refused) and balanced accuracy."""
    ins = [s for s in samples if s.in_scope]
    outs = [s for s in samples if not s.in_scope]
    rr = sum(not predict(s, threshold, weight) for s in outs) / len(outs) if outs else None
    frr = sum(not predict(s, threshold, weight) for s in ins) / len(ins) if ins else None
    ba = ((1.0 - (frr or 0.0)) + (rr or 0.0)) / 2.0
    return Fit(threshold, rr, frr, ba, weight)


def candidates(samples: list[Sample], weight: float = 0.0) -> list[float]:
    """Midpoints between neighbouring distinct scores, plus one below the lowest (refuse nothing)."""
    scores = sorted({c for s in samples if (c := combined(s, weight)) is not None})
    if not scores:
        return [0.0]
    mids = [(a + b) / 2.0 for a, b in zip(scores, scores[1:])]
    return [scores[0] - 1e-6, *mids, scores[-1] + 1e-6]


def fit(samples: list[Sample], weights=WEIGHTS) -> Fit:
    """The rule that maximises balanced accuracy; ties -> lower false-refusal rate -> lower weight and threshold."""
    if not any(s.in_scope for s in samples) or all(s.in_scope for s in samples):
        raise click.UsageError("calibration needs both in_scope and out_of_scope questions.")
    fits = [rates(samples, t, w) for w in weights for t in candidates(samples, w)]
    return min(fits, key=lambda f: (-round(f.balanced_accuracy, 12), f.false_refusal_rate or 0.0,
                                    f.coverage_weight, f.threshold))


def folds(samples: list[Sample], k: int = FOLDS) -> list[list[int]]:
    """Stratified, deterministic folds: each class dealt round-robin in id order."""
    k = max(2, min(k, len(samples)))
    out: list[list[int]] = [[] for _ in range(k)]
    for label in (True, False):
        members = sorted((i for i, s in enumerate(samples) if s.in_scope == label), key=lambda i: samples[i].id)
        for n, i in enumerate(members):
            out[n % k].append(i)
    return [f for f in out if f]


def cross_validate(samples: list[Sample], k: int = FOLDS, weights=WEIGHTS) -> tuple[float | None, float | None]:
    """(refusal rate, false-refusal rate) when each fold is judged by a rule fitted on the other folds."""
    refused_out, refused_in = [], []
    for held in folds(samples, k):
        held_set = set(held)
        rest = [s for i, s in enumerate(samples) if i not in held_set]
        rule = fit(rest, weights)
        for i in held:
            s = samples[i]
            (refused_in if s.in_scope else refused_out).append(not predict(s, rule.threshold, rule.coverage_weight))
    mean = lambda xs: sum(xs) / len(xs) if xs else None  # noqa: E731
    return mean(refused_out), mean(refused_in)


def leave_one_out(samples: list[Sample], weights=WEIGHTS) -> tuple[float | None, float | None]:
    """Cross-validation with one question per fold."""
    return cross_validate(samples, len(samples), weights)


def collect(retriever, questions) -> list[Sample]:
    """Each question's evidence record, gathered once through the retriever."""
    return [Sample(q.id, q.kind == "in_scope", retriever.evidence(q.question)) for q in questions]


def fit_pages(groups: list[list[Sample]], weights=WEIGHTS) -> Fit:
    """The rule with the best balanced accuracy averaged over pages (each page weighs the same, however
    many questions it has); ties as in `fit`. Its rates are those of the pooled samples."""
    pooled = [s for g in groups for s in g]
    best = None
    for w in weights:
        for t in candidates(pooled, w):
            ba = sum(rates(g, t, w).balanced_accuracy for g in groups) / len(groups)
            key = (-round(ba, 12), rates(pooled, t, w).false_refusal_rate or 0.0, w, t)
            if best is None or key < best[0]:
                best = (key, t, w)
    return rates(pooled, best[1], best[2])


def leave_one_page_out(groups: dict[str, list[Sample]], weights=WEIGHTS) -> dict[str, dict]:
    """For each page: the rule fitted on the other pages, and its rates on this one (a page never seen)."""
    out = {}
    for name, held in groups.items():
        rule = fit_pages([g for n, g in groups.items() if n != name], weights)
        judged = rates(held, rule.threshold, rule.coverage_weight)
        out[name] = {"coverage_weight": rule.coverage_weight, "threshold": round(rule.threshold, 6),
                     "refusal_rate": _r(judged.refusal_rate), "false_refusal_rate": _r(judged.false_refusal_rate)}
    return out
