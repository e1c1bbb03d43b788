"""Render an eval report: rich tables for the terminal and Markdown for --out (the chart: evals/chart.py)."""

from __future__ import annotations

import os
import platform
from pathlib import Path

from .conversations import DEV_SETS
from .metrics import RETRIEVAL_METRICS
from .report_sets import Table, blind_tables, conversation_table, pages_table, retrieval_rows
from .report_sets import fmt as _fmt


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo, else platform.processor()."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def ram_gib() -> float:
    """Total RAM in GiB."""
    import psutil

    return psutil.virtual_memory().total / (1024**3)


def machine() -> str:
    """One line naming the machine: CPU model, cores, RAM, OS and Python."""
    ram = ram_gib()
    ram_s = f", {ram:.1f} GiB RAM" if ram else ""
    return (f"{cpu_model()}, {os.cpu_count()} cores{ram_s}, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _scope_tables(oos: dict, ans: dict) -> list[Table]:
    """The scope figures, each with its kind (in sample, cross-validated, other pages, blind test)."""
    live = oos.get("in_sample", {})
    rows = [["refusal rate (out-of-scope questions refused)", _fmt(oos["refusal_rate"]), oos.get("kind", "")],
            ["false refusal rate (in-scope questions refused)", _fmt(oos["false_refusal_rate"]), oos.get("kind", "")],
            ["refusal accuracy (all questions)", _fmt(oos.get("refusal_accuracy")), oos.get("kind", "")]]
    if live and live.get("kind") != oos.get("kind"):
        rows += [["refusal rate, the index's own rule", _fmt(live.get("refusal_rate")), live.get("kind", "")],
                 ["false refusal rate, the index's own rule", _fmt(live.get("false_refusal_rate")), live.get("kind", "")]]
    for key in ("answer_refusal_rate_in_scope", "answer_refusal_rate_out_of_scope"):
        if ans.get(key) is not None:
            rows.append([key.replace("_", " "), _fmt(ans[key]), ans.get("refusal_kind", "")])
    rows.append(["questions in / out of scope", f"{oos.get('n_in', '?')} / {oos.get('n_out', '?')}", ""])
    tables = [(f"Out of scope (hybrid search's in_scope flag; {oos.get('estimate', '')})",
               ["metric", "value", "kind"], rows)]
    slices = oos.get("slices") or {}
    if slices:
        tables.append(("Out of scope by slice", ["slice", "n", "refused (out)", "refused (in)", "first hit relevant",
                                                 "first citation relevant", "kind"],
                       [[tag, str(r["n"]), _fmt(r.get("refusal_rate")), _fmt(r.get("false_refusal_rate")),
                         _fmt(r.get("first_hit_relevant")), _fmt(r.get("first_citation_relevant")),
                         r.get("kind", "") + (f"; citations: {r['first_citation_kind']}"
                                              if r.get("first_citation_kind") else "")]
                        for tag, r in slices.items()]))
    return tables


def _sections(report: dict, compact: bool = False) -> list[Table]:
    """(title, header, rows) for every table of one question set, shared by the terminal (compact) and Markdown."""
    cut = (lambda t, n: _short(t, n)) if compact else (lambda t, n: t)  # noqa: E731
    oos = report["out_of_scope"]
    ans = report["answers"]
    lat = report["latency_ms"]
    n_in = oos.get("n_in", "?")
    tables = [
        (f"Retrieval over {n_in} in-scope questions (top {report.get('meta', {}).get('rank_depth', 10)})",
         ["mode", *RETRIEVAL_METRICS],
         [[name, *(_fmt(vals.get(m)) for m in RETRIEVAL_METRICS)] for name, vals in retrieval_rows(report)]),
        *_scope_tables(oos, ans),
        ("Extractive answers (scored on in-scope questions)",
         ["metric", "value"],
         [[k.replace("_", " "), _fmt(v)] for k, v in ans.items() if k != "refusal_kind" and "refusal_rate" not in k]),
        ("Latency, warm (ms)",
         ["call", "p50", "p95"],
         [["hybrid search", _fmt(lat["search_p50"], 1), _fmt(lat["search_p95"], 1)],
          ["answer", _fmt(lat["answer_p50"], 1), _fmt(lat["answer_p95"], 1)]]),
    ]
    sets = [("conversations", "asked with history"),
            *((key, f"{which} development set ({how})") for key, _, which, how in DEV_SETS)]
    tables += [conversation_table(report[key], label) for key, label in sets if report.get(key)]
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
        f"Scope mistakes ({oos.get('in_sample', {}).get('kind', 'in sample')}, the index's own rule): "
        f"{len(oos_fails)} questions with the wrong in/out-of-scope call",
        ["id", "kind", "question", "scope score", "top hit"],
        [[q["id"], q["kind"], cut(q["question"], 48), _fmt(q.get("scope_score"), 6), cut((q["top3"] or [""])[0], 32)]
         for q in oos_fails],
    ))
    return tables


