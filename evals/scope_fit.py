"""The scope fit: a linear rule on the scope features, fitted for balanced accuracy and cross-validated.

Every candidate rule is judged by the retriever's one decision (`consensus_chat.retriever.decision.decide`) on each
question's evidence record, gathered once (thousands of rules at a time in its array form, `_Table`, which a test
holds to the real decision); the rule is `dense + coverage_weight * coverage - pull_weight * pull - rarest_weight *
rarest - name_weight * names >= threshold` (retriever/scope.py). The fit tries each set of weights on a small grid
and, for each, the threshold that maximises balanced accuracy, (1 - false-refusal rate + refusal rate) / 2; ties go to
the lower false-refusal rate, then to lower weights and the lower threshold. Stratified k-fold cross-validation refits
weights and threshold without each fold and judges that fold; across pages, each page is judged by the rule fitted on
the others. `evals/calibrate.py` (the command) and `evals/scope_eval.py` (the eval) use it.
"""

from __future__ import annotations

from dataclasses import dataclass

import click

from .metrics import rounded_rate as _r  # the calibration record's rates keep four digits


FEATURES = ("dense", "coverage", "pull", "rarest", "names")
WEIGHTS = tuple(round(0.1 * i, 1) for i in range(0, 11))
PULL_WEIGHTS = tuple(round(0.25 * i, 2) for i in range(0, 13))  # `calibrate --pull`
NO_PULL = (0.0,)  # the two-feature rule, the default until a blind test set has judged the pull
RAREST_WEIGHTS = tuple(round(0.01 * i, 2) for i in range(0, 9))  # `calibrate --rarest`
NO_RAREST = (0.0,)
NAME_WEIGHTS = tuple(round(0.25 * i, 2) for i in range(0, 5))  # `calibrate --names`
NO_NAMES = (0.0,)
FOLDS = 10


@dataclass(frozen=True)
class Sample:
    """One question's evidence record (retriever/evidence.py) and its label."""

    id: str
    in_scope: bool
    evidence: object

    @property
    def features(self) -> tuple[float, float, float, float, float] | bool:
        """(dense, coverage, pull, rarest, names) for the rule, or the decision when no rule is needed (retriever/decision.py)."""
        from consensus_chat.retriever.decision import features

        return features(self.evidence)


@dataclass(frozen=True)
class Fit:
    """A rule and its rates on the samples it was judged on."""

    threshold: float
    refusal_rate: float | None
    false_refusal_rate: float | None
    balanced_accuracy: float
    coverage_weight: float = 0.0
    pull_weight: float = 0.0
    rarest_weight: float = 0.0
    name_weight: float = 0.0


def weight_grids(pull: bool = False, rarest: bool = False, names: bool = False) -> dict:
    """The weight grids of a fit (keyword arguments of `fit` and the others): each feature's grid when it is fitted."""
    return {"pulls": PULL_WEIGHTS if pull else NO_PULL, "rarests": RAREST_WEIGHTS if rarest else NO_RAREST,
            "names": NAME_WEIGHTS if names else NO_NAMES}


def grids(rule) -> dict:
    """The weight grids to refit a rule the way it was fitted: the pull, `rarest` and `names` only when it uses them."""
    return weight_grids(bool(rule.pull_weight), bool(rule.rarest_weight), bool(rule.name_weight))


def combined(sample: Sample, weight: float, pull: float = 0.0, rarest: float = 0.0, names: float = 0.0) -> float | None:
    """The scope score of a sample under a rule's weights (None when no rule is needed)."""
    f = sample.features
    return None if isinstance(f, bool) else f[0] + weight * f[1] - pull * f[2] - rarest * f[3] - names * f[4]


def predict(sample: Sample, threshold: float, weight: float = 0.0, pull: float = 0.0, rarest: float = 0.0,
            names: float = 0.0) -> bool:
    """The retriever's in-scope call for a sample under this rule: the one decision, retriever.decision.decide."""
    from consensus_chat.retriever.decision import decide
    from consensus_chat.retriever.scope import ScopeModel

    return decide(sample.evidence, ScopeModel(weight, threshold, "fold", pull_weight=pull,
                                              rarest_weight=rarest, name_weight=names)).in_scope


