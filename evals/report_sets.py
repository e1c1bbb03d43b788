"""Tables of the sets scored page by page: the development set's other pages and the blind test set."""

from __future__ import annotations

from .metrics import DIGITS

Table = tuple[str, list[str], list[list[str]]]


def fmt(value, digits: int = DIGITS) -> str:
    """A figure as printed. It was rounded once, in the report dict, to `digits`: this only pads it with zeros."""
    if value is None:
        return "n/a"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def retrieval_rows(report: dict, baseline: str = "baseline (llama-index default)") -> list[tuple[str, dict]]:
    """(name, scores) of every ranking of the development set: our modes, the baseline, each `--retriever`."""
    rows = list(report["modes"].items())
    if "baseline" in report:
        rows.append((baseline, report["baseline"]))
    return rows + list(report.get("external", {}).items())


def conversation_table(conv: dict, how: str) -> Table:
    """The conversation rates of one set."""
    rows = [["turns right (first citation relevant; ordinal, refusal and text checks where given)",
             fmt(conv["turn_accuracy"])],
            ["turns right with every expected source key and code as well", fmt(conv.get("turn_accuracy_all_checks"))],
            ["follow-up turns (2nd and later) right", fmt(conv["follow_up_accuracy"])],
            ["turns after a refusal right", f"{fmt(conv.get('after_refusal_right'))} of {conv.get('n_after_refusal', 0)}"],
            ["conversations with every turn right", fmt(conv["conversation_accuracy"])],
            ["turns citing every expected source key", fmt(conv["expected_keys_rate"])],
            ["turns citing the expected code", fmt(conv["expected_code_rate"])]]
    return (f"Conversations: {conv['n_turns']} turns in {conv['n_conversations']} conversations, {how}",
            ["metric", "value"], rows)


def pages_table(pages: dict) -> Table:
    """The development pages: hit@1/MRR, and scope rates judged by the rule fitted on the other pages."""
    rows = [[corpus, f"{r['n_in']} / {r['n_out']}", fmt(r["hit@1"]), fmt(r["mrr"]), fmt(r["refusal_rate"]),
             fmt(r["false_refusal_rate"]), r["kind"]] for corpus, r in pages["pages"].items()]
    return (f"Pages, each in its own index ({pages['pages_file']})",
            ["page", "in / out", "hit@1", "mrr", "off-topic refused", "in-scope refused", "scope kind"], rows)


def blind_tables(blind: dict | None, name: str = "Blind test set") -> list[Table]:
    """The blind test set's targets, pages, slices and conversations (aggregates only); none when not scored."""
    if not blind:
        return []
    overall = blind["overall"]
    tables = [
        (f"{name} against the targets (issue 18), every scope figure of kind '{blind['kind']}'",
         ["metric", "value", "target", "met"],
         [[t["metric"], fmt(t["value"]), t["target"], {True: "yes", False: "NO", None: "n/a"}[t["met"]]]
          for t in blind["targets"]]),
        (f"{name} by page",
         ["page", "in / out", "hit@1", "mrr", "off-topic refused", "near-domain refused", "in-scope refused",
          "unknown org: first citation relevant", "kind"],
         [[corpus, f"{r['n_in']} / {r['n_out']}", fmt(r["hit@1"]), fmt(r["mrr"]), fmt(r["refusal_rate"]),
           fmt(r["near_domain_refusal_rate"]), fmt(r["false_refusal_rate"]),
           fmt(r["unknown_org_first_citation_relevant"]), r["kind"]]
          for corpus, r in [*blind["pages"].items(), ("all pages", overall)]]),
        (f"{name} by slice",
         ["slice", "in / out", "hit@1", "mrr", "off-topic refused", "in-scope refused", "first citation relevant",
          "kind"],
         [[tag, f"{r['n_in']} / {r['n_out']}", fmt(r["hit@1"]), fmt(r["mrr"]), fmt(r["refusal_rate"]),
           fmt(r["false_refusal_rate"]), fmt(r.get("first_citation_relevant")), r["kind"]]
          for tag, r in blind["slices"].items()]),
    ]
    if blind.get("conversations"):
        tables.append(conversation_table(blind["conversations"], blind["kind"]))
    return tables
