"""The bench's measurements: each function times one thing and returns plain JSON-ready numbers.

Nothing here is asserted (timings belong in reports, not tests). All traffic goes to 127.0.0.1;
every loop is bounded in count and in time.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from .procs import ChromaServer, free_port, peak_rss_mib, process_tree, stop_process, wait_for_http  # noqa: F401 - ChromaServer re-exported for the bench

VENV_BIN = Path(sys.executable).parent
CLI = VENV_BIN / "consensus-chat"
SEARCH_BUDGET_S = 180.0  # per latency measurement
HEAVY = ("torch", "sentence_transformers", "transformers", "sklearn")
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
               "ANONYMIZED_TELEMETRY": "False"}


def log(msg: str) -> None:
    """Progress on stderr with a clock, so a long run under nohup shows where it is."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def pct(values: list[float], p: float) -> float | None:
    """numpy's percentile (linear interpolation), or None for no values."""
    import numpy as np

    return float(np.percentile(values, p)) if len(values) else None


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
    from ingest.embedder import clear_query_caches

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
    return {"p50": round(pct(ms, 50), 2), "p95": round(pct(ms, 95), 2), "n": len(ms)}


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


# -- ingest ------------------------------------------------------------------------------------------

def raw_encode_seconds(model, texts: list[str]) -> float:
    """Wall time of SentenceTransformer.encode on the texts (batch 32, normalised)."""
    start = time.perf_counter()
    model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False, convert_to_numpy=True)
    return time.perf_counter() - start


def timed_ingest(config, *, corpus=None, sections=None) -> float:
    """Seconds for a fresh ingest into config.index_dir (removed first)."""
    from ingest.pipeline import ingest

    if config.chroma_host is None and Path(config.index_dir).exists():
        shutil.rmtree(config.index_dir)
    start = time.perf_counter()
    ingest(corpus, config, quiet=True, sections=sections)
    return time.perf_counter() - start


def ensure_index(config, sections, what: str, estimate_s: float | None = None) -> float | None:
    """Ingest generated sections unless the same set is already there (re-ingest is a no-op); seconds or None."""
    from ingest.pipeline import ingest

    start = time.perf_counter()
    with Heartbeat(f"ingesting {what}", estimate_s=estimate_s):
        report = ingest(None, config, quiet=True, sections=sections)
    seconds = time.perf_counter() - start
    if report.embedded_chunks == 0:
        log(f"  {what}: reused the cached index in {config.index_dir}")
        return None
    return seconds


# -- the Chroma server ---------------------------------------------------------------------------------

def copy_to_server(src_config, dst_config) -> None:
    """Publish an embedded index on the server as-is (same ids, vectors, metadata and manifest); no re-embedding.

    This is what `consensus-chat ingest --chroma-host` writes, minus the embedding time, which the
    ingest measurements already cover.
    """
    from ingest.store import open_store, pages

    manifest, src = open_store(src_config).open_current()
    dst = open_store(dst_config)
    name, col = dst.new_generation()
    for got in pages(src, ["embeddings", "metadatas", "documents"]):
        col.add(ids=got["ids"], embeddings=got["embeddings"], metadatas=got["metadatas"], documents=got["documents"])
    dst.publish(dict(manifest, generation=name))
    dst.cleanup(keep={name})


# -- search ---------------------------------------------------------------------------------------------

def measure_search(config, queries, label: str) -> dict:
    """Open a retriever on config, then time warm hybrid searches (k=5)."""
    from retriever import open_retriever

    start = time.perf_counter()
    retriever = open_retriever(config=config)
    open_s = time.perf_counter() - start
    times = time_calls(lambda q: retriever.search(q, k=5), queries)
    row = {"label": label, "open_s": round(open_s, 2), **summary(times), "sections": len(retriever.sections())}
    log(f"  {label}: {row['sections']} sections, open {open_s:.1f}s, search p50 {row['p50']} ms, p95 {row['p95']} ms")
    return row


# -- cold start ---------------------------------------------------------------------------------------------

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
    modules = imported_modules(["-m", "app.cli", "ask", question, "--index-dir", str(index_dir)])
    return {
        "runs": runs, "ask_s": round(statistics.median(ask_s), 2), "import_torch_s": round(statistics.median(torch_s), 2),
        "import_sentence_transformers_s": round(statistics.median(wall_seconds(st_cmd, 1)), 2),
        "heavy_modules": sorted(modules & set(HEAVY)), "llama_index_imported": "llama_index" in modules,
        "onnxruntime_imported": "onnxruntime" in modules,
    }