def rates(samples: list[Sample], threshold: float, weight: float = 0.0, pull: float = 0.0, rarest: float = 0.0,
          names: float = 0.0) -> Fit:
    """Refusal rate (out-of-scope refused), false-refusal rate (in-scope refused) and balanced accuracy."""
    ins, outs = [s for s in samples if s.in_scope], [s for s in samples if not s.in_scope]
    rr = sum(not predict(s, threshold, weight, pull, rarest, names) for s in outs) / len(outs) if outs else None
    frr = sum(not predict(s, threshold, weight, pull, rarest, names) for s in ins) / len(ins) if ins else None
    return Fit(threshold, rr, frr, _balanced(rr, frr), weight, pull, rarest, names)


def _balanced(rr, frr) -> float:
    return ((1.0 - (frr or 0.0)) + (rr or 0.0)) / 2.0


class _Table:
    """The samples' features as arrays, so thousands of candidate rules are judged at once.

    It reproduces `decide` exactly (tests/test_scope_evidence.py checks it against the real decision):
    a question no rule is needed for keeps its call; otherwise it is in scope when its score reaches the
    threshold, or when some of its parts are covered and some are not (retriever/decision.py).
    """

    def __init__(self, samples: list[Sample], level: float = 0.0):
        import numpy as np

        from consensus_chat.retriever.decision import askable
        feats = [s.features for s in samples]
        self.labels = np.array([s.in_scope for s in samples], dtype=bool)
        self.fixed = np.array([isinstance(f, bool) for f in feats], dtype=bool)
        self.fixed_call = np.array([f if isinstance(f, bool) else False for f in feats], dtype=bool)
        rows = np.array([(0.0,) * 5 if isinstance(f, bool) else f for f in feats], dtype=float).reshape(-1, 5)
        # A page-relative rule reads dense support above the page's level (ingest/page_level.py): the same as
        # raising the page's threshold by it, which is how a loaded rule applies it (ScopeModel.for_page).
        self.dense = rows[:, 0] - level
        self.cov, self.pull, self.rarest, self.names = rows[:, 1], rows[:, 2], rows[:, 3], rows[:, 4]
        # Parts of a question of several parts: (does the document use every word, the part's dense) as arrays;
        # a part is judged with the whole question's coverage, pull, rarest and names (retriever/decision.py).
        self.parts = {i: np.array([(all(w.covered for w in p.words), p.best - level) for p in s.evidence.parts],
                                  dtype=float)
                      for i, s in enumerate(samples) if not isinstance(feats[i], bool) and s.evidence.parts}
        # The one asked sentence of a question with context, judged as a question of its own when the whole is not.
        asked = [(i, s) for i, s in enumerate(samples) if (not isinstance(feats[i], bool) or feats[i] is False
                 and s.evidence.names) and askable(s.evidence.asked)]
        self.asked_rows = np.array([i for i, _ in asked], dtype=int)
        self.asked = _Table([Sample(s.id, s.in_scope, s.evidence.asked) for _, s in asked], level) if asked else None

    @classmethod
    def joined(cls, tables: list[_Table]) -> _Table:
        """One table of several pages' rows, each page's dense already read above its own level."""
        import numpy as np

        out = cls.__new__(cls)
        for key in ("labels", "fixed", "fixed_call", "dense", "cov", "pull", "rarest", "names"):
            setattr(out, key, np.concatenate([getattr(t, key) for t in tables]))
        starts = np.cumsum([0] + [len(t.labels) for t in tables[:-1]])  # each table's first row in the joined one
        out.parts = {int(at) + i: p for t, at in zip(tables, starts) for i, p in t.parts.items()}
        asked = [(t.asked, t.asked_rows + at) for t, at in zip(tables, starts) if t.asked is not None]
        out.asked = cls.joined([a for a, _ in asked]) if asked else None
        out.asked_rows = np.concatenate([rows for _, rows in asked]) if asked else np.array([], dtype=int)
        return out

    def scores(self, weight: float, pull: float, rarest: float = 0.0, names: float = 0.0):
        """Each sample's rule score (meaningless where `fixed`)."""
        return self.dense + weight * self.cov - pull * self.pull - rarest * self.rarest - names * self.names

    def calls(self, thresholds, weight: float, pull: float, rarest: float = 0.0, names: float = 0.0):
        """(len(thresholds), n) in-scope calls."""
        import numpy as np

        t = np.asarray(thresholds, dtype=float)[:, None]
        out = self.scores(weight, pull, rarest, names)[None, :] >= t
        for i, parts in self.parts.items():
            # A part: its own dense, the whole question's lexical evidence, as `decide` judges it.
            lexical = weight * self.cov[i] - pull * self.pull[i] - rarest * self.rarest[i] - names * self.names[i]
            ok = (parts[:, 0] > 0)[None, :] & ((parts[:, 1] + lexical)[None, :] >= t)
            out[:, i] |= ok.any(axis=1) & ~ok.all(axis=1)
        out = np.where(self.fixed[None, :], self.fixed_call[None, :], out)
        if self.asked is not None:  # a refused question's asked sentence, judged alone (retriever/decision.py)
            out[:, self.asked_rows] |= self.asked.calls(thresholds, weight, pull, rarest, names)
        return out

    def rates(self, thresholds, weight: float, pull: float, rarest: float = 0.0, names: float = 0.0):
        """(refusal rates, false-refusal rates, balanced accuracies), one per threshold (NaN where a class is empty)."""
        import numpy as np

        calls = self.calls(thresholds, weight, pull, rarest, names)
        n_in, n_out = self.labels.sum(), (~self.labels).sum()
        rr = (~calls[:, ~self.labels]).sum(axis=1) / n_out if n_out else np.full(len(calls), np.nan)
        frr = (~calls[:, self.labels]).sum(axis=1) / n_in if n_in else np.full(len(calls), np.nan)
        ba = ((1.0 - np.nan_to_num(frr)) + np.nan_to_num(rr)) / 2.0
        return rr, frr, ba

    def candidates(self, weight: float, pull: float, rarest: float = 0.0, names: float = 0.0) -> list[float]:
        """Midpoints between neighbouring distinct scores, plus one below the lowest (refuse nothing)."""
        scores = sorted(set(self.scores(weight, pull, rarest, names)[~self.fixed].tolist()))
        if not scores:
            return [0.0]
        mids = [(a + b) / 2.0 for a, b in zip(scores, scores[1:])]
        return [scores[0] - 1e-6, *mids, scores[-1] + 1e-6]


