"""Scope decisions that no rule was fitted on: the refusal rates `eval` reports are out of sample.

If the index's scope rule was fitted on this very question file, each question is judged by a rule
refitted without its fold (stratified k-fold, the same fit as `python -m evals.calibrate`), through the
real search path. If the rule was fitted on other questions, or is the documented default for a corpus
with no calibration of its own, the live decisions already are out of sample and are used as they are.
Either way the runner's hybrid results are reused, and the evidence records they hold: no question is searched
or its evidence gathered again, and a fold's rule only decides again on that evidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .metrics import first_relevant_rank, mean
from .metrics import rounded as _r
from .questions import file_sha256
from .scope_fit import collect, fit, folds, grids

# A fold rule whose threshold is within this of the index's rule is the same rule: calibration stores
# thresholds rounded to 6 digits, and a score that close to a midpoint between two scores does not occur.
SAME_RULE = 1e-6


# What a scope figure is, named beside it in every table and in --json.
IN_SAMPLE = "in sample"  # judged by a rule fitted on these very questions
CROSS_VALIDATED = "cross-validated"  # each question judged by a rule refitted without its fold
OTHER_PAGES = "other pages"  # judged by a rule fitted on other pages only
OTHER_QUESTIONS = "other questions"  # judged by a rule fitted on other questions of this page
BLIND_TEST = "blind test"  # questions no rule or choice was ever fitted on


@dataclass(frozen=True)
class ScopeDecisions:
    """Each question's in-scope call, how the call was kept out of sample, and the kinds of the figures."""

    in_scope: dict[str, bool]
    estimate: str
    rule: dict
    kind: str = CROSS_VALIDATED  # of these calls
    live_kind: str = IN_SAMPLE  # of the index's own calls (the search results and answers)


def out_of_sample(retriever, questions, questions_path: Path, results: dict, k: int = 10) -> ScopeDecisions:
    """In-scope calls for every question, none made by a rule fitted on that question.

    `results` are the hybrid search results by question id (searched with the index's rule, depth `k`).
    """
    from consensus_chat.retriever.decision import decide
    from consensus_chat.retriever.scope import ScopeModel

    model = retriever.scope_model
    rule = {"source": model.source, "coverage_weight": model.coverage_weight, "pull_weight": model.pull_weight,
            "rarest_weight": model.rarest_weight, "name_weight": model.name_weight, "threshold": model.threshold,
            "page_level": model.page_level}
    has_both = {q.kind for q in questions} == {"in_scope", "out_of_scope"}
    fitted_here = (model.source == "fitted" and Path(questions_path).is_file()
                   and model.questions_sha256 == file_sha256(Path(questions_path)))
    if not (fitted_here and has_both):
        live = {q.id: results[q.id].in_scope for q in questions}
        kind, estimate = _live_kind(model, questions, fitted_here)
        return ScopeDecisions(live, estimate, rule, kind, kind)
    samples = collect(retriever, questions, results)  # the evidence the runner's searches already gathered
    decided: dict[str, bool] = {}
    parts = folds(samples)
    for held in parts:
        held_set = set(held)
        # Refit the way the rule was fitted: with the pull and `rarest` only when the index's rule uses them.
        fold_fit = fit([s for i, s in enumerate(samples) if i not in held_set], **grids(model))
        same = (fold_fit.coverage_weight == model.coverage_weight and fold_fit.pull_weight == model.pull_weight
                and fold_fit.rarest_weight == model.rarest_weight and fold_fit.name_weight == model.name_weight
                and abs(fold_fit.threshold - model.threshold) < SAME_RULE)
        fold_rule = ScopeModel(fold_fit.coverage_weight, fold_fit.threshold, "fold", pull_weight=fold_fit.pull_weight,
                               rarest_weight=fold_fit.rarest_weight, name_weight=fold_fit.name_weight)
        for i in held:
            # The one decision on the evidence already gathered: no search is re-run for a fold's rule.
            q = questions[i]
            decided[q.id] = (results[q.id].in_scope if same else decide(samples[i].evidence, fold_rule).in_scope)
    return ScopeDecisions(decided, f"{len(parts)}-fold cross-validation (rule refitted without each fold)", rule,
                          CROSS_VALIDATED, IN_SAMPLE)


