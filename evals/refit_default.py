"""Refit the default scope rule (`retriever/scope.DEFAULT`) on every question set read as development data, and judge
it leaving one set out: the record behind docs/scope.md, "A hundred sets: the default rule refitted".

    python -m consensus_chat.evals.refit_default [--json]

The sets are the development pages (evals/pages/pages.json) and the blind sets read question by question since
(`READ_SETS`), each page of each set weighing the same, every page but the shipped one: the shipped page keeps its
own rule (retriever/calibration.json), so its questions say nothing about the default's. The blind test set
(`evals/blind.BLIND_DIR`) and the sets never read are not fitted on. The features and the fit are those of
`calibrate --default … --pull --rarest --relative --names` (`scope_fit.fit_pages`, dense read above each page's
level); the grid of coverage, pull and name-share weights is narrowed around the rule before (`GRID`): over a hundred
sets the whole grid takes hours on two cores. Leaving one set out, each held-out set is judged by the threshold
fitted on the others for the fitted weights and for the rule before's, so the two are compared on questions neither
was fitted on. About 20 minutes on two cores.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from .blind import BLIND_DIR
from .page_sets import ROOT, SHIPPED_CORPUS, PageIndexes, page_samples
from .scope_fit import RAREST_WEIGHTS, fit_pages, rates

# The blind sets read question by question in the turns after they measured one (README, "The development set"):
# development data now. The next turn adds the blind test set it reads.
READ_SETS = tuple(f"blind{n}" for n in range(7, 31))
GRID = {"weights": (0.2, 0.3, 0.4, 0.5, 0.6), "pulls": (2.0, 2.5, 3.0, 3.5, 4.0), "rarests": RAREST_WEIGHTS,
        "names": (0.25, 0.5, 0.75)}


def fit_sets(root: Path = ROOT) -> list[tuple[str, dict]]:
    """(set name, {"corpus", "questions"}) for every page of the development pages and of `READ_SETS`, but the
    shipped page; never the blind test set."""
    pages = [("development", p) for p in json.loads((root / "evals" / "pages" / "pages.json").read_text("utf-8"))]
    for name in READ_SETS:
        if (root / "evals" / name).resolve() == Path(BLIND_DIR).resolve():
            raise click.ClickException(f"evals/{name} is the blind test set; it is scored, never fitted on.")
        pages += [(name, p) for p in json.loads((root / "evals" / name / "pages.json").read_text("utf-8"))]
    shipped = (root / SHIPPED_CORPUS).resolve()
    return [(name, p) for name, p in pages if (root / p["corpus"]).resolve() != shipped]


def gather(root: Path = ROOT, progress=None) -> tuple[dict, dict]:
    """Each (set, question file)'s samples and its page's level, every page in its own index."""
    from consensus_chat.ingest.config import Config

    groups, levels = {}, {}
    with PageIndexes(Config.from_env(), root) as indexes:
        for name, page in fit_sets(root):
            key = (name, page["questions"])
            groups[key], levels[key] = page_samples(indexes, page)
            if progress:
                progress(key)
    return groups, levels


def held_out(groups: dict, levels: dict, weights: tuple[float, float, float, float]) -> dict:
    """Leaving one set out: each set judged by the threshold fitted on the others for these weights (coverage,
    pull, rarest, names); off-topic and in-scope refusal rates over all held-out questions."""
    refused = false = n_in = n_out = 0
    for held in sorted({name for name, _ in groups}):
        train = [k for k in groups if k[0] != held]
        seen = [levels[k] for k in train]
        c, p, r, m = weights
        rule = fit_pages([groups[k] for k in train], (c,), (p,), (r,), seen, (m,))
        for key in (k for k in groups if k[0] == held):
            level = min(max(levels[key], min(seen)), max(seen))
            fit = rates(groups[key], rule.threshold + level, c, p, r, m)
            ins = sum(s.in_scope for s in groups[key])
            outs = len(groups[key]) - ins
            refused += (fit.refusal_rate or 0.0) * outs
            false += (fit.false_refusal_rate or 0.0) * ins
            n_in, n_out = n_in + ins, n_out + outs
    return {"off_topic_refused": round(refused / n_out, 4), "in_scope_refused": round(false / n_in, 4),
            "n_in": n_in, "n_out": n_out}


@click.command(context_settings={"help_option_names": ["-h", "--help"]}, epilog="""\b
Examples:
  python -m consensus_chat.evals.refit_default          # the rule, and both rules leaving one set out
  python -m consensus_chat.evals.refit_default --json
""")
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON.")
def main(as_json: bool) -> None:
    """Refit the default scope rule on the development pages and the blind sets read since; judge it leaving one
    set out against the rule before."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from consensus_chat.ingest.errors import ConsensusChatError
    from consensus_chat.retriever.scope import DEFAULT

    try:
        groups, levels = gather(progress=lambda key: click.echo(f"read {key[1]}", err=True))
    except ConsensusChatError as exc:
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(2) from None
    rule = fit_pages(list(groups.values()), levels=list(levels.values()), **GRID)
    fitted = (rule.coverage_weight, rule.pull_weight, rule.rarest_weight, rule.name_weight)
    before = (DEFAULT.coverage_weight, DEFAULT.pull_weight, DEFAULT.rarest_weight, DEFAULT.name_weight)
    record = {"coverage_weight": fitted[0], "pull_weight": fitted[1], "rarest_weight": fitted[2],
              "name_weight": fitted[3], "threshold": round(rule.threshold, 6),
              "level_range": [round(min(levels.values()), 6), round(max(levels.values()), 6)],
              "pooled_refusal_rate": rule.refusal_rate, "pooled_false_refusal_rate": rule.false_refusal_rate,
              "sets": len({name for name, _ in groups}), "pages": len(groups),
              "leave_one_set_out": {"fitted_weights": held_out(groups, levels, fitted),
                                    "weights_before": held_out(groups, levels, before)}}
    click.echo(json.dumps(record, indent=2) if as_json else "\n".join(f"{k}: {v}" for k, v in record.items()))


if __name__ == "__main__":
    main()