def measure_help(runs: int = 10) -> dict:
    """Wall time of `consensus-chat --help`, `runs` times (one warm-up, then median)."""
    wall_seconds([str(CLI), "--help"], 1)
    times = wall_seconds([str(CLI), "--help"], runs)
    return {"median_s": round(statistics.median(times), 3), "min_s": round(min(times), 3),
            "max_s": round(max(times), 3), "runs": runs}


# -- serve ---------------------------------------------------------------------------------------------------

def measure_serve(index_dir: Path, questions: list[str], *, sessions: int = 50, per_session: int = 10,
                  profile: bool = True) -> tuple[dict, dict | None, dict | None]:
    """`consensus-chat serve`: first HTTP 200, peak RSS after 20 questions, then the concurrent load.

    Returns (serve, load, profile): the load is `sessions` x `per_session` `/chat` requests; the
    profile is py-spy's sampling of the server during that load (None without py-spy).
    """
    from gradio_client import Client

    from .load import run_sessions

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    logf = open(Path(index_dir).parent / "serve.log", "wb")
    gradio_s = wall_seconds([sys.executable, "-c", "import gradio"], 1)[0]
    start = time.perf_counter()
    proc = subprocess.Popen([str(CLI), "serve", "--port", str(port), "--index-dir", str(index_dir)],
                            stdout=logf, stderr=subprocess.STDOUT, env=child_env(), start_new_session=True)
    try:
        wait_for_http(url, timeout=180, proc=proc)
        serve = {"first_200_s": round(time.perf_counter() - start, 2), "import_gradio_s": round(gradio_s, 2),
                 "rss_before_questions_mib": round(peak_rss_mib(proc.pid), 1)}
        client = Client(url, verbose=False, httpx_kwargs={"timeout": 60})
        times = []
        for q in questions[:20]:
            t = time.perf_counter()
            reply = client.predict(q, [], api_name="/chat")
            times.append((time.perf_counter() - t) * 1000)
            if not isinstance(reply, dict) or "answer" not in reply:
                raise RuntimeError(f"/chat returned {type(reply).__name__}, not an answer")
        serve.update({"questions": len(times), "chat_p50_ms": round(pct(times, 50), 1),
                      "chat_p95_ms": round(pct(times, 95), 1), "peak_rss_mib": round(peak_rss_mib(proc.pid), 1),
                      "processes": len(process_tree(proc.pid))})
        spy = _start_py_spy(proc.pid, Path(index_dir).parent / "serve-profile.txt") if profile else None
        # The target is the server's rate, so the load uses the light HTTP client (evals/load.py says why);
        # the same load through gradio_client follows, for integrators' numbers.
        report = run_sessions(url, questions, sessions=sessions, per_session=per_session, transport="http")
        load = report.to_dict() | {"transport": "http"}
        prof = _stop_py_spy(spy) if spy else None
        via = run_sessions(url, questions, sessions=sessions, per_session=per_session).to_dict()
        load["gradio_client"] = {k: via[k] for k in ("seconds", "requests", "errors", "requests_per_second",
                                                     "p50_s", "p95_s", "max_s")}
    finally:
        stop_process(proc)
        logf.close()
    return serve, load, prof


