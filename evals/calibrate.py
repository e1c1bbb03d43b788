"""Fit the out-of-scope threshold on SearchResult.scope_score and (with --write) save it for the retriever.

    python -m evals.calibrate [--questions F] [--index-dir D] [--write] [--json]

The retriever calls a query in scope when an exact look-up matched (a code, source key, title,
label or the report) or when scope_score >= threshold. The fit mirrors that: questions with an
exact match are in scope whatever the threshold, and the threshold is chosen to maximise the
balanced accuracy of the whole decision, (1 - false-refusal rate + refusal rate) / 2. Ties go to
the lower false-refusal rate, then to the lowest threshold (refusing an answerable question costs
more than answering an unanswerable one with quotes and sources). Leave-one-out estimates refit
the threshold without each question in turn and classify that question, so they say how the
threshold does on questions it was not fitted on.
"""

from __future__ import annotations

import datetime as _dt
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import click

FEATURE = "scope_score"


@dataclass(frozen=True)
class Sample:
    """One question's scope features and its label."""

    id: str
    score: float
    forced: bool  # an exact look-up matched, so the retriever says in scope regardless of the score
    in_scope: bool


@dataclass(frozen=True)
class Fit:
    """A threshold and its rates on the samples it was judged on."""

    threshold: float
    refusal_rate: float | None
    false_refusal_rate: float | None
    balanced_accuracy: float


def predict(sample: Sample, threshold: float) -> bool:
    """The retriever's in-scope call for a sample at this threshold."""
    return sample.forced or sample.score >= threshold


def rates(samples: list[Sample], threshold: float) -> Fit:
    """Refusal rate (out-of-scope refused), false-refusal rate (in-scope refused) and balanced accuracy."""
    ins = [s for s in samples if s.in_scope]
    outs = [s for s in samples if not s.in_scope]
    rr = sum(not predict(s, threshold) for s in outs) / len(outs) if outs else None
    frr = sum(not predict(s, threshold) for s in ins) / len(ins) if ins else None
    ba = ((1.0 - (frr or 0.0)) + (rr or 0.0)) / 2.0
    return Fit(threshold, rr, frr, ba)


def candidates(samples: list[Sample]) -> list[float]:
    """Midpoints between neighbouring distinct scores, plus one below the lowest (refuse nothing)."""
    scores = sorted({s.score for s in samples})
    if not scores:
        return [0.0]
    mids = [(a + b) / 2.0 for a, b in zip(scores, scores[1:])]
    return [scores[0] - 1e-6, *mids, scores[-1] + 1e-6]


def fit(samples: list[Sample]) -> Fit:
    """The threshold that maximises balanced accuracy; ties -> lower false-refusal rate -> lower threshold."""
    if not any(s.in_scope for s in samples) or all(s.in_scope for s in samples):
        raise click.UsageError("calibration needs both in_scope and out_of_scope questions.")
    fits = [rates(samples, t) for t in candidates(samples)]
    return min(fits, key=lambda f: (-round(f.balanced_accuracy, 12), f.false_refusal_rate or 0.0, f.threshold))


def leave_one_out(samples: list[Sample]) -> tuple[float | None, float | None]:
    """(refusal rate, false-refusal rate) when each question is judged by a threshold fitted without it."""
    refused_out, refused_in = [], []
    for i, s in enumerate(samples):
        rest = samples[:i] + samples[i + 1 :]
        t = fit(rest).threshold
        (refused_in if s.in_scope else refused_out).append(not predict(s, t))
    mean = lambda xs: sum(xs) / len(xs) if xs else None  # noqa: E731
    return mean(refused_out), mean(refused_in)


def collect(retriever, questions) -> list[Sample]:
    """Run every question through hybrid search and keep its scope features."""
    out = []
    for q in questions:
        result = retriever.search(q.question, k=10, mode="hybrid")
        if result.scope_score is None:
            raise click.ClickException("the retriever returned no scope_score; it cannot be calibrated.")
        out.append(Sample(q.id, float(result.scope_score), any(h.exact for h in result.hits),
                          q.kind == "in_scope"))
    return out


def calibrate(retriever, questions_path: Path) -> tuple[dict, list[Sample]]:
    """Fit on every question of the file; return the calibration record and the samples."""
    from .runner import file_sha256, load_questions

    questions = load_questions(questions_path)
    samples = collect(retriever, questions)
    best = fit(samples)
    loo_rr, loo_frr = leave_one_out(samples)
    record = {
        "model_weights_sha256": retriever.manifest["model"]["weights_sha256"],
        "threshold": round(best.threshold, 6),
        "feature": FEATURE,
        "n_in": sum(s.in_scope for s in samples),
        "n_out": sum(not s.in_scope for s in samples),
        "refusal_rate": _r(best.refusal_rate),
        "false_refusal_rate": _r(best.false_refusal_rate),
        "loo_refusal_rate": _r(loo_rr),
        "loo_false_refusal_rate": _r(loo_frr),
        "questions_sha256": file_sha256(questions_path),
        "created": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
    }
    return record, samples


def _r(x):
    return None if x is None else round(float(x), 4)


def _print(record: dict, samples: list[Sample]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    t = record["threshold"]
    table = Table(title=f"scope_score by question (threshold {t:.4f}; * = exact look-up, always in scope)")
    for col in ("id", "kind", "scope_score", "call"):
        table.add_column(col)
    for s in sorted(samples, key=lambda s: s.score):
        call = "in" if predict(s, t) else "refused"
        wrong = call == "refused" if s.in_scope else call == "in"
        table.add_row(s.id, "in_scope" if s.in_scope else "out_of_scope", f"{s.score:.4f}{'*' if s.forced else ''}",
                      f"[red]{call}[/red]" if wrong else call)
    console.print(table)
    console.print(
        f"threshold {t:.4f}: refusal rate {record['refusal_rate']:.3f}, false-refusal rate "
        f"{record['false_refusal_rate']:.3f}; leave-one-out: refusal rate {record['loo_refusal_rate']:.3f}, "
        f"false-refusal rate {record['loo_false_refusal_rate']:.3f} (n_in={record['n_in']}, n_out={record['n_out']})"
    )


@click.command(context_settings={"help_option_names": ["-h", "--help"]}, epilog="""\b
Examples:
  python -m evals.calibrate                       # fit and show; writes nothing
  python -m evals.calibrate --write               # save retriever/calibration.json
  python -m evals.calibrate --index-dir /tmp/idx --json
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
def main(questions, index_dir, chroma_host, chroma_port, model, write, as_json):
    """Fit the out-of-scope threshold on a question set and report leave-one-out error rates."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    from ingest.config import Config
    from ingest.errors import ConsensusChatError

    from .runner import DEFAULT_QUESTIONS

    try:
        from retriever import open_retriever
        from retriever.core import CALIBRATION_FILE

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
