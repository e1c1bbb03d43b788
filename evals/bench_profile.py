"""The serve profile: py-spy samples a server under load, and the folded stacks are summarised by part."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections import Counter
from pathlib import Path

from .bench_common import VENV_BIN, log
from .procs import stop_process

def start_py_spy(pid: int, out: Path):
    """Start `py-spy record` on a process (None without py-spy or when it cannot attach); pass to stop_py_spy."""
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


def stop_py_spy(spy) -> dict | None:
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