def _live_kind(model, questions, fitted_here: bool) -> tuple[str, str]:
    """(kind, how it was decided) of the index's own calls on these questions, by the questions the rule saw."""
    source = ("default rule (this corpus has no calibration of its own), fitted on the development pages"
              if model.source == "default" else "rule fitted for this corpus")
    if fitted_here:
        return IN_SAMPLE, f"{source}, on this very question file"
    other = OTHER_PAGES if model.source == "default" else OTHER_QUESTIONS
    seen = _fitted_questions(model)
    if seen is None:
        return other, f"{source}, on a question file not at hand"
    overlap = sum(_norm(q.question) in seen for q in questions)
    if overlap:
        return IN_SAMPLE, f"{source}; it was fitted on {overlap} of these {len(questions)} questions"
    return other, f"{source}, on other questions"


def _fitted_questions(model) -> set[str] | None:
    """The (normalised) questions a rule was fitted on, when their files are at hand."""
    from .questions import DEFAULT_QUESTIONS, load_questions

    if model.source == "fitted":
        if not DEFAULT_QUESTIONS.is_file() or file_sha256(DEFAULT_QUESTIONS) != model.questions_sha256:
            return None
        return {_norm(q.question) for q in load_questions(DEFAULT_QUESTIONS)}
    from .page_sets import DEV_PAGES, ROOT, load_pages

    if not DEV_PAGES.is_file():
        return None
    return {_norm(q.question) for page in load_pages(DEV_PAGES) for q in load_questions(ROOT / page["questions"])}


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def scope_report(decided: ScopeDecisions, questions, hybrid: dict, ranking: dict) -> dict:
    """The out_of_scope section of the report: out-of-sample rates, the live (in-sample) rates and slices."""
    in_scope = [q for q in questions if q.kind == "in_scope"]
    out_scope = [q for q in questions if q.kind == "out_of_scope"]
    refused_oos = [not decided.in_scope[q.id] for q in out_scope]
    refused_in = [not decided.in_scope[q.id] for q in in_scope]
    return {
        "refusal_rate": _r(mean(refused_oos)),
        "false_refusal_rate": _r(mean(refused_in)),
        "refusal_accuracy": _r(refusal_accuracy(mean(refused_oos), mean(refused_in), len(out_scope), len(in_scope))),
        "n_in": len(in_scope),
        "n_out": len(out_scope),
        "kind": decided.kind,
        "estimate": decided.estimate,
        "rule": decided.rule,
        "in_sample": {"refusal_rate": _r(mean(not hybrid[q.id].in_scope for q in out_scope)),
                      "false_refusal_rate": _r(mean(not hybrid[q.id].in_scope for q in in_scope)),
                      "kind": decided.live_kind},
        "slices": {tag: {**row, "kind": decided.kind} for tag, row in slices(questions, decided.in_scope, ranking).items()},
    }


def slices(questions, in_scope: dict, ranking: dict) -> dict:
    """Out-of-sample scope rates per tagged slice of the question set."""
    out: dict[str, dict] = {}
    for tag in sorted({q.slice for q in questions if q.slice}):
        qs = [q for q in questions if q.slice == tag]
        outs = [q for q in qs if q.kind == "out_of_scope"]
        ins = [q for q in qs if q.kind == "in_scope"]
        row: dict = {"n": len(qs)}
        if outs:
            row["refusal_rate"] = _r(mean(not in_scope[q.id] for q in outs))
        if ins:
            row["false_refusal_rate"] = _r(mean(not in_scope[q.id] for q in ins))
            row["first_hit_relevant"] = _r(mean(in_scope[q.id] and first_relevant_rank(ranking[q.id], q.relevant_ids) == 1
                                                for q in ins))
        out[tag] = row
    return out


def refusal_accuracy(refusal_rate, false_refusal_rate, n_out: int, n_in: int) -> float | None:
    """Share of all questions whose in/out-of-scope call was right."""
    if n_out + n_in == 0:
        return None
    right = (refusal_rate or 0.0) * n_out + (1.0 - (false_refusal_rate or 0.0)) * n_in
    return right / (n_out + n_in)
