"""Concurrent `/chat` sessions against a running server: the one load loop for the bench and the tests.

    report = run_sessions("http://127.0.0.1:7860/", questions, sessions=50, per_session=10)
    assert report.errors == ()

Each session runs in its own thread, asking `per_session` questions one after another (as people do).
Every loop is bounded in count and in time. Two ways to call `/chat`, both through the server's queue:

- `transport="gradio_client"` (default): each session is its own `gradio_client.Client`, as integrators use it.
- `transport="http"`: Gradio's documented two-step HTTP API (`POST /gradio_api/call/chat`, then read the
  event stream) over one httpx connection per session. gradio_client costs about 65 ms of client CPU per call
  (a polling thread per request, 50 ms poll sleeps); with 50 sessions on the server's own 2 cores that client
  work, not the server, set the measured rate, so the bench measures the server with this one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from typing import Literal

from .metrics import percentile


def answered(result) -> str | None:
    """The default check of one `/chat` reply: None if it is an answer or a refusal, else what is wrong."""
    if not isinstance(result, dict) or "answer" not in result:
        return f"/chat returned {type(result).__name__}, not an answer"
    if not result["answer"] or not (result.get("refused") or result.get("citations")):
        return "an empty answer (no text, or neither citations nor a refusal)"
    return None


@dataclass(frozen=True)
class LoadReport:
    """What a load run measured."""

    sessions: int
    questions_per_session: int
    seconds: float
    latencies: tuple[float, ...]  # seconds, in the order requests finished
    errors: tuple[str, ...]

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float | None:
        """The p-th percentile of the latencies in seconds (None for none)."""
        return percentile(self.latencies, p)

    def to_dict(self) -> dict:
        """JSON-ready summary (no per-request list)."""
        out = {k: v for k, v in asdict(self).items() if k not in ("latencies", "errors")}
        p50, p95 = self.percentile(50), self.percentile(95)
        out.update(requests=self.requests, errors=len(self.errors), seconds=round(self.seconds, 1),
                   requests_per_second=round(self.requests_per_second, 1),
                   p50_s=None if p50 is None else round(p50, 3), p95_s=None if p95 is None else round(p95, 3),
                   max_s=round(max(self.latencies), 3) if self.latencies else None,
                   first_errors=list(self.errors[:3]))
        return out


def run_sessions(url: str | Sequence[str], questions: Sequence[str], sessions: int = 50, per_session: int = 10, *,
                 check: Callable[[object], str | None] = answered, budget_s: float = 600.0,
                 timeout_s: float = 120.0,
                 transport: Literal["gradio_client", "http"] = "gradio_client") -> LoadReport:
    """`sessions` concurrent clients × `per_session` `/chat` questions each; nothing raised, errors counted.

    With several URLs (servers sharing one index), session n talks to url[n % len(url)], so the clients are split
    evenly across them.
    """
    urls = [url] if isinstance(url, str) else list(url)
    if not urls:
        raise ValueError("run_sessions needs at least one server URL")
    if transport not in ("gradio_client", "http"):
        raise ValueError(f"transport must be 'gradio_client' or 'http', not {transport!r}")
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + budget_s

    def session(n: int) -> None:
        client = _client(urls[n % len(urls)], timeout_s, transport)
        for i in range(per_session):
            if time.monotonic() > deadline:
                with lock:
                    errors.append("time budget reached before this question was asked")
                return
            question = questions[(n + i) % len(questions)]
            start = time.perf_counter()
            try:
                problem = check(client(question))
            except Exception as exc:  # noqa: BLE001 - counted and reported: this is a measurement
                problem = f"{type(exc).__name__}: {exc}"
            with lock:
                latencies.append(time.perf_counter() - start)
                if problem:
                    errors.append(f"{question!r}: {problem}")

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=sessions) as pool:
        futures = [pool.submit(session, n) for n in range(sessions)]
        for future in as_completed(futures, timeout=budget_s + timeout_s):
            future.result()
    return LoadReport(sessions, per_session, time.perf_counter() - started, tuple(latencies), tuple(errors))


class HttpChatError(RuntimeError):
    """The server answered `/chat` with an error event or no result (a measurement error, counted)."""


def _client(url: str, timeout_s: float, transport: str) -> Callable[[str], object]:
    """A function asking one question on `/chat` with an empty history and returning the answer object."""
    if transport == "gradio_client":
        from gradio_client import Client

        client = Client(url, verbose=False, httpx_kwargs={"timeout": timeout_s})
        return lambda question: client.predict(question, [], api_name="/chat")

    import json

    import httpx

    http = httpx.Client(base_url=url.rstrip("/") + "/gradio_api/call/chat", timeout=timeout_s)

    def ask(question: str) -> object:
        reply = http.post("", json={"data": [question, []]})
        reply.raise_for_status()
        event, data = None, None
        with http.stream("GET", f"/{reply.json()['event_id']}") as stream:
            stream.raise_for_status()
            for line in stream.iter_lines():  # "event: <name>" then "data: <json>" per message
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event in ("complete", "error"):
                    data = line[5:].strip()
                    break
        if event != "complete" or data is None:
            raise HttpChatError(f"/chat ended with {event or 'no event'}: {(data or '')[:200]}")
        return json.loads(data)[0]

    return ask
