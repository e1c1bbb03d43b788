"""Leave one page out over the development pages: the table of docs/scope.md ("Leaving one page out over five pages").

    python -m consensus_chat.evals.lopo [--pages evals/pages/pages.json] [--json]

Each page is ingested into its own temporary index (its level of dense support kept in the manifest, as any
ingest keeps it); each candidate's features are fitted on four pages (each page weighing the same) and judged
on the fifth, through the one decision (retriever/decision.py). A page-relative candidate reads dense above the
page's level, the held-out page's level clamped to the range of the four it was fitted on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import click

from .page_sets import DEV_PAGES, PageIndexes, load_pages, page_samples
from .scope_fit import Sample, leave_one_page_out, rates, weight_grids


@dataclass(frozen=True)
class Candidate:
    """A row of the table: which features the rule is fitted with."""

    name: str
    pull: bool = True
    rarest: bool = False
    relative: bool = False  # dense above the page's median nearest-chunk cosine (ingest/page_level.py)
    clamp: bool = True  # the held-out page's level clamped to the range of the pages fitted on
    names: bool = False  # the share of the topic carried by names the document never uses (retriever/decision.py)


CANDIDATES = (
    Candidate("current features: dense, coverage, pull (the baseline)"),
    Candidate("+ rarest", rarest=True),
    Candidate("dense - page's median nearest-chunk cosine (clamped)", relative=True),
    Candidate("dense - page's median nearest-chunk cosine (clamped), + rarest", rarest=True, relative=True),
    Candidate("the same, not clamped", rarest=True, relative=True, clamp=False),
    Candidate("dense - level (clamped), + rarest, + names", rarest=True, relative=True, names=True),
)


def balanced(refusal: float | None, false_refusal: float | None) -> float:
    """Balanced accuracy from the refusal and false-refusal rates."""
    return ((1.0 - (false_refusal or 0.0)) + (refusal or 0.0)) / 2.0


def gather(pages_file: Path) -> tuple[dict[str, list[Sample]], dict[str, float]]:
    """(each page's samples, each page's level), from indexes ingested for the purpose."""
    from consensus_chat.ingest.config import Config

    groups, levels = {}, {}
    with PageIndexes(Config.from_env()) as indexes:
        for page in load_pages(pages_file):
            # Keyed by question file: one page may carry several sets.
            groups[page["questions"]], level = page_samples(indexes, page)
            if level is None:
                raise click.ClickException(f"{page['corpus']}: its index keeps no page level.")
            levels[page["questions"]] = level
    return groups, levels


def table(groups: dict[str, list[Sample]], levels: dict[str, float], candidates=CANDIDATES) -> list[dict]:
    """One row per candidate: per page (refused, falsely refused, balanced accuracy), and the mean."""
    from consensus_chat.retriever.scope import DEFAULT

    rows = []
    fixed = {name: rates(g, DEFAULT.for_page(levels[name]).threshold, DEFAULT.coverage_weight, DEFAULT.pull_weight,
                         DEFAULT.rarest_weight, DEFAULT.name_weight) for name, g in groups.items()}
    rows.append({"rule": "DEFAULT as it is (fixed rule, no refit)",
                 "pages": {n: {"refused": f.refusal_rate, "falsely_refused": f.false_refusal_rate,
                               "balanced": f.balanced_accuracy} for n, f in fixed.items()}})
    for c in candidates:
        out = leave_one_page_out(groups, **weight_grids(c.pull, c.rarest, c.names),
                                 levels=levels if c.relative else None, clamp=c.clamp)
        rows.append({"rule": c.name, "pages": {n: {**r, "refused": r["refusal_rate"],
                                                   "falsely_refused": r["false_refusal_rate"],
                                                   "balanced": balanced(r["refusal_rate"], r["false_refusal_rate"])}
                                               for n, r in out.items()}})
    for row in rows:
        row["mean"] = sum(p["balanced"] for p in row["pages"].values()) / len(row["pages"])
    return rows


def markdown(rows: list[dict]) -> str:
    """The rows as the markdown table docs/scope.md shows."""
    names = list(rows[0]["pages"])
    lines = ["| rule | " + " | ".join(Path(n).stem for n in names) + " | mean |",
             "|---|" + "---|" * (len(names) + 1)]
    for row in rows:
        cells = [f"{p['balanced']:.3f} ({p['refused']:.3f} / {p['falsely_refused']:.3f})"
                 for p in (row["pages"][n] for n in names)]
        lines.append(f"| {row['rule']} | " + " | ".join(cells) + f" | {row['mean']:.3f} |")
    return "\n".join(lines)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--pages", "pages_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              default=DEV_PAGES, show_default=True, help="The pages file (development pages only).")
@click.option("--json", "as_json", is_flag=True, help="Print the rows (with each fold's rule) as JSON.")
def main(pages_file: Path, as_json: bool) -> None:
    """Leave one page out: each candidate rule fitted on the other pages and judged on each page."""
    import os

    for key, value in (("HF_HUB_OFFLINE", "1"), ("ANONYMIZED_TELEMETRY", "False")):
        os.environ.setdefault(key, value)
    if "blind" in pages_file.parts:
        raise click.UsageError("leave-one-page-out is for development pages; blind sets are never fitted on.")
    groups, levels = gather(pages_file)
    rows = table(groups, levels)
    if as_json:
        click.echo(json.dumps({"levels": levels, "rows": rows}, indent=2))
    else:
        click.echo("page levels (median nearest-chunk cosine): "
                   + ", ".join(f"{Path(n).stem} {v:.3f}" for n, v in levels.items()))
        click.echo(markdown(rows))


if __name__ == "__main__":
    main()
