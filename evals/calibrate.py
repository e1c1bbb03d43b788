"""Fit the scope rule on a question set and (with --write) save it for the retriever.

    python -m evals.calibrate [--questions F] [--index-dir D] [--write] [--json]

The fit (a weight and a threshold on the two scope features, chosen for balanced accuracy) lives in
evals/scope_fit.py. The rates that matter are out of sample: stratified k-fold cross-validation refits
weight and threshold without each fold and judges that fold, so no question is scored by a rule fitted on it.
"""

from __future__ import annotations

import datetime as _dt
import json
import sys
from pathlib import Path

import click

from .metrics import rounded_rate as _r  # the calibration record's rates keep four digits
from .questions import DEFAULT_QUESTIONS, file_sha256, load_questions
from .scope_fit import (
    FEATURES,
    Sample,
    collect,
    combined,
    cross_validate,
    fit,
    fit_pages,
    folds,
    leave_one_page_out,
    predict,
    weight_grids,
)



def _features(pull: bool, rarest: bool, names: bool = False) -> list[str]:
    asked = {"dense": True, "coverage": True, "pull": pull, "rarest": rarest, "names": names}
    return [f for f in FEATURES if asked[f]]


def calibrate(retriever, questions_path: Path, pull: bool = False, rarest: bool = False,
              names: bool = False) -> tuple[dict, list[Sample]]:
    """Fit on every question of the file (with `pull`, `rarest` and `names` when asked); return the
    calibration record and the samples."""
    questions = load_questions(questions_path)
    samples = collect(retriever, questions)
    best = fit(samples, **weight_grids(pull, rarest, names))
    cv_rr, cv_frr = cross_validate(samples, **weight_grids(pull, rarest, names))
    manifest = retriever.manifest
    record = {
        "model_weights_sha256": manifest["model"]["weights_sha256"],
        "corpus_sha256": manifest.get("corpus_sha256"),
        "features": _features(pull, rarest, names),
        "coverage_weight": best.coverage_weight,
        "pull_weight": best.pull_weight,
        "rarest_weight": best.rarest_weight,
        "name_weight": best.name_weight,
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


def default_rule(pages_file: Path, pull: bool = False, rarest: bool = False, relative: bool = False,
                 names: bool = False) -> dict:
    """Fit the rule for corpora without a calibration of their own on several pages at once.

    `pages_file` lists {"corpus": ..., "questions": ...} pairs (paths relative to the repository). Each
    corpus is ingested into a temporary index; the report gives the pooled rule and, as its out-of-sample
    estimate, leave-one-page-out rates (each page judged by the rule fitted on the others). With `relative` the
    rule reads dense above each page's level (ingest/page_level.py) and records the range of levels it saw.
    """
    import tempfile

    from consensus_chat.ingest.config import Config
    from consensus_chat.ingest.embedder import load_embedder
    from consensus_chat.ingest.page_level import page_level
    from consensus_chat.ingest.pipeline import ingest
    from consensus_chat.retriever import open_retriever

    root = Path(__file__).resolve().parent.parent
    pages = json.loads(pages_file.read_text(encoding="utf-8"))
    embedder = load_embedder(None)
    groups: dict[str, list[Sample]] = {}
    levels: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="consensus-chat-calibrate-") as tmp:
        for n, page in enumerate(pages):
            config = Config.from_env(index_dir=Path(tmp) / str(n))
            ingest([root / page["corpus"]], config, embedder=embedder, quiet=True)
            retriever = open_retriever(config=config)
            # Keyed by question file: one page may carry several question sets (evals/pages/calibration-pages.json).
            groups[page["questions"]] = collect(retriever, load_questions(root / page["questions"]))
            levels[page["questions"]] = page_level(retriever.manifest)
    by_page = levels if relative else None
    rule = fit_pages(list(groups.values()), **weight_grids(pull, rarest, names),
                     levels=list(levels.values()) if relative else None)
    return {"coverage_weight": rule.coverage_weight, "pull_weight": rule.pull_weight,
            "rarest_weight": rule.rarest_weight, "name_weight": rule.name_weight,
            "threshold": round(rule.threshold, 6),
            "level_range": [round(min(levels.values()), 6), round(max(levels.values()), 6)] if relative else None,
            "pooled_refusal_rate": _r(rule.refusal_rate), "pooled_false_refusal_rate": _r(rule.false_refusal_rate),
            "leave_one_page_out": leave_one_page_out(groups, **weight_grids(pull, rarest, names), levels=by_page),
            "pages": {name: {"n_in": sum(s.in_scope for s in g), "n_out": sum(not s.in_scope for s in g)}
                      for name, g in groups.items()}}


