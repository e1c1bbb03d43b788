"""The CI gate: the development set's figures checked against evals/thresholds.json."""

from __future__ import annotations

from pathlib import Path

from consensus_chat.ingest.errors import ConsensusChatError

from .files import read_json

THRESHOLDS_FILE = Path(__file__).resolve().parent / "thresholds.json"


class ThresholdError(ConsensusChatError):
    """thresholds.json is missing or names a metric the report does not have."""


def load_thresholds(path: Path | str | None = None) -> dict:
    """thresholds.json: {"min": {"dotted.metric": value}, "max": {...}}."""
    path = Path(path) if path is not None else THRESHOLDS_FILE
    return read_json(path, ThresholdError)


def metric(report: dict, dotted: str):
    """report['modes']['hybrid']['hit@1'] for 'modes.hybrid.hit@1'."""
    node = report
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ThresholdError(f"the report has no metric {dotted!r}.")
        node = node[part]
    return node


def gate(report: dict, thresholds: dict) -> list[str]:
    """Every gated metric that misses its threshold, as readable lines (empty when all pass)."""
    problems = []
    for name, floor in thresholds.get("min", {}).items():
        value = metric(report, name)
        if value is None or value < floor:
            problems.append(f"{name} = {value} < minimum {floor}")
    for name, ceiling in thresholds.get("max", {}).items():
        value = metric(report, name)
        if value is None or value > ceiling:
            problems.append(f"{name} = {value} > maximum {ceiling}")
    return problems
