"""Ingest measurements: throughput against raw encoding, and the first run as a new user meets it."""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import time
from pathlib import Path

from .bench_common import CLI, Heartbeat, child_env, log, run_measured, wall_seconds

def raw_encode_seconds(model, texts: list[str]) -> float:
    """Wall time of SentenceTransformer.encode on the texts (batch 32, normalised)."""
    start = time.perf_counter()
    model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False, convert_to_numpy=True)
    return time.perf_counter() - start


def timed_ingest(config, *, corpus=None, sections=None) -> float:
    """Seconds for a fresh ingest into config.index_dir (removed first)."""
    from consensus_chat.ingest.pipeline import ingest

    if config.chroma_host is None and Path(config.index_dir).exists():
        shutil.rmtree(config.index_dir)
    start = time.perf_counter()
    ingest(corpus, config, quiet=True, sections=sections)
    return time.perf_counter() - start


def ensure_index(config, sections, what: str, estimate_s: float | None = None) -> float | None:
    """Ingest generated sections unless the same set is already there (re-ingest is a no-op); seconds or None."""
    from consensus_chat.ingest.pipeline import ingest

    start = time.perf_counter()
    with Heartbeat(f"ingesting {what}", estimate_s=estimate_s):
        report = ingest(None, config, quiet=True, sections=sections)
    seconds = time.perf_counter() - start
    if report.embedded_chunks == 0:
        log(f"  {what}: reused the cached index in {config.index_dir}")
        return None
    return seconds


def measure_first_run(work: Path, runs: int = 3) -> dict:
    """What a new user meets: `runs` first-ever `consensus-chat ingest`s (each with an emptied per-model cache:
    export, check, word table), then `runs` ingests into new folders with the cache the last one filled;
    every run followed by `import torch`, so both share the machine's load (medians). Wall seconds and peak
    RSS (MiB) of the `ingest` process."""
    cache = work / "first-run-cache"
    env = child_env() | {"CONSENSUS_CHAT_CACHE": str(cache)}
    torch_cmd = [sys.executable, "-c", "import torch"]
    wall_seconds(torch_cmd, 1)  # its files in the page cache, as ours are after the first run

    def ingest(n: int) -> tuple[float, float]:
        folder = work / f"first-run-index-{n}"
        shutil.rmtree(folder, ignore_errors=True)
        return run_measured([str(CLI), "ingest", "--quiet", "--index-dir", str(folder)], env)

    seconds: dict[str, list[float]] = {"first": [], "warm": []}
    peak_rss: dict[str, list[float]] = {"first": [], "warm": []}
    torch_s: list[float] = []
    for n in range(2 * runs):
        kind = "first" if n < runs else "warm"
        if kind == "first":
            shutil.rmtree(cache, ignore_errors=True)  # a first-ever ingest; the warm ones keep what the last filled
        wall, rss = ingest(n)
        seconds[kind].append(wall)
        peak_rss[kind].append(rss)
        torch_s += wall_seconds(torch_cmd, 1)
    out: dict = {}
    for kind in ("first", "warm"):
        out[f"{kind}_ingest_s"] = round(statistics.median(seconds[kind]), 2)
        out[f"{kind}_ingest_peak_rss_mib"] = round(max(peak_rss[kind]), 1)
    out |= {"import_torch_s": round(statistics.median(torch_s), 2), "runs": runs,
            "all_s": {**{kind: [round(x, 2) for x in xs] for kind, xs in seconds.items()},
                      "import_torch": [round(x, 2) for x in torch_s]}}
    shutil.rmtree(cache, ignore_errors=True)
    for n in range(2 * runs):
        shutil.rmtree(work / f"first-run-index-{n}", ignore_errors=True)
    log(f"  first ingest {out['first_ingest_s']}s, warm-cache ingest {out['warm_ingest_s']}s "
        f"({out['warm_ingest_peak_rss_mib']} MiB peak), import torch {out['import_torch_s']}s")
    return out


def main() -> None:
    """The first run and the cold `ask` alone (what issue 22 measures), as JSON on stdout:

        python -m consensus_chat.evals.bench_ingest [WORK_DIR] [RUNS]
    """
    import json
    import tempfile

    from consensus_chat.ingest.config import DEFAULT_CORPUS

    from .bench_cold import measure_cold
    from .bench_common import machine_info

    work = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="bench-first-run-"))
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    work.mkdir(parents=True, exist_ok=True)
    raw = {"machine": machine_info(), "first_run": measure_first_run(work, runs)}
    index = work / "cold-index"
    shutil.rmtree(index, ignore_errors=True)
    run_measured([str(CLI), "ingest", "--quiet", "--corpus", str(DEFAULT_CORPUS), "--index-dir", str(index)])
    raw["cold"] = measure_cold(index, runs)
    raw["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(raw, indent=1))


if __name__ == "__main__":
    main()
