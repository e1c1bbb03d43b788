"""Serve the page, the API and the MCP tools: `launch(assistant, ...)` is called only by the CLI (`serve`)."""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from pathlib import Path

from .auth import load_auth_file
from .idle import sleep_when_idle
from .page import CSS, JS, build_ui, theme

log = logging.getLogger(__name__)
# How often an idle server checks for a new generation (a request checks anyway).
REFRESH_SECONDS = 5.0

_API_INFO = re.compile(rb"window\.gradio_api_info = .*?;</script>", re.DOTALL)


class LoginPageOnly:
    """ASGI middleware: a page served to a visitor who has not signed in (Gradio's login page) loses the API schema.

    Gradio embeds `window.gradio_api_info` (every endpoint and its types) in each page, the login page included; the
    login page does not need it. Its JSON escapes "<", so it cannot contain the "</script>" the pattern stops at.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "GET":
            await self.app(scope, receive, send)
            return
        start: dict = {}
        body: list[bytes] = []

        async def hold(message):
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers") or [])
                if not headers.get(b"content-type", b"").startswith(b"text/html"):
                    await send(message)
                    return
                start.update(message)
                return
            if not start:
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body"):
                return
            page = b"".join(body)
            if b'"auth_required":true' in page:
                page = _API_INFO.sub(b"window.gradio_api_info = null;</script>", page)
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(page)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": page})

        await self.app(scope, receive, hold)


def launch(assistant, host: str = "127.0.0.1", port: int = 7860, auth_file: str | Path | None = None,
           forwarded_allow_ips: str | None = None, **kw):
    """Build the app and serve it on host:port (loopback by default) until interrupted; never shares publicly.

    `forwarded_allow_ips` names the reverse proxies (comma-separated addresses or networks) whose
    X-Forwarded-For header is believed; by default none is. Extra keyword arguments go to `Blocks.launch`
    (share and allowed_paths are refused).
    """
    for forbidden in ("share", "allowed_paths"):
        if kw.pop(forbidden, None):
            raise ValueError(f"launch() does not support {forbidden}=; the app serves only its own assets locally.")
    from consensus_chat.ingest.telemetry import disable_telemetry

    disable_telemetry()  # also for callers of launch() that did not come through the CLI
    users = load_auth_file(auth_file) if auth_file else None
    concurrency = int(kw.pop("concurrency_limit", 4))
    demo = build_ui(assistant, concurrency_limit=concurrency)
    demo.queue(max_size=kw.pop("max_queue_size", 512), default_concurrency_limit=concurrency)

    from starlette.middleware import Middleware

    from .login import LoginGuard, LoginLimitMiddleware
    from .mcp_server import McpMount, build_mcp, lifespan

    guard = LoginGuard(users) if users is not None else None
    mcp = build_mcp(assistant, concurrency_limit=concurrency, host=host)
    middleware = [Middleware(McpMount, server=mcp, guard=guard)]
    options = dict(
        server_name=host, server_port=port, share=False, show_error=False, quiet=True, ssr_mode=False, pwa=False,
        enable_monitoring=False, run_history=False, max_file_size="1mb", footer_links=["api", "settings"],
        prevent_thread_lock=True, css=CSS, js=JS, theme=theme(), auth_message=None,
        # Our MCP server (app/mcp_server.py) answers at Gradio's MCP URL; Gradio's own stays off.
        mcp_server=False,
    )
    if guard is not None:
        options["auth"] = guard.check  # a coroutine function: Gradio awaits it instead of blocking its loop
        options["auth_message"] = "consensus-chat: sign in with an account from the server's auth file."
        middleware.append(Middleware(LoginLimitMiddleware, guard=guard))
        middleware.append(Middleware(LoginPageOnly))
    options["app_kwargs"] = {"middleware": middleware, "lifespan": lifespan(mcp)}
    options.update(kw)
    # uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise, so any local client (or one behind
    # a proxy on this host) could pick a new address per request and escape the per-address login limit.
    # Gradio builds uvicorn's Config without this setting, so uvicorn reads it from the environment.
    os.environ["FORWARDED_ALLOW_IPS"] = forwarded_allow_ips or ""
    _, local_url, _ = demo.launch(**options)
    idle = sleep_when_idle(demo)  # an idle server must not poll every millisecond (app/idle.py)
    print(f"consensus-chat is serving on {local_url} (bound to {host}:{demo.server_port})", flush=True)
    print(f"  API: /chat, /search and /feedback; MCP (streamable HTTP only, not SSE): "
          f"{local_url.rstrip('/')}/gradio_api/mcp/", flush=True)
    if forwarded_allow_ips:
        print(f"  X-Forwarded-For is believed only from {forwarded_allow_ips}", flush=True)
    _time_to_first_answer(assistant)
    if users is not None:
        print(f"  Login required: {len(users)} user(s) from {auth_file}; MCP callers send HTTP Basic credentials",
              flush=True)
    stop = threading.Event()
    threading.Thread(target=_refresh_while_serving, args=(assistant.retriever, stop), daemon=True,
                     name="index-refresh").start()
    try:
        demo.block_thread()
    finally:
        stop.set()
        if idle is not None:
            idle.stop()
        demo.close(verbose=False)
        if guard is not None:
            guard.close()


def _refresh_while_serving(retriever, stop: threading.Event, every: float = REFRESH_SECONDS) -> None:
    """Let the retriever pick up a new generation and release replaced ones even when no request comes."""
    while not stop.wait(every):
        try:
            retriever.refresh()
        except Exception as exc:  # noqa: BLE001 - a background thread: requests still report errors themselves
            log.warning("Checking the index for a newer generation failed (%s: %s); trying again in %.0f s.",
                        type(exc).__name__, exc, every)


def _time_to_first_answer(assistant) -> None:
    """Under `make run` (which sets CONSENSUS_CHAT_RUN_STARTED to its start time): answer a first question
    and print how long after `make run` started it was answered."""
    started = os.environ.get("CONSENSUS_CHAT_RUN_STARTED", "")
    try:
        started_at = float(started)
    except ValueError:
        return
    answer = assistant.answer("What does this document cover?")
    print(f"  First answer {time.time() - started_at:.1f}s after `make run` started "
          f"({len(answer.citations)} sources cited)", flush=True)
