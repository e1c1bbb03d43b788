"""Render an eval report: rich tables for the terminal, Markdown and a PNG chart for --out."""

from __future__ import annotations

import os
import platform
from pathlib import Path

from .metrics import RETRIEVAL_METRICS

CHART_METRICS = ("hit@1", "mrr", "ndcg@5", "recall@5")


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo, else platform.processor()."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def ram_gib() -> float | None:
    """Total RAM in GiB from /proc/meminfo."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / (1024 * 1024)
    except OSError:
        pass
    return None


def machine() -> str:
    """One line naming the machine: CPU model, cores, RAM, OS and Python."""
    ram = ram_gib()
    ram_s = f", {ram:.1f} GiB RAM" if ram else ""
    return (f"{cpu_model()}, {os.cpu_count()} cores{ram_s}, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")


def _fmt(value) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _ms(value) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _rows(report: dict) -> list[tuple[str, dict]]:
    rows = list(report["modes"].items())
    if "baseline" in report:
        rows.append(("baseline (llama-index default)", report["baseline"]))
    rows += list(report.get("external", {}).items())
    return rows


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _sections(report: dict, compact: bool = False) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) for every table, shared by the terminal (compact) and Markdown output."""
    cut = (lambda t, n: _short(t, n)) if compact else (lambda t, n: t)  # noqa: E731
    oos = report["out_of_scope"]
    ans = report["answers"]
    lat = report["latency_ms"]
    n_in = oos.get("n_in", "?")
    tables = [
        (f"Retrieval over {n_in} in-scope questions (top {report.get('meta', {}).get('rank_depth', 10)})",
         ["mode", *RETRIEVAL_METRICS],
         [[name, *(_fmt(vals.get(m)) for m in RETRIEVAL_METRICS)] for name, vals in _rows(report)]),
        ("Out of scope (hybrid search's in_scope flag)",
         ["metric", "value"],
         [["refusal rate (out-of-scope questions refused)", _fmt(oos["refusal_rate"])],
          ["false refusal rate (in-scope questions refused)", _fmt(oos["false_refusal_rate"])],
          ["refusal accuracy (all questions)", _fmt(oos.get("refusal_accuracy"))],
          ["questions in / out of scope", f"{oos.get('n_in', '?')} / {oos.get('n_out', '?')}"]]),
        ("Extractive answers (scored on in-scope questions)",
         ["metric", "value"],
         [[k.replace("_", " "), _fmt(v)] for k, v in ans.items()]),
        ("Latency, warm (ms)",
         ["call", "p50", "p95"],
         [["hybrid search", _ms(lat["search_p50"]), _ms(lat["search_p95"])],
          ["answer", _ms(lat["answer_p50"]), _ms(lat["answer_p95"])]]),
    ]
    conv = report.get("conversations")
    if conv:
        tables.append((
            f"Conversations: {conv['n_turns']} turns in {conv['n_conversations']} conversations, asked with history",
            ["metric", "value"],
            [["turns whose first citation is relevant", _fmt(conv["turn_accuracy"])],
             ["follow-up turns (2nd and later) right", _fmt(conv["follow_up_accuracy"])],
             ["conversations with every turn right", _fmt(conv["conversation_accuracy"])],
             ["turns citing every expected source key", _fmt(conv["expected_keys_rate"])],
             ["turns citing the expected code", _fmt(conv["expected_code_rate"])]]))
    others = [m for m in (*report["modes"], "baseline") if m != "hybrid" and (m in report["modes"] or m in report)]
    fails = [q for q in report["questions"] if q["kind"] == "in_scope" and q["first_relevant_rank"] != 1]
    tables.append((
        f"Failures: {len(fails)} in-scope questions whose first relevant hit is not rank 1",
        ["id", "question", "rank", *others, "expected", "top 1" if compact else "top 3"],
        [[q["id"], cut(q["question"], 48), _fmt(q["first_relevant_rank"]),
          *(_fmt(q["ranks"].get(m)) for m in others), cut("; ".join(q["relevant_titles"]), 32),
          cut(q["top3"][0], 32) if compact and q["top3"] else "; ".join(q["top3"])]
         for q in fails],
    ))
    oos_fails = [q for q in report["questions"]
                 if (q["kind"] == "out_of_scope") == q["in_scope"]]
    tables.append((
        f"Scope mistakes: {len(oos_fails)} questions with the wrong in/out-of-scope call",
        ["id", "kind", "question", "scope score", "top hit"],
        [[q["id"], q["kind"], cut(q["question"], 48), _fmt(q.get("scope_score")), cut((q["top3"] or [""])[0], 32)]
         for q in oos_fails],
    ))
    return tables


