"""Serve measurements: first HTTP 200, memory, concurrent `/chat` load, two processes on one Chroma server,
and the CPU an idle server uses."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from .bench_common import CLI, child_env, wall_seconds
from .metrics import percentile
from .bench_profile import start_py_spy, stop_py_spy
from .procs import free_port, peak_rss_mib, process_tree, stop_process, tree_sum, wait_for_http

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
        serve.update({"questions": len(times), "chat_p50_ms": round(percentile(times, 50), 1),
                      "chat_p95_ms": round(percentile(times, 95), 1), "peak_rss_mib": round(peak_rss_mib(proc.pid), 1),
                      "processes": len(process_tree(proc.pid))})
        spy = start_py_spy(proc.pid, Path(index_dir).parent / "serve-profile.txt") if profile else None
        # The target is the server's rate, so the load uses the light HTTP client (evals/load.py says why);
        # the same load through gradio_client follows, for integrators' numbers.
        report = run_sessions(url, questions, sessions=sessions, per_session=per_session, transport="http")
        load = report.to_dict() | {"transport": "http"}
        prof = stop_py_spy(spy) if spy else None
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

    from consensus_chat.ingest.pipeline import ingest

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


def measure_idle_serve(index_dir: Path, seconds: float = 60.0, settle_s: float = 5.0) -> dict:
    """CPU time `serve` uses over `seconds` with no client (after its first HTTP 200 and `settle_s`), as a
    share of one core."""
    port = free_port()
    with open(Path(index_dir).parent / "serve-idle.log", "wb") as logf:
        proc = subprocess.Popen([str(CLI), "serve", "--port", str(port), "--index-dir", str(index_dir)],
                                stdout=logf, stderr=subprocess.STDOUT, env=child_env(), start_new_session=True)
        try:
            wait_for_http(f"http://127.0.0.1:{port}/", timeout=180, proc=proc)
            time.sleep(settle_s)
            cpu, start = _tree_cpu_seconds(proc.pid), time.monotonic()
            time.sleep(seconds)
            used, wall = _tree_cpu_seconds(proc.pid) - cpu, time.monotonic() - start
        finally:
            stop_process(proc)
    return {"seconds": round(wall, 1), "cpu_s": round(used, 3), "core_percent": round(100.0 * used / wall, 2)}


def _tree_cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of a process and its children."""
    import psutil

    def cpu_seconds(p: int) -> float:
        times = psutil.Process(p).cpu_times()
        return times.user + times.system

    return tree_sum(pid, cpu_seconds)
