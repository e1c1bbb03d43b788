"""Logins over HTTP that cannot stall the server: password checks off the event loop, and a per-client limit (429).

Gradio awaits its `auth` callable on the event loop when it is a coroutine function and calls it inline otherwise,
so a plain function that runs a 0.4 s PBKDF2 check stops every other request while it runs. `LoginGuard.check` is a
coroutine that hands the check to one worker thread (hashlib releases the GIL while hashing) and remembers
successful checks, and `LoginLimitMiddleware` answers 429 before Gradio sees a login from a client that has used up
its attempts. Nothing here imports Gradio.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import json
import secrets
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

from .auth import check_login
from .ratelimit import RetryLater, SlidingWindowLimiter

MAX_ATTEMPTS = 10  # logins per client address without a success ...
WINDOW_SECONDS = 300.0  # ... within this many seconds
MAX_PENDING = 32  # checks waiting for the hashing thread, all clients together
LOGIN_PATHS = ("/login", "/login/")


class TooManyAttempts(RetryLater):
    """A login refused before checking: the client used up its attempts, or too many checks are waiting."""


class AttemptLimiter(SlidingWindowLimiter):
    """Login attempts per client address in a sliding window; a success clears the client."""

    def __init__(self, max_attempts: int = MAX_ATTEMPTS, window: float = WINDOW_SECONDS, max_clients: int = 10_000):
        super().__init__(max_attempts, window, what="login attempts", error=TooManyAttempts, max_clients=max_clients)

    def start(self, client: str) -> None:
        """Count one attempt by `client`, or raise TooManyAttempts."""
        self.count(client)

    def succeeded(self, client: str) -> None:
        """Forget `client`'s attempts after a successful login."""
        self.forget(client)


class LoginGuard:
    """Checks passwords on one worker thread so the event loop keeps serving, and remembers successful checks."""

    def __init__(self, users: dict[str, str], *, limiter: AttemptLimiter | None = None,
                 max_pending: int = MAX_PENDING, cache_size: int = 256):
        self.users = users
        self.limiter = limiter or AttemptLimiter()
        self.max_pending = max_pending
        self.cache_size = cache_size
        # One thread: a flood of wrong passwords then uses one core at most, and checks queue instead of piling up.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="login-check")
        self._pending = 0
        self._key = secrets.token_bytes(32)  # per process: the cache holds no reusable password digests
        self._verified: OrderedDict[tuple[str, bytes], None] = OrderedDict()

    def _token(self, username: str, password: str) -> tuple[str, bytes]:
        return username, hmac.new(self._key, password.encode("utf-8", "surrogatepass"), "sha256").digest()

    def admit(self, client: str) -> None:
        """Count a login attempt by `client`; raise TooManyAttempts when it must wait (the caller answers 429)."""
        if self._pending >= self.max_pending:
            raise TooManyAttempts("The server is busy checking other logins; try again in a few seconds.", 5)
        self.limiter.start(client)

    async def check(self, username: str, password: str) -> bool:
        """Gradio's `auth` callable: True when the password matches. Awaited on the loop; the hashing runs elsewhere."""
        if not isinstance(username, str) or not isinstance(password, str):
            return False
        token = self._token(username, password)
        if token in self._verified:
            self._verified.move_to_end(token)
            return True
        self._pending += 1
        try:
            ok = await asyncio.get_running_loop().run_in_executor(
                self._pool, functools.partial(check_login, username, password, users=self.users))
        finally:
            self._pending -= 1
        if ok:
            self._verified[token] = None
            while len(self._verified) > self.cache_size:
                self._verified.popitem(last=False)
        return ok

    async def login(self, client: str, username: str, password: str) -> bool:
        """A whole login for callers without Gradio's /login (MCP): limit, check, and clear the count on success."""
        if self._token(username, password) not in self._verified:
            self.admit(client)
        ok = await self.check(username, password)
        if ok:
            self.limiter.succeeded(client)
        return ok

    def close(self) -> None:
        """Stop the hashing thread."""
        self._pool.shutdown(wait=False, cancel_futures=True)


def client_address(scope: dict) -> str:
    """The peer address of an ASGI request: the connection's own, unless `serve --forwarded-allow-ips` names the
    proxy it came through (then uvicorn has put the forwarded client address here)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


async def send_json(send, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
    """Send a small JSON response on a raw ASGI connection."""
    payload = json.dumps(body).encode("utf-8")
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


async def send_too_many(send, exc: TooManyAttempts) -> None:
    """The 429 answer for a refused login."""
    await send_json(send, 429, {"detail": str(exc)}, {"Retry-After": str(exc.retry_after)})


class LoginLimitMiddleware:
    """ASGI middleware in front of Gradio's POST /login: 429 with Retry-After instead of another password check."""

    def __init__(self, app, guard: LoginGuard):
        self.app = app
        self.guard = guard

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "POST" or scope.get("path") not in LOGIN_PATHS:
            await self.app(scope, receive, send)
            return
        client = client_address(scope)
        try:
            self.guard.admit(client)
        except TooManyAttempts as exc:
            await send_too_many(send, exc)
            return
        status: dict[str, int] = {}

        async def watch(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        await self.app(scope, receive, watch)
        if status.get("code") == 200:
            self.guard.limiter.succeeded(client)