def measure_shared_serve(server_cfg, sections, questions: list[str], *, processes: int = 2, sessions: int = 50,
                         per_session: int = 10, pickup_timeout_s: float = 120.0) -> dict:
    """`processes` `serve` processes on one `chroma run` (server_cfg's): the load split across them, then a new ingest.

    The load is `sessions` x `per_session` `/chat` requests, session n on process n % processes. Then
    `sections` plus one extra card are ingested into the same server, and each process is polled with
    `/search` until it answers from the new generation: seconds from the end of that ingest to each pickup.
    """
    import dataclasses

    from gradio_client import Client

    from ingest.pipeline import ingest

    from .load import run_sessions

    index_dir = Path(server_cfg.index_dir)
    ports = [free_port() for _ in range(processes)]
    urls = [f"http://127.0.0.1:{port}/" for port in ports]
    procs = []
    start = time.perf_counter()
    try:
        for n, port in enumerate(ports):
            with open(index_dir.parent / f"serve-shared-{n}.log", "wb") as logf:
                procs.append(subprocess.Popen(
                    [str(CLI), "serve", "--port", str(port), "--index-dir", str(index_dir),
                     "--chroma-host", server_cfg.chroma_host, "--chroma-port", str(server_cfg.chroma_port)],
                    stdout=logf, stderr=subprocess.STDOUT, env=child_env(), start_new_session=True))
        for url, proc in zip(urls, procs):
            wait_for_http(url, timeout=180, proc=proc)
        out: dict = {"processes": processes, "all_first_200_s": round(time.perf_counter() - start, 2)}
        clients = [Client(url, verbose=False, httpx_kwargs={"timeout": 60}) for url in urls]
        for client in clients:  # one untimed question each, as the single-process load has the 20 RSS questions
            client.predict(questions[0], [], api_name="/chat")
        report = run_sessions(urls, questions, sessions=sessions, per_session=per_session, transport="http")
        out["load"] = report.to_dict() | {"transport": "http"}
        out["peak_rss_mib"] = [round(peak_rss_mib(p.pid), 1) for p in procs]

        card = next(s for s in sections if s.kind == "card")
        extra = dataclasses.replace(card, id=f"{card.id}-bench-extra", title="Zebra finch song telemetry",
                                    text="Zebra finch song telemetry records birdsong with tiny radio tags.")
        probe = "zebra finch song telemetry"
        ingest(None, server_cfg, quiet=True, sections=[*sections, extra])
        published = time.perf_counter()
        pickup: list[float | None] = [None] * processes
        while None in pickup and time.perf_counter() - published < pickup_timeout_s:
            for n, client in enumerate(clients):
                if pickup[n] is None and client.predict(probe, 1, api_name="/search")["hits"][0]["title"] == extra.title:
                    pickup[n] = round(time.perf_counter() - published, 2)
            time.sleep(0.2)
        out["pickup_s"] = pickup
        out["pickup_timeout_s"] = pickup_timeout_s
    finally:
        for proc in procs:
            stop_process(proc)
    return out


def _start_py_spy(pid: int, out: Path):
    exe = shutil.which("py-spy") or (str(VENV_BIN / "py-spy") if (VENV_BIN / "py-spy").exists() else None)
    if exe is None:
        log("  py-spy not installed: no profile (pip install py-spy)")
        return None
    proc = subprocess.Popen([exe, "record", "--pid", str(pid), "--rate", "50", "--format", "raw",
                             "--output", str(out), "--nonblocking"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    time.sleep(1.0)
    if proc.poll() is not None:
        log(f"  py-spy could not attach: {proc.stderr.read().decode(errors='replace').strip()[:200]}")
        return None
    return proc, out


def _stop_py_spy(spy) -> dict | None:
    """Stop py-spy (SIGINT makes it write its output) and summarise the folded stacks."""
    import signal

    proc, out = spy
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        stop_process(proc)
    if not out.is_file():
        return None
    return summarise_profile(out.read_text(encoding="utf-8", errors="replace"))


_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def _frame_name(frame: str) -> str:
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    path = m["file"].split("site-packages/")[-1].split("/work/")[-1]
    return f"{m['func']} ({path})"


def summarise_profile(folded: str, top: int = 15) -> dict:
    """Top functions by own samples and by inclusive samples, as shares of all samples (py-spy raw format)."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in folded.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_frame_name(f) for f in stack.split(";") if f.strip()]
        if not frames:
            continue
        total += n
        own[frames[-1]] += n
        for name in set(frames):
            inclusive[name] += n

    def shares(counter: Counter) -> list:
        return [[name, round(100.0 * n / total, 1)] for name, n in counter.most_common(top)] if total else []

    parts: Counter[str] = Counter()
    for name, n in own.items():
        parts[next((part for part, keys in PROFILE_PARTS if any(k in name for k in keys)), "other")] += n
    return {"samples": total, "own": shares(own), "inclusive": shares(inclusive),
            "parts": {part: round(100.0 * n / total, 1) for part, n in parts.most_common()} if total else {}}


# Own samples grouped by what they are, so the report can say where the time goes.
PROFILE_PARTS = (
    ("Chroma query (dense search)", ("chromadb/",)),
    ("ONNX query encoder", ("onnxruntime/", "retriever/encoder.py", "ingest/embedder.py", "tokenizers")),
    ("BM25 and ranking", ("bm25s/", "retriever/", "Stemmer")),
    ("answer composition", ("app/extractive.py", "app/verify.py", "app/assistant.py", "app/followup.py")),
    ("waiting on locks and queues (worker threads)", ("Condition.wait", "Queue.get", "threading.py")),
    ("HTTP, event loop and Gradio", ("asyncio/", "uvicorn/", "starlette/", "gradio/", "gradio_client/", "fastapi/",
                                     "anyio/", "pydantic", "httptools", "h11/", "json/")),
)