def candidates(samples: list[Sample], weight: float = 0.0, pull: float = 0.0) -> list[float]:
    """Midpoints between neighbouring distinct scores, plus one below the lowest (refuse nothing)."""
    return _Table(samples).candidates(weight, pull)


def _check(samples: list[Sample]) -> None:
    if not any(s.in_scope for s in samples) or all(s.in_scope for s in samples):
        raise click.UsageError("calibration needs both in_scope and out_of_scope questions.")


def fit(samples: list[Sample], weights=WEIGHTS, pulls=NO_PULL, rarests=NO_RAREST, names=NO_NAMES) -> Fit:
    """The rule that maximises balanced accuracy; ties -> lower false-refusal rate -> lower weights and threshold."""
    _check(samples)
    return _best([_Table(samples)], weights, pulls, samples, rarests, names=names)


def _best(tables: list[_Table], weights, pulls, pooled_samples: list[Sample], rarests=NO_RAREST,
          pooled: _Table | None = None, names=NO_NAMES) -> Fit:
    """The rule with the best balanced accuracy averaged over tables (pages); its rates are the pooled samples'."""
    import numpy as np

    pooled = pooled or (tables[0] if len(tables) == 1 else _Table(pooled_samples))
    best = None
    for w, p, r, m in ((w, p, r, m) for w in weights for p in pulls for r in rarests for m in names):
        ts = pooled.candidates(w, p, r, m)
        ba = np.mean([t.rates(ts, w, p, r, m)[2] for t in tables], axis=0)
        _, frr, _ = pooled.rates(ts, w, p, r, m)
        n = min(range(len(ts)), key=lambda n: (-round(float(ba[n]), 12), float(np.nan_to_num(frr[n])), ts[n]))
        key = (-round(float(ba[n]), 12), float(np.nan_to_num(frr[n])), w, p, r, m, ts[n])
        if best is None or key < best[0]:
            best = (key, ts[n], w, p, r, m)
    _, t, w, p, r, m = best
    rr, frr, _ = pooled.rates([t], w, p, r, m)
    rr = None if np.isnan(rr[0]) else float(rr[0])
    frr = None if np.isnan(frr[0]) else float(frr[0])
    return Fit(t, rr, frr, _balanced(rr, frr), w, p, r, m)


