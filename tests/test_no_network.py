"""No outside lookups or connections, and no telemetry store, from `ask`, `ingest` and `serve` (issue 20, point 3).

Traced with strace, which sees what native code does too (onnxruntime's telemetry is C++): every connect and
send of the command and its threads and children is checked. Loopback is fine; anything else, a DNS query
(even to a resolver on loopback) or glibc's nscd socket fails the test, and so does opening onnxruntime's
telemetry event store. The library must switch telemetry off by itself: the switches are not in the environment.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import subprocess
import time

import pytest

from conftest import CLI, CORPUS, free_port, stop_process, wait_for_port

STRACE = shutil.which("strace")
pytestmark = pytest.mark.skipif(STRACE is None, reason="strace is not installed (`make test` installs it)")
TRACE = ["-f", "-qq", "-e", "trace=connect,sendto,sendmsg,sendmmsg,openat"]
_ADDRESS = re.compile(r'inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6?, "([^"]+)"')
_PORT = re.compile(r"sin6?_port=htons\((\d+)\)")
# The switches a user might have set; the test removes them so the library has to set its own.
_SWITCHES = ("ANONYMIZED_TELEMETRY", "GRADIO_ANALYTICS_ENABLED", "ORT_DISABLE_TELEMETRY", "HF_HUB_OFFLINE",
             "TRANSFORMERS_OFFLINE", "DO_NOT_TRACK")


def _env(tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in _SWITCHES}
    env["HOME"] = str(tmp_path / "home")  # where onnxruntime would put its telemetry store
    return env


def outside_traffic(trace_text: str) -> list[str]:
    """The trace lines that reach outside the machine, look a name up, or open onnxruntime's telemetry store."""
    bad = []
    for line in trace_text.splitlines():
        if "openat(" in line:
            if ".onnxruntime" in line or "DeveloperTools" in line:
                bad.append(line)
            continue
        if "nscd" in line:
            bad.append(line)
            continue
        if "AF_INET" not in line:
            continue  # AF_UNIX and AF_NETLINK stay on the machine
        port = _PORT.search(line)
        if port and port.group(1) == "53":
            bad.append(line)
            continue
        for v4, v6 in _ADDRESS.findall(line):
            address = ipaddress.ip_address(v4 or v6)
            mapped = getattr(address, "ipv4_mapped", None)
            if not (address.is_loopback or (mapped is not None and mapped.is_loopback) or address.is_unspecified):
                bad.append(line)
    return bad


def test_the_checker_sees_outside_traffic():
    """The parser flags what it must (so a clean trace means something)."""
    lines = [
        '7 connect(3, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("127.0.0.53")}, 16) = 0',
        '7 sendto(5, "x", 1, 0, {sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr("20.42.65.92")}, 16) = 1',
        '7 connect(3, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), '
        'inet_pton(AF_INET6, "2603:1030::1", &sin6_addr), sin6_scope_id=0}, 28) = 0',
        '7 connect(3, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, 110) = -1 ENOENT',
        '7 openat(AT_FDCWD, "/root/.cache/Microsoft/DeveloperTools/.onnxruntime/onnxruntime.db", O_RDWR) = 3',
    ]
    fine = [
        '7 connect(9, {sa_family=AF_INET, sin_port=htons(7860), sin_addr=inet_addr("127.0.0.1")}, 16) = 0',
        '7 connect(9, {sa_family=AF_INET6, sin6_port=htons(80), sin6_flowinfo=htonl(0), '
        'inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}, 28) = 0',
        '7 connect(4, {sa_family=AF_UNIX, sun_path="/tmp/x.sock"}, 110) = 0',
    ]
    assert outside_traffic("\n".join(lines + fine)) == lines


def _traced(args, tmp_path, name, timeout=600):
    out = tmp_path / f"{name}.trace"
    proc = subprocess.run([STRACE, *TRACE, "-o", str(out), CLI, *args], capture_output=True, text=True,
                          timeout=timeout, env=_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    return out.read_text()


@pytest.mark.slow
def test_ask_ingest_and_serve_stay_on_the_machine(config, tmp_path):
    """The onnxruntime query encoder runs in all three; none of them sends or looks up anything outside."""
    from gradio_client import Client

    idx = tmp_path / "idx"
    shutil.copytree(config.index_dir, idx, ignore=shutil.ignore_patterns(".ingest.lock"))
    edited = tmp_path / "edited.txt"  # one changed section: ingest embeds it and encodes its words (onnxruntime)
    edited.write_text(CORPUS.read_text(encoding="utf-8").replace("standardisation", "standardization"),
                      encoding="utf-8")
    traces = {
        "ask": _traced(["ask", "What is metrology?", "--index-dir", str(idx)], tmp_path, "ask"),
        "ingest": _traced(["ingest", "-q", "--corpus", str(edited), "--index-dir", str(idx)], tmp_path, "ingest"),
    }
    port = free_port()
    out = tmp_path / "serve.trace"
    with open(tmp_path / "serve.log", "wb") as log:
        proc = subprocess.Popen([STRACE, *TRACE, "-o", str(out), CLI, "serve", "--port", str(port), "--index-dir",
                                 str(idx)], stdout=log, stderr=subprocess.STDOUT, env=_env(tmp_path),
                                start_new_session=True)
    try:
        wait_for_port(port, timeout=240, proc=proc)
        client = Client(f"http://127.0.0.1:{port}/", verbose=False, httpx_kwargs={"timeout": 120})
        assert "3.2.1" in client.predict("What is the code of the metrology section?", [], api_name="/chat")["answer"]
        time.sleep(5)  # telemetry is sent from a background thread, a little after the work
    finally:
        stop_process(proc)
    traces["serve"] = out.read_text()
    for name, text in traces.items():
        assert "onnx" in text, f"{name}: the trace did not see onnxruntime load"
        assert outside_traffic(text) == [], (name, outside_traffic(text)[:5])
