"""Scope decisions that no rule was fitted on: the refusal rates `eval` reports are out of sample.

If the index's scope rule was fitted on this very question file, each question is judged by a rule
refitted without its fold (stratified k-fold, the same fit as `python -m evals.calibrate`), through the
real search path. If the rule was fitted on other questions, or is the documented default for a corpus
with no calibration of its own, the live decisions already are out of sample and are used as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ScopeDecisions:
    """Each question's in-scope call, and how the call was kept out of sample."""

    in_scope: dict[str, bool]
    estimate: str
    rule: dict


def out_of_sample(retriever, questions, questions_path: Path, k: int = 10) -> ScopeDecisions:
    """In-scope calls for every question, none made by a rule fitted on that question.

    Each question's evidence is gathered once; every call is the retriever's own decision
    (retriever.decision.decide) under the index's rule, or under the rule refitted without the question's fold.
    """
    from retriever.decision import decide
    from retriever.scope import ScopeModel

    from .calibrate import collect, fit, folds
    from .runner import file_sha256

    model = retriever.scope_model
    rule = {"source": model.source, "coverage_weight": model.coverage_weight, "threshold": model.threshold}
    has_both = {q.kind for q in questions} == {"in_scope", "out_of_scope"}
    fitted_here = (model.source == "fitted" and Path(questions_path).is_file()
                   and model.questions_sha256 == file_sha256(Path(questions_path)))
    samples = collect(retriever, questions)
    if not (fitted_here and has_both):
        estimate = ("default rule (this corpus has no calibration of its own)" if model.source == "default"
                    else "rule fitted on other questions")
        return ScopeDecisions({s.id: decide(s.evidence, model).in_scope for s in samples}, estimate, rule)
    decided: dict[str, bool] = {}
    parts = folds(samples)
    for held in parts:
        held_set = set(held)
        fold_fit = fit([s for i, s in enumerate(samples) if i not in held_set])
        fold_rule = ScopeModel(fold_fit.coverage_weight, fold_fit.threshold, "fold")
        for i in held:
            decided[samples[i].id] = decide(samples[i].evidence, fold_rule).in_scope
    return ScopeDecisions(decided, f"{len(parts)}-fold cross-validation (rule refitted without each fold)", rule)
