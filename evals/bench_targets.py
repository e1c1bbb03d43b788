"""The speed targets (data in bench_targets.json) and how each is measured from a bench run's raw results.

The report prints every target beside its measured value; the CI gate (evals/bench_gate.py) fails
on a missed one. Both call `evaluate(raw)`, so a target changes in one place.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

TARGETS_FILE = Path(__file__).with_name("bench_targets.json")
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt, "==": operator.eq,
}


@dataclass(frozen=True)
class Target:
    """One speed target: `measure op value`, e.g. serve_peak_rss_mib <= 450."""

    id: str
    issue: int
    measure: str
    op: str
    value: float
    unit: str
    what: str

    def describe(self) -> str:
        return f"{self.op} {self.value:g} {self.unit}"


@dataclass(frozen=True)
class Verdict:
    """A target with its measured value; `met` is None when this run did not measure it."""

    target: Target
    measured: float | None

    @property
    def met(self) -> bool | None:
        if self.measured is None:
            return None
        return _OPS[self.target.op](self.measured, self.target.value)

    def label(self) -> str:
        return "not measured" if self.met is None else ("met" if self.met else "**missed**")


def load_targets(path: Path = TARGETS_FILE) -> list[Target]:
    """Every target, in report order."""
    rows = json.loads(Path(path).read_text(encoding="utf-8"))["targets"]
    targets = [Target(**row) for row in rows]
    unknown = [t.measure for t in targets if t.measure not in MEASURES or t.op not in _OPS]
    if unknown:
        raise ValueError(f"{path}: unknown measure or operator in {unknown}")
    return targets


def _get(raw: dict, *keys):
    for key in keys:
        if not isinstance(raw, dict) or raw.get(key) is None:
            return None
        raw = raw[key]
    return raw


def _ratio(a, b):
    return None if a is None or not b else a / b


def _search_row(raw: dict, size, store: str = "embedded") -> dict | None:
    return next((r for r in raw.get("search", []) if r["size"] == size and r["store"] == store), None)


MEASURES: dict[str, Callable[[dict], float | None]] = {
    "ingest_2k_over_raw_encode": lambda r: _ratio(_get(r, "ingest", "gen2k", "ingest_s"),
                                                  _get(r, "ingest", "gen2k", "raw_encode_s")),
    "cold_ask_over_import_torch": lambda r: _ratio(_get(r, "cold", "ask_s"), _get(r, "cold", "import_torch_s")),
    "heavy_modules_on_query_path": lambda r: (None if _get(r, "cold", "heavy_modules") is None
                                              else len(r["cold"]["heavy_modules"])),
    "chromadb_on_query_path": lambda r: (None if _get(r, "cold", "chromadb_imported") is None
                                         else int(r["cold"]["chromadb_imported"])),
    "first_ingest_over_import_torch": lambda r: _ratio(_get(r, "first_run", "first_ingest_s"),
                                                       _get(r, "first_run", "import_torch_s")),
    "warm_ingest_over_import_torch": lambda r: _ratio(_get(r, "first_run", "warm_ingest_s"),
                                                      _get(r, "first_run", "import_torch_s")),
    "warm_ingest_peak_rss_mib": lambda r: _get(r, "first_run", "warm_ingest_peak_rss_mib"),
    "idle_serve_core_percent": lambda r: _get(r, "idle_serve", "core_percent"),
    "search_p50_over_embed_p50": lambda r: _ratio((_search_row(r, "doc") or {}).get("p50"),
                                                  _get(r, "embed_query", "p50")),
    "search_p95_100k_ms": lambda r: (_search_row(r, 100_000) or {}).get("p95"),
    "open_100k_s": lambda r: (_search_row(r, 100_000) or {}).get("open_s"),
    "answer_p50_ms": lambda r: _get(r, "answer", "p50"),
    "serve_first_200_s": lambda r: _get(r, "serve", "first_200_s"),
    "serve_peak_rss_mib": lambda r: _get(r, "serve", "peak_rss_mib"),
    "load_requests_per_second": lambda r: _get(r, "load", "requests_per_second"),
    "load_p95_s": lambda r: _get(r, "load", "p95_s"),
    "load_errors": lambda r: _get(r, "load", "errors"),
    "help_median_s": lambda r: _get(r, "help", "median_s"),
}


def evaluate(raw: dict, targets: list[Target] | None = None) -> list[Verdict]:
    """Each target with the value this run measured (None where the run did not measure it)."""
    return [Verdict(t, MEASURES[t.measure](raw)) for t in (targets or load_targets())]
