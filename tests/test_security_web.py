"""The served app under attack and load: path traversal, login, loopback binding, 50 sessions, ingest while serving."""

from __future__ import annotations

import asyncio
import http.client
import json
import shutil
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy
import pytest

from consensus_chat.app import auth, web
from consensus_chat.app.login import MAX_ATTEMPTS, AttemptLimiter, LoginGuard, TooManyAttempts
from conftest import CLI, CORPUS, edited_corpus, free_port
from consensus_chat.ingest.errors import ConsensusChatError
from test_ui import _mcp_session, serving, shared_server

QUESTIONS = [
    "Which sections cite Turpin?",
    "What is the code of the metrology section?",
    "Who wrote the Singapore Consensus, and when?",
    "How can we tell whether a model's stated reasoning is faithful?",
    "What is secure evaluation infrastructure?",
    "How do we attribute model behaviour to training data?",
    "Which sections are about risk assessment?",
    "What does the explainability section say?",
    "Why study goals in AI systems?",
    "What is system safety assessment?",
]


def raw_get(port: int, path: str, timeout: float = 15) -> tuple[int, bytes]:
    """GET a path byte-for-byte as given (no client-side normalisation of ../ or %2e)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def server(request, index_dir, tmp_path_factory):
    return shared_server(request, index_dir, tmp_path_factory)


def _port(url: str) -> int:
    return int(url.rstrip("/").rsplit(":", 1)[1])


# ---------------------------------------------------------------------------------------------------------------
# Files


TRAVERSALS = [
    "/file=../../etc/passwd",
    "/file=/etc/passwd",
    "/gradio_api/file=/etc/passwd",
    "/gradio_api/file=../../../../etc/passwd",
    "/gradio_api/file=%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/gradio_api/file=..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/gradio_api/file=%2fetc%2fpasswd",
    "/gradio_api/file=%252e%252e%252f%252e%252e%252fetc%252fpasswd",
    "/gradio_api/file=....//....//....//etc/passwd",
    "/file=%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/static/../../../../etc/passwd",
    "/assets/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/gradio_api/static/../../../../../etc/passwd",
    "/favicon.ico/../../../../etc/passwd",
]


@pytest.mark.slow
@pytest.mark.parametrize("path", TRAVERSALS)
def test_path_traversal_never_serves_passwd(server, path):
    status, body = raw_get(_port(server[0]), path)
    assert status != 200 or b"root:" not in body, (path, status, body[:200])


@pytest.mark.slow
def test_index_corpus_and_log_files_are_not_served(server, index_dir):
    port = _port(server[0])
    for target in (index_dir / "manifest.json", CORPUS, server[2]):
        for prefix in ("/gradio_api/file=", "/file="):
            status, body = raw_get(port, prefix + str(target))
            assert status != 200, (prefix, target, status, body[:200])


# ---------------------------------------------------------------------------------------------------------------
# Login


def test_hash_password_round_trip_and_formats():
    stored = auth.hash_password("correct horse", iterations=1000)
    scheme, iterations, salt, digest = stored.split("$")
    assert (scheme, iterations) == ("pbkdf2_sha256", "1000")
    assert auth.verify_password("correct horse", stored)
    assert not auth.verify_password("correct horse!", stored)
    assert auth.hash_password("x", iterations=1000) != auth.hash_password("x", iterations=1000), "salted"
    sha = "sha256$" + __import__("hashlib").sha256(b"pw").hexdigest()
    assert not auth.verify_password("pw", sha), "the unsalted sha256 form never matches"


@pytest.mark.parametrize("content, message", [
    ("alice\n", "line 1: expected user:password-hash"),
    ("alice:plaintext\n", "line 1: unknown hash scheme"),
    ("# users\n\nalice:sha256$abc\n", "line 3: unsalted sha256"),
    ("alice:sha256$" + "ab" * 32 + "\n", r"line 1: unsalted sha256\$<hex> hashes are refused .*hash_password\('secret'\)"),
    ("alice:pbkdf2_sha256$x$c2FsdA==$aGFzaA==\n", "line 1: expected pbkdf2_sha256"),
    ("alice:pbkdf2_sha256$1000$!!!$aGFzaA==\n", "line 1: the salt or hash is not base64"),
    ("# nobody\n", "has no user:password-hash lines"),
])
def test_malformed_auth_file_is_a_clear_error(tmp_path, content, message):
    path = tmp_path / "users.txt"
    path.write_text(content)
    with pytest.raises(ConsensusChatError, match=message) as info:
        auth.load_auth_file(path)
    assert str(path) in str(info.value)


def test_missing_auth_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConsensusChatError, match="does not exist"):
        auth.load_auth_file(tmp_path / "nope.txt")


def test_check_login(tmp_path):
    path = tmp_path / "users.txt"
    path.write_text(f"alice:{auth.hash_password('s3cret', iterations=1000)}\n"
                    f"bob:{auth.hash_password('hunter2', iterations=1000)}\n")
    users = auth.load_auth_file(path)
    assert auth.check_login("alice", "s3cret", users=users)
    assert auth.check_login("bob", "hunter2", users=users)
    assert not auth.check_login("alice", "hunter2", users=users)
    assert not auth.check_login("mallory", "s3cret", users=users)


@pytest.mark.slow
def test_auth_file_turns_on_login(index_dir, tmp_path):
    import httpx
    from gradio_client import Client

    users_file = tmp_path / "users.txt"
    users_file.write_text("# user:password-hash\n" + "alice:" + auth.hash_password("s3cret pass") + "\n")
    with serving(index_dir, tmp_path / "serve.log", "--auth-file", str(users_file)) as (url, _, log):
        for path in ("gradio_api/info", "config", "gradio_api/openapi.json", "gradio_api/file=/etc/passwd"):
            response = httpx.get(url + path, timeout=15)
            assert response.status_code in (401, 403), (path, response.status_code)
        assert httpx.get(url + "gradio_api/mcp/schema", timeout=15).status_code != 200, "MCP needs a login"
        for credentials in (None, ("alice", "wrong"), ("mallory", "s3cret pass")):
            mcp = httpx.post(url + "gradio_api/mcp/", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                             headers={"Accept": "application/json, text/event-stream"}, auth=credentials, timeout=30)
            assert mcp.status_code == 401 and "Basic" in mcp.headers["WWW-Authenticate"], (credentials, mcp.status_code)
        tools, found, answered, _ = asyncio.run(asyncio.wait_for(
            _mcp_session(url, auth=("alice", "s3cret pass")), timeout=120))
        assert set(tools) == {"chat", "search", "feedback"} and found.structuredContent["hits"][0]["code"] == "1.1.2"
        assert answered.structuredContent["citations"][0]["code"] == "3.2.1"
        refused = httpx.post(url + "login", data={"username": "alice", "password": "wrong"}, timeout=30)
        assert refused.status_code in (400, 401)
        with pytest.raises(Exception, match="(?i)credentials|login|auth"):
            Client(url, verbose=False)
        with pytest.raises(Exception, match="(?i)credentials|login|auth|incorrect"):
            Client(url, auth=("alice", "wrong"), verbose=False)
        client = Client(url, auth=("alice", "s3cret pass"), verbose=False)
        assert "3.2.1" in client.predict("What is the code of the metrology section?", [], api_name="/chat")["answer"]
        assert "Login required: 1 user(s)" in log.read_text()


def test_attempt_limiter_refuses_the_eleventh_attempt_and_forgets_after_a_success():
    limiter = AttemptLimiter(max_attempts=10, window=300)
    for _ in range(10):
        limiter.start("10.0.0.1")
    with pytest.raises(TooManyAttempts, match="at most 10 in 300 seconds. Try again in") as info:
        limiter.start("10.0.0.1")
    assert 1 <= info.value.retry_after <= 300
    limiter.start("10.0.0.2")  # other clients are not affected
    limiter.succeeded("10.0.0.1")
    limiter.start("10.0.0.1")


def test_login_guard_hashes_off_the_event_loop():
    users = {"alice": auth.hash_password("s3cret")}  # the real 600,000 iterations

    async def run() -> tuple[list[bool], int]:
        guard = LoginGuard(users)
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        try:
            results = await asyncio.gather(*(guard.check("alice", f"wrong {i}") for i in range(3)),
                                           guard.check("alice", "s3cret"), guard.check("mallory", "s3cret"))
        finally:
            task.cancel()
            guard.close()
        return list(results), ticks

    results, ticks = asyncio.run(run())
    assert results == [False, False, False, True, False]
    # Five checks hash for about two seconds; a check on the loop would have let the ticker run about never.
    assert ticks >= 20, ticks


@pytest.mark.slow
def test_login_flood_does_not_stall_a_logged_in_user(index_dir, tmp_path):
    import httpx

    users_file = tmp_path / "users.txt"
    users_file.write_text("alice:" + auth.hash_password("s3cret pass") + "\n")
    with serving(index_dir, tmp_path / "serve.log", "--auth-file", str(users_file)) as (url, _, _):
        with httpx.Client(base_url=url, timeout=60) as alice:
            assert alice.post("login", data={"username": "alice", "password": "s3cret pass"}).status_code == 200
            assert alice.get("gradio_api/info").status_code == 200
            polls: list[tuple[float, float, int]] = []  # (start, seconds, status)
            stop = threading.Event()

            def poll() -> None:
                while not stop.is_set():
                    start = time.perf_counter()
                    status = alice.get("gradio_api/info").status_code
                    polls.append((start, time.perf_counter() - start, status))

            def wrong_login(i: int) -> httpx.Response:
                return httpx.post(url + "login", data={"username": "alice", "password": f"wrong {i}"}, timeout=120)

            poller = threading.Thread(target=poll, daemon=True)
            poller.start()
            flood_start = time.perf_counter()
            with ThreadPoolExecutor(max_workers=16) as pool:
                responses = list(pool.map(wrong_login, range(16)))
            flood_end = time.perf_counter()
            stop.set()
            poller.join(timeout=60)
            after = alice.get("gradio_api/info").status_code

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [400] * MAX_ATTEMPTS + [429] * (16 - MAX_ATTEMPTS), statuses
    limited = next(r for r in responses if r.status_code == 429)
    assert "Too many login attempts" in limited.json()["detail"] and int(limited.headers["Retry-After"]) >= 1
    during = sorted(seconds for start, seconds, _ in polls if flood_start <= start <= flood_end)
    assert len(during) >= 5, f"the logged-in user got only {len(during)} answers during the flood"
    assert all(status == 200 for _, _, status in polls) and after == 200
    p95 = float(numpy.percentile(during, 95))
    assert p95 < 0.5, f"p95 of GET /gradio_api/info during the flood: {p95:.3f}s over {len(during)} polls"


def test_bad_auth_file_stops_launch_before_serving(assistant, tmp_path):
    users_file = tmp_path / "users.txt"
    users_file.write_text("alice:secret-in-plain-text\n")
    port = free_port()
    with pytest.raises(ConsensusChatError, match="line 1: unknown hash scheme"):
        web.launch(assistant, port=port, auth_file=users_file)
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "nothing listens after a bad auth file"


def test_launch_refuses_share_and_allowed_paths(assistant):
    for option in ({"share": True}, {"allowed_paths": ["/"]}):
        with pytest.raises(ValueError, match="does not support"):
            web.launch(assistant, port=free_port(), **option)


# ---------------------------------------------------------------------------------------------------------------
# Binding


def _non_loopback_ip() -> str | None:
    """This machine's address on its default route, if it has one (a UDP connect sends nothing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
        except OSError:
            return None
        ip = s.getsockname()[0]
    return None if ip.startswith("127.") or ip == "0.0.0.0" else ip