def full_tables(report: dict, compact: bool = False) -> list[tuple[str, list[Table]]]:
    """(part heading, tables) for the development set and the blind test set of a full report."""
    full = report if "development" in report else {"development": report, "blind_test": None}
    dev = full["development"]
    parts = [("Development set (the questions every choice was made on; the CI thresholds gate it)",
              _sections(dev, compact) + ([pages_table(dev["pages"])] if dev.get("pages") else []))]
    from .blind import SETS

    for key, _folder, _kind, heading in SETS:
        scored = full.get(key)
        if key == "blind_test":
            parts.append((heading if scored else "Blind test set: not scored (--no-blind, a question file of your "
                          "own, or no evals/blind43/pages.json)", blind_tables(scored)))
        elif scored:
            parts.append((heading, blind_tables(scored, heading.split(" (")[0])))
    return parts


def print_tables(report: dict, console=None) -> None:
    """Print a report (full, or one question set's) as rich tables, each set under its own heading."""
    from rich.console import Console
    from rich.table import Table as RichTable

    console = console or Console()
    for heading, tables in full_tables(report, compact=True):
        console.print(f"\n[bold underline]{heading}[/bold underline]")
        if "development" in heading.lower():
            dev = report.get("development", report)
            console.print(f"[bold]{dev['n']} questions[/bold]")
        for title, header, rows in tables:
            table = RichTable(title=title, title_justify="left")
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
    """A report (full, or one question set's) as Markdown, the development and blind test sets apart."""
    dev = report.get("development", report)
    meta = dev.get("meta", {})
    lines = [
        "# consensus-chat eval",
        "",
        f"- Machine: {machine()}",
        f"- Questions: {dev['n']} ({meta.get('questions_file', '')}, sha256 {str(meta.get('questions_sha256', ''))[:12]})",
        f"- Index: {meta.get('index', '')} ({meta.get('sections', '?')} sections); "
        f"out-of-scope calibration {'loaded' if meta.get('calibrated') else 'absent'}",
        "- Every scope figure names its kind: *in sample* (a rule fitted on these questions), *cross-validated* "
        "(each question judged by a rule refitted without its fold), *other pages* (a rule fitted on other pages "
        "only), *other questions* (a rule fitted on other questions of this page), *blind test*.",
    ]
    if "baseline" in dev:
        lines.append(f"- Baseline: {dev['baseline'].get('pipeline', '')}; {dev['baseline'].get('chunks')} chunks. "
                     "A chunk counts for every section whose body-line opening or closing it contains.")
    for spec, scores in dev.get("external", {}).items():
        lines.append(f"- `--retriever {spec}`: {scores.get('pipeline', '')}.")
    lines += ["", "![metrics by mode](modes.png)", ""]
    for heading, tables in full_tables(report):
        lines += [f"# {heading}", ""]
        for title, header, rows in tables:
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
    "citation's title is one of the turn's relevant titles, or, for an `ordinal` turn, the N-th section the "
    "previous answer cited; an out-of-scope turn is right when it is refused or answered with a question back "
    "(no citation); `expect_text` must occur in the answer. The strict rate also needs every expected source "
    "key and code.",
    "- Blind test set: every page ingested into its own index; hit@1 and MRR over its in-scope questions, the "
    "refusal rates from hybrid search's in_scope flag with the rule the index uses (fitted on other questions), "
    "first citation relevant from the extractive answer. Only aggregates are shown: the set is scored, not read.",
    "- Other pages (development): the scope rates of a page come from the rule fitted on the other pages only.",
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