def _print(record: dict, samples: list[Sample]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    t, w, p, r = record["threshold"], record["coverage_weight"], record["pull_weight"], record["rarest_weight"]
    m = record["name_weight"]
    table = Table(title=f"scope by question: dense + {w} x coverage - {p} x pull - {r} x rarest - {m} x names "
                        f">= {t:.4f} (* = decided without the rule)")
    for col in ("id", "kind", "dense", "coverage", "pull", "rarest", "names", "score", "call"):
        table.add_column(col)
    score = lambda s: combined(s, w, p, r, m)  # noqa: E731
    for s in sorted(samples, key=lambda s: score(s) if score(s) is not None else -1.0):
        call = "in" if predict(s, t, w, p, r, m) else "refused"
        wrong = call == "refused" if s.in_scope else call == "in"
        f = s.features
        cells = (("*",) * 6 if isinstance(f, bool)
                 else (f"{f[0]:.4f}", f"{f[1]:.2f}", f"{f[2]:.3f}", f"{f[3]:.2f}", f"{f[4]:.2f}", f"{score(s):.4f}"))
        table.add_row(s.id, "in_scope" if s.in_scope else "out_of_scope", *cells,
                      f"[red]{call}[/red]" if wrong else call)
    console.print(table)
    console.print(
        f"out of sample ({record['cv_folds']}-fold): refusal rate {record['cv_refusal_rate']:.3f}, false-refusal rate "
        f"{record['cv_false_refusal_rate']:.3f}; in sample: {record['in_sample_refusal_rate']:.3f} / "
        f"{record['in_sample_false_refusal_rate']:.3f} (n_in={record['n_in']}, n_out={record['n_out']})"
    )


# The rule's optional features (docs/scope.md): one flag each, in the order --help lists them.
_FEATURE_FLAGS = {
    "--pull": "Also fit the third feature, the pull of the uncovered words (docs/scope.md); off until a blind test "
              "set has judged it.",
    "--relative": "With --default: read dense above each page's level, the median nearest-chunk cosine "
                  "(docs/scope.md).",
    "--rarest": "Also fit the weight of the rarest uncovered topic word (docs/scope.md; the default rule uses it).",
    "--names": "Also fit the weight of the share of the topic carried by names the document never uses "
               "(docs/scope.md; the default rule uses it).",
}


def _feature_flags(command):
    """Add the `_FEATURE_FLAGS` options to a click command."""
    for flag, help_text in reversed(_FEATURE_FLAGS.items()):
        command = click.option(flag, is_flag=True, help=help_text)(command)
    return command


@click.command(context_settings={"help_option_names": ["-h", "--help"]}, epilog="""\b
Examples:
  python -m evals.calibrate                       # fit and show; writes nothing
  python -m evals.calibrate --write               # save retriever/calibration.json
  python -m evals.calibrate --index-dir /tmp/idx --json
  python -m evals.calibrate --default evals/pages/pages.json   # the rule for other corpora
  python -m evals.calibrate --pull                # also fit the pull (docs/scope.md, section 3)
  python -m evals.calibrate --default evals/pages/pages.json --pull --rarest --relative --names
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
@_feature_flags
def main(questions, index_dir, chroma_host, chroma_port, model, write, as_json, pages, pull, relative, rarest, names):
    """Fit the scope rule on a question set and report cross-validated (out-of-sample) error rates."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    from consensus_chat.ingest.config import Config
    from consensus_chat.ingest.errors import ConsensusChatError

    if pages is not None:
        try:
            click.echo(json.dumps(default_rule(pages, pull, rarest, relative, names), indent=2))
        except ConsensusChatError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(2)
        return

    try:
        from consensus_chat.retriever import open_retriever
        from consensus_chat.retriever.scope import CALIBRATION_FILE

        config = Config.from_env(index_dir=index_dir, chroma_host=chroma_host, chroma_port=chroma_port, model=model)
        retriever = open_retriever(config=config)
        record, samples = calibrate(retriever, questions or DEFAULT_QUESTIONS, pull, rarest, names)
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
