"""Start, wait for and stop the local servers the benchmark and the tests run (one copy for both).

Everything binds to 127.0.0.1. Process trees and their memory come from psutil rather than /proc,
so the same code reads them on any platform psutil supports.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    """A TCP port that is free on loopback right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until(ready, what: str, timeout: float, proc: subprocess.Popen | None, poll: float, late: str) -> None:
    """Poll `ready()` until it is true; raise when `proc` exits first (before `what`) or after `timeout` s (`late`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {what}")
        if ready():
            return
        time.sleep(poll)
    raise TimeoutError(late)


def wait_for_port(port: int, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    """Wait until something listens on 127.0.0.1:port, or raise (also when `proc` exits first)."""

    def listening() -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    _wait_until(listening, f"listening on {port}", timeout, proc, 0.2,
                f"nothing listened on port {port} within {timeout}s")


def wait_for_http(url: str, timeout: float = 60.0, proc: subprocess.Popen | None = None,
                  poll: float = 0.1) -> None:
    """Wait until GET url answers 200, or raise (also when `proc` exits first)."""

    def answers() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                return resp.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    _wait_until(answers, f"{url} answered", timeout, proc, poll, f"{url} did not answer HTTP 200 within {timeout}s")


def stop_process(proc: subprocess.Popen | None, timeout: float = 15.0) -> None:
    """Stop a process we started, and its children: SIGTERM first, SIGKILL after `timeout` seconds.

    A process started with start_new_session=True is signalled as a group (its children go too);
    otherwise the process alone, as tests start servers in their own group.
    """
    if proc is None or proc.poll() is not None:
        return
    own_group = _leads_own_group(proc.pid)

    def send(sig: int) -> None:
        if own_group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)

    try:
        send(signal.SIGTERM)
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


def _leads_own_group(pid: int) -> bool:
    try:
        return os.getpgid(pid) == pid
    except ProcessLookupError:
        return False


def process_tree(pid: int) -> list[int]:
    """pid and all its live descendants."""
    import psutil

    try:
        root = psutil.Process(pid)
        return [pid] + [child.pid for child in root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def tree_sum(pid: int, measure) -> float:
    """`measure(pid)` summed over a process and its children; a process gone (or closed to us) meanwhile counts 0."""
    import psutil

    total = 0.0
    for p in process_tree(pid):
        try:
            total += measure(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


def peak_rss_mib(pid: int) -> float:
    """Peak resident set size (VmHWM where the OS reports it, else current RSS) summed over a process tree."""
    import psutil

    # Linux's VmHWM is the true peak; psutil exposes only the current RSS, the fallback elsewhere.
    return tree_sum(pid, lambda p: _vm_hwm_bytes(p) or psutil.Process(p).memory_info().rss) / 1048576


def _vm_hwm_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0


class ChromaServer:
    """`chroma run --path DIR --port N` on 127.0.0.1, started and stopped by us (`with ChromaServer(dir) as s: s.port`).

    Its output goes to `chroma-server.log` beside DIR.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self._log = None

    def __enter__(self):
        self.path.mkdir(parents=True, exist_ok=True)
        self._log = open(self.path.parent / "chroma-server.log", "wb")
        chroma = Path(sys.executable).parent / "chroma"
        self.proc = subprocess.Popen(
            [str(chroma), "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
            env=dict(os.environ, ANONYMIZED_TELEMETRY="False"),
        )
        try:
            wait_for_http(f"http://127.0.0.1:{self.port}/api/v2/heartbeat", timeout=60, proc=self.proc, poll=0.2)
        except (RuntimeError, TimeoutError):
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        stop_process(self.proc)
        if self._log is not None:
            self._log.close()
