"""The MCP tools `chat`, `search` and `feedback`: the /chat, /search and /feedback JSON as structured content,
with an output schema.

Gradio's own MCP server (6.31) sends a tool's result as the Python repr of the returned dict, declares no output
schema, fills `structuredContent` only as `{"result": [text items]}`, and cannot check a login. The MCP library's
FastMCP derives the output schema from the TypedDict return annotations in app/api.py and sends each result both as
`structuredContent` and as JSON text, so the tools are served with it instead: same process, same URL
(`/gradio_api/mcp/`, streamable HTTP), same functions as /chat and /search. With --auth-file a caller sends HTTP
Basic credentials from the same file; the login limits of app/login.py apply.
"""

# No `from __future__ import annotations`: FastMCP reads the annotations at run time.

import base64
import binascii
import contextlib
import functools
from typing import Annotated, Literal

import anyio
from pydantic import Field

from .api import (CHAT_DOC, FEEDBACK_DOC, ChatJSON, FeedbackJSON, SearchJSON, answer_json, document_name,
                  feedback_json, peer, query_doc, search_doc, search_json, user_message)
from .login import LoginGuard, TooManyAttempts, client_address, send_json, send_too_many

MCP_PATH = "/gradio_api/mcp"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def build_mcp(assistant, *, concurrency_limit: int = 4, host: str = "127.0.0.1"):
    """A FastMCP server with the `chat` and `search` tools over `assistant` (not started)."""
    from mcp.server.fastmcp import Context, FastMCP
    from mcp.server.transport_security import TransportSecuritySettings

    # DNS-rebinding protection matters for a loopback server (a web page could reach it through a rebound name);
    # a server bound to other addresses is reached under names we cannot list here.
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=host in LOOPBACK,
        allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"], allowed_origins=["http://127.0.0.1:*",
                                                                                   "http://localhost:*"])
    server = FastMCP(name="consensus-chat", stateless_http=True, streamable_http_path=MCP_PATH,
                     transport_security=security, log_level="WARNING")
    sections = assistant.retriever.sections()
    document = document_name(sections)
    # The assistant is shared with the page; at most `concurrency_limit` MCP calls use it at once, off the loop.
    limiter: list[anyio.CapacityLimiter] = []

    async def run(fn, *args):
        if not limiter:
            limiter.append(anyio.CapacityLimiter(concurrency_limit))
        try:
            return await anyio.to_thread.run_sync(functools.partial(fn, *args, assistant=assistant),
                                                  limiter=limiter[0])
        except Exception as exc:  # noqa: BLE001 - the tool's edge: the caller gets one clear line (isError)
            raise ValueError(user_message(exc)) from exc

    @server.tool(name="chat", description=CHAT_DOC.format(document=document), structured_output=True)
    async def chat(
        question: Annotated[str, Field(description="The question in plain text; at most 2000 characters are used.")],
        history: Annotated[list | None, Field(description=(
            "Earlier turns for follow-up questions: the earlier answers this tool returned (best: each carries its "
            '"turn"), [question, answer] pairs, or {"role", "content"} messages; may be empty.'))] = None,
    ) -> ChatJSON:
        return await run(answer_json, question, history)

    @server.tool(name="search", description=search_doc(sections), structured_output=True)
    async def search(
        query: Annotated[str, Field(description=query_doc(sections))],
        k: Annotated[int, Field(description="How many sections to return, 1 to 50.")] = 5,
        mode: Annotated[Literal["hybrid", "dense", "lexical"], Field(description="How to rank.")] = "hybrid",
        code: Annotated[str, Field(description="Only sections whose code starts with this; empty for all.")] = "",
        label: Annotated[str, Field(description="Only sections with this label; empty for all.")] = "",
        kind: Annotated[list[Literal["card", "source", "overview", "tags"]] | None, Field(
            description="Only sections of these kinds; empty for all.")] = None,
    ) -> SearchJSON:
        return await run(search_json, query, k, mode, code, label, kind)

    @server.tool(name="feedback", description=FEEDBACK_DOC, structured_output=True)
    async def feedback(
        answer_id: Annotated[str, Field(description='The "id" of an answer the chat tool returned.')],
        liked: Annotated[bool, Field(description="true for a thumbs up, false for a thumbs down.")],
        ctx: Context,
        comment: Annotated[str, Field(description="What was wrong or right (optional; 1000 characters kept).")] = "",
    ) -> FeedbackJSON:
        client = peer(getattr(ctx.request_context, "request", None))
        try:
            return await anyio.to_thread.run_sync(functools.partial(
                feedback_json, answer_id, liked, comment, assistant=assistant, client=client))
        except Exception as exc:  # noqa: BLE001 - the tool's edge: the caller gets one clear line (isError)
            raise ValueError(user_message(exc)) from exc

    server.streamable_http_app()  # creates the session manager that McpMount hands requests to
    return server


def lifespan(server):
    """A lifespan for the web app that runs the MCP session manager (Gradio passes it `app`)."""

    @contextlib.asynccontextmanager
    async def run(app):
        async with server.session_manager.run():
            yield

    return run


def _basic_credentials(scope) -> tuple[str, str] | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == b"authorization":
            scheme, _, encoded = value.decode("latin-1").partition(" ")
            if scheme.lower() != "basic":
                return None
            try:
                user, sep, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None
            return (user, password) if sep else None
    return None


class McpMount:
    """ASGI middleware: requests under /gradio_api/mcp go to the MCP server, after a login check when guarded."""

    def __init__(self, app, server, guard: LoginGuard | None = None):
        self.app, self.server, self.guard = app, server, guard

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == MCP_PATH or path.startswith(MCP_PATH + "/")):
            await self.app(scope, receive, send)
            return
        if self.guard is not None:
            credentials = _basic_credentials(scope)
            try:
                ok = credentials is not None and await self.guard.login(client_address(scope), *credentials)
            except TooManyAttempts as exc:
                await send_too_many(send, exc)
                return
            if not ok:
                await send_json(send, 401, {"detail": "MCP needs HTTP Basic credentials of a user in the server's "
                                                      "auth file (Authorization: Basic base64(user:password))."},
                                {"WWW-Authenticate": 'Basic realm="consensus-chat MCP"'})
                return
        await self.server.session_manager.handle_request(scope, receive, send)