@pytest.mark.slow
def test_serve_binds_loopback_by_default(server):
    url, _, log = server
    assert url.startswith("http://127.0.0.1:")
    assert f"serving on {url} (bound to 127.0.0.1:" in log.read_text()
    ip = _non_loopback_ip()
    if ip is None:
        pytest.skip("this machine has no non-loopback interface to try")
    with socket.socket() as s:
        s.settimeout(3)
        assert s.connect_ex((ip, _port(url))) != 0, f"the server answered on {ip}"


# ---------------------------------------------------------------------------------------------------------------
# Load


@pytest.mark.slow
def test_fifty_sessions_ten_questions_each(server, artifacts):
    from consensus_chat.evals.load import run_sessions

    report = run_sessions(server[0], QUESTIONS, sessions=50, per_session=10, budget_s=300)
    (artifacts / "load.json").write_text(json.dumps(report.to_dict(), indent=2))
    print("\nload:", json.dumps(report.to_dict()))
    assert report.errors == (), report.errors[:5]
    assert report.requests == 50 * 10


@pytest.mark.slow
def test_fifty_sessions_over_plain_http(server):
    """The bench's load client: Gradio's two-step HTTP API returns the same answer objects as gradio_client."""
    from consensus_chat.evals.load import answered, run_sessions

    seen = []

    def check(result):
        seen.append(result)
        return answered(result)

    report = run_sessions(server[0], QUESTIONS, sessions=50, per_session=2, budget_s=300, transport="http",
                          check=check)
    assert report.errors == (), report.errors[:5]
    assert report.requests == 50 * 2
    assert all(set(r) >= {"question", "answer", "refused", "citations", "sources"} for r in seen)
    # An error event from the server is counted, not lost: an empty question is refused by /chat.
    bad = run_sessions(server[0], [""], sessions=1, per_session=1, transport="http")
    assert len(bad.errors) == 1 and "error" in bad.errors[0], bad.errors


