"""CI gate: fail when a bench run missed a speed target.

    python -m evals.bench_gate docs/benchmarks.json                 # every target it measured
    python -m evals.bench_gate docs/benchmarks.json --only load_errors --only no_torch_on_query_path

Reads the raw results `python -m evals.bench` writes next to its report and the targets in
evals/bench_targets.json (the same ones the report prints). Exit 0 when all checked targets are
met, 1 when one is missed; targets the run did not measure are listed and skipped.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .bench_targets import evaluate


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("results", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--only", "only", multiple=True, metavar="ID", help="Check only these target ids.")
def main(results: Path, only: tuple[str, ...]) -> None:
    """Exit 1 if the bench run in RESULTS (JSON) missed a target."""
    raw = json.loads(results.read_text(encoding="utf-8"))
    verdicts = [v for v in evaluate(raw) if not only or v.target.id in only]
    missing = set(only) - {v.target.id for v in verdicts}
    if missing:
        raise click.UsageError(f"unknown target id(s): {', '.join(sorted(missing))}")
    for v in verdicts:
        shown = "-" if v.measured is None else f"{v.measured:.3g}"
        click.echo(f"{v.label().strip('*'):13} {v.target.id:24} {shown:>8} (target {v.target.describe()})")
    sys.exit(1 if any(v.met is False for v in verdicts) else 0)


if __name__ == "__main__":
    main()