def print_tables(report: dict, console=None) -> None:
    """Print the report as rich tables."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    console.print(f"[bold]{report['n']} questions[/bold]")
    for title, header, rows in _sections(report, compact=True):
        table = Table(title=title, title_justify="left")
        for i, col in enumerate(header):
            table.add_column(col, justify="left" if i == 0 or not rows or not _numeric(rows, i) else "right")
        for row in rows:
            table.add_row(*row)
        console.print(table)


def _numeric(rows, i) -> bool:
    try:
        [float(r[i]) for r in rows if r[i] != "n/a"]
        return True
    except ValueError:
        return False


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(report: dict) -> str:
    """The report as Markdown."""
    meta = report.get("meta", {})
    lines = [
        "# consensus-chat eval",
        "",
        f"- Machine: {machine()}",
        f"- Questions: {report['n']} ({meta.get('questions_file', '')}, sha256 {str(meta.get('questions_sha256', ''))[:12]})",
        f"- Index: {meta.get('index', '')} ({meta.get('sections', '?')} sections); "
        f"out-of-scope calibration {'loaded' if meta.get('calibrated') else 'absent'}",
    ]
    if "baseline" in report:
        lines.append(f"- Baseline: {report['baseline'].get('pipeline', '')}; {report['baseline'].get('chunks')} chunks. "
                     "A chunk counts for every section whose body-line opening or closing it contains.")
    for spec, scores in report.get("external", {}).items():
        lines.append(f"- `--retriever {spec}`: {scores.get('pipeline', '')}.")
    lines += ["", "![metrics by mode](modes.png)", ""]
    for title, header, rows in _sections(report):
        lines += [f"## {title}", ""]
        if not rows:
            lines += ["None.", ""]
            continue
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join("---" for _ in header) + "|")
        lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
        lines.append("")
    lines += ["## How the numbers are computed", "", *NOTES, ""]
    return "\n".join(lines)


NOTES = [
    "- A hit is relevant when its section is one of the question's relevant sections (the sections titled as in "
    "`relevant_titles`, or a BEIR dataset's qrels). Retrieval metrics are trec_eval's, computed by ir-measures "
    "(success@k, recip_rank, ndcg_cut_5, recall_5) and averaged over in-scope questions, a question with nothing "
    "retrieved scoring 0; each mode returns its top 10, so MRR is MRR@10.",
    "- nDCG@5 uses binary relevance with the ideal DCG of min(#relevant sections, 5) relevant sections on top. "
    "recall@5 is the share of relevant sections in the top 5.",
    "- The baseline and `--retriever` rankings are chunks; each chunk stands for the sections it holds (in document "
    "order) and a section takes the rank of the first chunk holding it (MaxP), so all rows rank sections.",
    "- Conversations: each turn is asked with the earlier turns as history; a turn is right when its first "
    "citation's title is one of the turn's relevant titles.",
    "- Refusal rate: share of out-of-scope questions that hybrid search flags `in_scope=False`. False refusal "
    "rate: share of in-scope questions flagged so. Refusal accuracy: share of all questions called right.",
    "- Citation precision: cited sections (distinct per answer) whose title is relevant, micro-averaged. "
    "Citation recall: share of a question's relevant titles cited, averaged over questions. Answers citing "
    "relevant: share of in-scope answers citing at least one relevant section.",
    "- Verbatim rate: share of non-refused in-scope answers in which every cited sentence and every body sentence "
    "(with [n] markers and list bullets removed) occurs in the document text, whitespace-normalised. Framing "
    "sentences the composer writes itself (e.g. \"X is coded 2.2.1\") count as not verbatim. Quote verbatim rate "
    "checks only the cited sentences.",
    "- Latency: wall time of each call after one warm-up call, on whatever else the machine is running.",
]


def write_markdown(report: dict, path: Path) -> None:
    """Write report.md."""
    Path(path).write_text(markdown(report), encoding="utf-8")


def write_chart(report: dict, path: Path) -> None:
    """A grouped bar chart of hit@1, MRR, nDCG@5 and recall@5 per mode (and the baseline)."""
    import matplotlib

    matplotlib.use("Agg")  # no display here; must come before pyplot
    import matplotlib.pyplot as plt

    rows = list(report["modes"].items())
    if "baseline" in report:
        rows.append(("baseline", report["baseline"]))
    rows += list(report.get("external", {}).items())
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    width = 0.8 / len(rows)
    for i, (name, vals) in enumerate(rows):
        xs = [j + (i - (len(rows) - 1) / 2) * width for j in range(len(CHART_METRICS))]
        ys = [vals.get(m) or 0.0 for m in CHART_METRICS]
        bars = ax.bar(xs, ys, width, label=name)
        ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
    ax.set_xticks(range(len(CHART_METRICS)), CHART_METRICS)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("score")
    ax.set_title(f"Retrieval on {report['out_of_scope'].get('n_in', '')} in-scope questions")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)