# ---------------------------------------------------------------------------------------------------------------
# Ingest while serving


@pytest.mark.slow
def test_ingest_while_serving_keeps_answering(index_dir, tmp_path):
    from gradio_client import Client

    live_index = tmp_path / "index"
    shutil.copytree(index_dir, live_index)
    corpus = edited_corpus(tmp_path / "corpus.txt",
                           "Current approaches generally lack standardisation, repeatability, and precision.",
                           "Current approaches are being standardised by a new working group.")

    with serving(live_index, tmp_path / "serve.log") as (url, _, _):
        client = Client(url, verbose=False, httpx_kwargs={"timeout": 60})
        stop = threading.Event()
        answers: list[str] = []
        errors: list[str] = []

        def keep_asking() -> None:
            while not stop.is_set():
                try:
                    result = client.predict("What is the code of the metrology section?", [], api_name="/chat")
                    answers.append(result["answer"])
                except Exception as exc:  # noqa: BLE001 - counted and reported below
                    errors.append(f"{type(exc).__name__}: {exc}")

        asker = threading.Thread(target=keep_asking, daemon=True)
        asker.start()
        try:
            before = len(answers)
            ingest = subprocess.run([CLI, "ingest", "--index-dir", str(live_index), "--corpus", str(corpus), "--json"],
                                    capture_output=True, text=True, timeout=180)
            assert ingest.returncode == 0, ingest.stderr
            assert json.loads(ingest.stdout)["updated"] >= 1
            during = len(answers) - before
            time.sleep(3)
        finally:
            stop.set()
            asker.join(timeout=60)
        assert errors == [], errors[:3]
        assert during > 0, "answers kept coming while the ingest ran"
        assert all("3.2.1" in a for a in answers)
        boxes = client.predict("metrology standardisation working group", 3, api_name="/search")
        assert boxes["hits"], "the server still searches after the ingest"
