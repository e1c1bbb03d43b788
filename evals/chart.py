"""The retrieval chart of the development set: hit@1, MRR, nDCG@5 and recall@5 per mode, as a PNG."""

from __future__ import annotations

from pathlib import Path

from .report_sets import fmt, retrieval_rows

CHART_METRICS = ("hit@1", "mrr", "ndcg@5", "recall@5")


def chart(report: dict):
    """A grouped bar chart (a matplotlib Figure); the legend sits right of the axes, clear of every bar."""
    import matplotlib

    matplotlib.use("Agg")  # no display here; must come before pyplot
    import matplotlib.pyplot as plt

    rows = retrieval_rows(report, baseline="baseline")
    fig, ax = plt.subplots(figsize=(10, 4.5), dpi=100)
    width = 0.8 / len(rows)
    for i, (name, vals) in enumerate(rows):
        xs = [j + (i - (len(rows) - 1) / 2) * width for j in range(len(CHART_METRICS))]
        ys = [vals.get(m) or 0.0 for m in CHART_METRICS]
        bars = ax.bar(xs, ys, width, label=name)
        # The report's own figures (rounded once), not a second rounding of them.
        ax.bar_label(bars, labels=[fmt(vals.get(m)) for m in CHART_METRICS],
                     fontsize=7, padding=2, rotation=0 if len(rows) <= 4 else 90)
    ax.set_xticks(range(len(CHART_METRICS)), CHART_METRICS)
    ax.set_ylim(0, 1.2)  # room above a bar of 1.0 for its label
    ax.set_ylabel("score")
    ax.set_title(f"Retrieval on {report['out_of_scope'].get('n_in', '')} in-scope questions (development set)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, borderaxespad=0.0)
    fig.tight_layout()
    return fig


def write_chart(report: dict, path: Path) -> None:
    """Write the chart as a PNG."""
    import matplotlib.pyplot as plt

    fig = chart(report)
    fig.savefig(path, format="png")
    plt.close(fig)
