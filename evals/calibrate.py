"""Fit the scope rule on a question set and (with --write) save it for the retriever.

    python -m evals.calibrate [--questions F] [--index-dir D] [--write] [--json]

The retriever calls a question in scope when it has no topic words (only a code, a source key, a
title or words about the document), or when `dense + coverage_weight * coverage >= threshold`
(retriever/scope.py). The fit mirrors that: it tries each weight on a small grid and, for each, the
threshold that maximises balanced accuracy, (1 - false-refusal rate + refusal rate) / 2; ties go to
the lower false-refusal rate, then to the lower threshold. The rates that matter are out of sample:
stratified k-fold cross-validation refits weight and threshold without each fold and judges that
fold, so no question is scored by a rule fitted on it.
"""

from __future__ import annotations

import datetime as _dt
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import click

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
        from retriever.decision import judged

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
    from retriever.decision import decide
    from retriever.scope import ScopeModel

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


def calibrate(retriever, questions_path: Path) -> tuple[dict, list[Sample]]:
    """Fit on every question of the file; return the calibration record and the samples."""
    from .runner import file_sha256, load_questions

    questions = load_questions(questions_path)
    samples = collect(retriever, questions)
    best = fit(samples)
    cv_rr, cv_frr = cross_validate(samples)
    manifest = retriever.manifest
    record = {
        "model_weights_sha256": manifest["model"]["weights_sha256"],
        "corpus_sha256": manifest.get("corpus_sha256"),
        "features": list(FEATURES),
        "coverage_weight": best.coverage_weight,
        "threshold": round(best.threshold, 6),
        "n_in": sum(s.in_scope for s in samples),
        "n_out": sum(not s.in_scope for s in samples),
        "in_sample_refusal_rate": _r(best.refusal_rate),
        "in_sample_false_refusal_rate": _r(best.false_refusal_rate),
        "cv_folds": len(folds(samples)),
        "cv_refusal_rate": _r(cv_rr),
        "cv_false_refusal_rate": _r(cv_frr),
        "questions_sha256": file_sha256(questions_path),
        "created": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
    }
    return record, samples


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


def default_rule(pages_file: Path) -> dict:
    """Fit the rule for corpora without a calibration of their own on several pages at once.

    `pages_file` lists {"corpus": ..., "questions": ...} pairs (paths relative to the repository). Each
    corpus is ingested into a temporary index; the report gives the pooled rule and, as its out-of-sample
    estimate, leave-one-page-out rates (each page judged by the rule fitted on the others).
    """
    import tempfile

    from ingest.config import Config
    from ingest.embedder import load_embedder
    from ingest.pipeline import ingest
    from retriever import open_retriever

    from .runner import load_questions

    root = Path(__file__).resolve().parent.parent
    pages = json.loads(pages_file.read_text(encoding="utf-8"))
    embedder = load_embedder(None)
    groups: dict[str, list[Sample]] = {}
    with tempfile.TemporaryDirectory(prefix="consensus-chat-calibrate-") as tmp:
        for n, page in enumerate(pages):
            config = Config.from_env(index_dir=Path(tmp) / str(n))
            ingest([root / page["corpus"]], config, embedder=embedder, quiet=True)
            retriever = open_retriever(config=config)
            groups[page["corpus"]] = collect(retriever, load_questions(root / page["questions"]))
    rule = fit_pages(list(groups.values()))
    return {"coverage_weight": rule.coverage_weight, "threshold": round(rule.threshold, 6),
            "pooled_refusal_rate": _r(rule.refusal_rate), "pooled_false_refusal_rate": _r(rule.false_refusal_rate),
            "leave_one_page_out": leave_one_page_out(groups),
            "pages": {name: {"n_in": sum(s.in_scope for s in g), "n_out": sum(not s.in_scope for s in g)}
                      for name, g in groups.items()}}


def _r(x):
    return None if x is None else round(float(x), 4)


def _print(record: dict, samples: list[Sample]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    t, w = record["threshold"], record["coverage_weight"]
    table = Table(title=f"scope by question: dense + {w} x coverage >= {t:.4f} (* = decided without the rule)")
    for col in ("id", "kind", "dense", "coverage", "score", "call"):
        table.add_column(col)
    for s in sorted(samples, key=lambda s: combined(s, w) if combined(s, w) is not None else -1.0):
        call = "in" if predict(s, t, w) else "refused"
        wrong = call == "refused" if s.in_scope else call == "in"
        f = s.features
        dense, cov, score = ("*", "*", "*") if isinstance(f, bool) else (f"{f[0]:.4f}", f"{f[1]:.2f}", f"{combined(s, w):.4f}")
        table.add_row(s.id, "in_scope" if s.in_scope else "out_of_scope", dense, cov, score,
                      f"[red]{call}[/red]" if wrong else call)
    console.print(table)
    console.print(
        f"out of sample ({record['cv_folds']}-fold): refusal rate {record['cv_refusal_rate']:.3f}, false-refusal rate "
        f"{record['cv_false_refusal_rate']:.3f}; in sample: {record['in_sample_refusal_rate']:.3f} / "
        f"{record['in_sample_false_refusal_rate']:.3f} (n_in={record['n_in']}, n_out={record['n_out']})"
    )


@click.command(context_settings={"help_option_names": ["-h", "--help"]}, epilog="""\b
Examples:
  python -m evals.calibrate                       # fit and show; writes nothing
  python -m evals.calibrate --write               # save retriever/calibration.json
  python -m evals.calibrate --index-dir /tmp/idx --json
  python -m evals.calibrate --default evals/pages/pages.json   # the rule for other corpora
""")
@click.option("--questions", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="JSONL question file (default: evals/questions.jsonl).")
@click.option("--index-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Index directory [env CONSENSUS_CHAT_HOME].")
@click.option("--chroma-host", default=None, help="Chroma server host.")
@click.option("--chroma-port", type=click.IntRange(1, 65535), default=None, help="Chroma server port.")
@click.option("--model", default=None, metavar="PATH", help="Local sentence-transformers model directory.")
@click.option("--write", is_flag=True, help="Write retriever/calibration.json (otherwise only report).")
@click.option("--json", "as_json", is_flag=True, help="Print the calibration record as JSON.")
@click.option("--default", "pages", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Fit the default rule (for corpora without a calibration) on the pages this JSON file lists, "
                   "e.g. evals/pages/pages.json; prints it with leave-one-page-out rates.")
def main(questions, index_dir, chroma_host, chroma_port, model, write, as_json, pages):
    """Fit the scope rule on a question set and report cross-validated (out-of-sample) error rates."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    from ingest.config import Config
    from ingest.errors import ConsensusChatError

    from .runner import DEFAULT_QUESTIONS

    if pages is not None:
        try:
            click.echo(json.dumps(default_rule(pages), indent=2))
        except ConsensusChatError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(2)
        return

    try:
        from retriever import open_retriever
        from retriever.scope import CALIBRATION_FILE

        config = Config.from_env(index_dir=index_dir, chroma_host=chroma_host, chroma_port=chroma_port, model=model)
        retriever = open_retriever(config=config)
        record, samples = calibrate(retriever, questions or DEFAULT_QUESTIONS)
    except ConsensusChatError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    if as_json:
        click.echo(json.dumps(record, indent=2))
    else:
        _print(record, samples)
    if write:
        path = Path(os.environ.get("CONSENSUS_CHAT_CALIBRATION") or CALIBRATION_FILE)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)
        click.echo(f"Wrote {path}", err=True)


if __name__ == "__main__":
    main()
