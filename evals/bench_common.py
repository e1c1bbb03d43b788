"""What every bench measurement shares: the log, the child environment, the machine, timing helpers.

Nothing in the bench is asserted (timings belong in reports, not tests). All traffic goes to 127.0.0.1;
every loop is bounded in count and in time.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

from .metrics import percentile

VENV_BIN = Path(sys.executable).parent
CLI = VENV_BIN / "consensus-chat"
SEARCH_BUDGET_S = 180.0  # per latency measurement
HEAVY = ("torch", "sentence_transformers", "transformers", "sklearn")
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
               "ANONYMIZED_TELEMETRY": "False"}


def log(msg: str) -> None:
    """Progress on stderr with a clock, so a long run under nohup shows where it is."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def child_env() -> dict:
    """The environment for the processes we start: offline, no telemetry."""
    return dict(os.environ, **OFFLINE_ENV)


# -- the machine ----------------------------------------------------------------------------------

def machine_info() -> dict:
    """CPU model, cores, RAM, OS, Python and library versions, and the load when the run starts."""
    from importlib.metadata import PackageNotFoundError, version

    from .report import cpu_model, ram_gib

    def v(pkg):
        try:
            return version(pkg)
        except PackageNotFoundError:
            return "not installed"

    return {
        "cpu": cpu_model(), "cores": os.cpu_count(), "ram_gib": round(ram_gib() or 0, 1),
        "os": f"{platform.system()} {platform.release()}", "python": platform.python_version(),
        "hostname": platform.node(),
        **{pkg: v(pkg) for pkg in ("torch", "sentence-transformers", "onnxruntime", "chromadb",
                                   "llama-index-core", "bm25s", "gradio")},
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


# -- timing helpers ---------------------------------------------------------------------------------

def time_calls(fn, items, budget_s: float = SEARCH_BUDGET_S, warmup: int = 2) -> list[float]:
    """Milliseconds per call for each item (after `warmup` untimed calls), stopping at the time budget."""
    from consensus_chat.ingest.embedder import clear_query_caches

    for item in items[:warmup]:
        fn(item)
    out: list[float] = []
    deadline = time.monotonic() + budget_s
    for item in items:
        clear_query_caches()  # every timed call embeds its query, as a new question would
        start = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - start) * 1000.0)
        if time.monotonic() > deadline:
            log(f"  time budget of {budget_s:.0f}s reached after {len(out)} calls")
            break
    return out


def summary(ms: list[float]) -> dict:
    """p50/p95 (rounded) and the count of a latency series."""
    return {"p50": round(percentile(ms, 50), 2), "p95": round(percentile(ms, 95), 2), "n": len(ms)}


class Heartbeat:
    """Print 'still working' every `every` seconds while a long step runs."""

    def __init__(self, what: str, every: float = 30.0, estimate_s: float | None = None):
        self.what, self.every, self.estimate = what, every, estimate_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        start = time.monotonic()
        while not self._stop.wait(self.every):
            est = f" of ~{self.estimate:.0f}s estimated" if self.estimate else ""
            log(f"  {self.what}: {time.monotonic() - start:.0f}s{est}")

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)


def wall_seconds(argv: list[str], runs: int, timeout: float = 300) -> list[float]:
    """Wall time of a command, `runs` times (it must succeed)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, env=child_env(), timeout=timeout, check=True)
        times.append(time.perf_counter() - start)
    return times


# Runs a command and reports its wall time and peak RSS (RUSAGE_CHILDREN of this one-child wrapper).
_MEASURED = (
    "import json, resource, subprocess, sys, time\n"
    "t = time.perf_counter(); code = subprocess.run(sys.argv[1:]).returncode\n"
    "print(json.dumps({'code': code, 'seconds': time.perf_counter() - t,"
    " 'peak_rss_kib': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}), file=sys.stderr)\n"
)


def run_measured(argv: list[str], env: dict | None = None, timeout: float = 900) -> tuple[float, float]:
    """(wall seconds, peak RSS in MiB) of one run of a command, which must succeed."""
    run = subprocess.run([sys.executable, "-c", _MEASURED, *argv], capture_output=True, text=True,
                         env=env or child_env(), timeout=timeout)
    result = json.loads(run.stderr.strip().splitlines()[-1])
    if result["code"] != 0:
        raise RuntimeError(f"{' '.join(argv[:3])} failed: {run.stderr[-500:]}")
    return result["seconds"], result["peak_rss_kib"] / 1024