def folds(samples: list[Sample], k: int = FOLDS) -> list[list[int]]:
    """Stratified, deterministic folds: each class dealt round-robin in id order."""
    k = max(2, min(k, len(samples)))
    out: list[list[int]] = [[] for _ in range(k)]
    for label in (True, False):
        members = sorted((i for i, s in enumerate(samples) if s.in_scope == label), key=lambda i: samples[i].id)
        for n, i in enumerate(members):
            out[n % k].append(i)
    return [f for f in out if f]


def cross_validate(samples: list[Sample], k: int = FOLDS, weights=WEIGHTS,
                   pulls=NO_PULL, rarests=NO_RAREST, names=NO_NAMES) -> tuple[float | None, float | None]:
    """(refusal rate, false-refusal rate) when each fold is judged by a rule fitted on the other folds."""
    refused_out, refused_in = [], []
    for held in folds(samples, k):
        held_set = set(held)
        rest = [s for i, s in enumerate(samples) if i not in held_set]
        rule = fit(rest, weights, pulls, rarests, names)
        for i in held:
            s = samples[i]
            (refused_in if s.in_scope else refused_out).append(
                not predict(s, rule.threshold, rule.coverage_weight, rule.pull_weight, rule.rarest_weight,
                            rule.name_weight))
    mean = lambda xs: sum(xs) / len(xs) if xs else None  # noqa: E731
    return mean(refused_out), mean(refused_in)


def leave_one_out(samples: list[Sample], weights=WEIGHTS, pulls=NO_PULL,
                  rarests=NO_RAREST, names=NO_NAMES) -> tuple[float | None, float | None]:
    """Cross-validation with one question per fold."""
    return cross_validate(samples, len(samples), weights, pulls, rarests, names)


def collect(retriever, questions, results: dict | None = None) -> list[Sample]:
    """Each question's evidence record: the one its search result holds (`results` by question id, unfiltered
    searches), else gathered once through the retriever."""
    if results is not None:
        return [Sample(q.id, q.kind == "in_scope", results[q.id].evidence) for q in questions]
    return [Sample(q.id, q.kind == "in_scope", retriever.evidence(q.question)) for q in questions]


def fit_pages(groups: list[list[Sample]], weights=WEIGHTS, pulls=NO_PULL, rarests=NO_RAREST,
              levels: list[float] | None = None, names=NO_NAMES) -> Fit:
    """The rule with the best balanced accuracy averaged over pages (each weighs the same, however many questions it
    has); ties as in `fit`; rates of the pooled samples. With `levels` (ingest/page_level.py) it is page-relative."""
    pooled = [s for g in groups for s in g]
    _check(pooled)
    levels = levels or [0.0] * len(groups)
    tables = [_Table(g, lv) for g, lv in zip(groups, levels)]
    pooled_table = tables[0] if len(tables) == 1 else _Table.joined(tables)
    return _best(tables, weights, pulls, pooled, rarests, pooled_table, names)


def leave_one_page_out(groups: dict[str, list[Sample]], weights=WEIGHTS, pulls=NO_PULL,
                       rarests=NO_RAREST, levels: dict[str, float] | None = None, clamp: bool = True,
                       names=NO_NAMES) -> dict[str, dict]:
    """For each page: the rule fitted on the other pages, and its rates on this one (a page never seen). With `levels`
    the rule is page-relative, the held-out page's level clamped to the fitted pages' range (ScopeModel.for_page)."""
    out = {}
    for name, held in groups.items():
        others = [n for n in groups if n != name]
        seen = [levels[n] for n in others] if levels else None
        rule = fit_pages([groups[n] for n in others], weights, pulls, rarests, seen, names)
        level = levels[name] if levels else 0.0
        level = min(max(level, min(seen)), max(seen)) if levels and clamp else level
        judged = rates(held, rule.threshold + level, rule.coverage_weight, rule.pull_weight, rule.rarest_weight,
                       rule.name_weight)
        out[name] = {"coverage_weight": rule.coverage_weight, "pull_weight": rule.pull_weight,
                     "rarest_weight": rule.rarest_weight, "name_weight": rule.name_weight,
                     "threshold": round(rule.threshold, 6), "level": None if levels is None else round(level, 6),
                     "refusal_rate": _r(judged.refusal_rate), "false_refusal_rate": _r(judged.false_refusal_rate)}
    return out
