"""Cold-start measurements: a fresh `ask` against `import torch`, what it imports, and `--help`."""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

from .bench_common import CLI, HEAVY, child_env, wall_seconds

def imported_modules(argv: list[str]) -> set[str]:
    """Top-level module names a command imports, from `python -X importtime`."""
    run = subprocess.run([sys.executable, "-X", "importtime", *argv], capture_output=True, text=True,
                         env=child_env(), timeout=300, check=True)
    return {line.rsplit("|", 1)[1].strip().split(".")[0] for line in run.stderr.splitlines()
            if line.startswith("import time:") and line.count("|") == 2}


def measure_cold(index_dir: Path, runs: int = 3) -> dict:
    """Cold `ask` against `import torch`, alternating in the same run; and what a cold `ask` imports."""
    question = "What is metrology?"
    ask = [str(CLI), "ask", question, "--index-dir", str(index_dir)]
    torch_cmd = [sys.executable, "-c", "import torch"]
    st_cmd = [sys.executable, "-c", "import sentence_transformers"]
    wall_seconds(ask, 1)  # page cache: every run below reads warm files, as a second command would
    ask_s, torch_s = [], []
    for _ in range(runs):
        ask_s += wall_seconds(ask, 1)
        torch_s += wall_seconds(torch_cmd, 1)
    modules = imported_modules(["-m", "consensus_chat.app.cli", "ask", question, "--index-dir", str(index_dir)])
    return {
        "runs": runs, "ask_s": round(statistics.median(ask_s), 2), "import_torch_s": round(statistics.median(torch_s), 2),
        "import_sentence_transformers_s": round(statistics.median(wall_seconds(st_cmd, 1)), 2),
        "heavy_modules": sorted(modules & set(HEAVY)), "llama_index_imported": "llama_index" in modules,
        "onnxruntime_imported": "onnxruntime" in modules, "chromadb_imported": "chromadb" in modules,
    }


def measure_help(runs: int = 10) -> dict:
    """Wall time of `consensus-chat --help`, `runs` times (one warm-up, then median)."""
    wall_seconds([str(CLI), "--help"], 1)
    times = wall_seconds([str(CLI), "--help"], runs)
    return {"median_s": round(statistics.median(times), 3), "min_s": round(min(times), 3),
            "max_s": round(max(times), 3), "runs": runs}
