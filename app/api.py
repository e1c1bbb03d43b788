"""The two functions other programs call: answer a question (/chat) and search the sections (/search).

Gradio's HTTP API (`gr.api`) and the MCP server (app/mcp_server.py) both serve them. The returned objects are exactly
`Answer.to_dict()` and `SearchResult.to_dict()`, the shapes of `ask --json` and `search --json`; the TypedDicts
below describe them so that Gradio's `view_api()` and the MCP output schema document real types instead of `Any`.
"""

# No `from __future__ import annotations` here: Gradio and the MCP library read these annotations at run time, and
# a string annotation shows up as `Any`.

import logging
from typing import Any

from typing_extensions import TypedDict  # pydantic (MCP output schema) needs these on Python < 3.12

from consensus_chat.ingest.errors import ConsensusChatError
from consensus_chat.retriever.clean import clean_query

from .memory import as_messages
from .render import plain_history

log = logging.getLogger(__name__)


class CitationJSON(TypedDict):
    """One [n] marker of an answer and the sentence it supports (`Citation.to_dict()`)."""

    n: int
    id: str
    code: str | None
    label: str | None
    title: str
    parent: str | None
    citations: list[str]
    sentence: str


class HitJSON(TypedDict):
    """One section found for a query (`Hit.to_dict()`)."""

    id: str
    code: str | None
    label: str | None
    title: str
    parent: str | None
    kind: str
    score: float
    citations: list[str]
    text: str


class TurnJSON(TypedDict):
    """What an answer did, for the next question's follow-ups (`Turn.to_dict()`): send it back in `history`."""

    question: str
    resolved_question: str
    refused: bool
    cited: list[str]
    listed: list[str]
    listed_keys: list[str]


class ChatJSON(TypedDict):
    """An answer (`Answer.to_dict()`, the `ask --json` object); `id` names it when rating it (/feedback)."""

    id: str
    question: str
    resolved_question: str
    answer: str
    body: str
    refused: bool
    backend: str
    citations: list[CitationJSON]
    sources: list[HitJSON]
    flags: list[str]
    notices: list[str]
    turn: TurnJSON


class SearchJSON(TypedDict):
    """Sections for a query (`SearchResult.to_dict()`, the `search --json` object)."""

    query: str
    in_scope: bool
    hits: list[HitJSON]


class FeedbackJSON(TypedDict):
    """A stored vote: the answer's id, thumbs up (true) or down (false)."""

    id: str
    liked: bool
    stored: bool


def clean_question(question: Any, what: str = "question") -> str:
    """The question as the shared check leaves it (retriever.clean.clean_query); QueryError, a ValueError, if unusable.

    Cleaned here, at the edge, it is a CleanQuestion: the assistant and the search take it as it is."""
    if isinstance(question, bytes):
        raise ValueError(f"The {what} must be text, not bytes.")
    return clean_query(question, limit=None)[0]


def user_message(exc: BaseException) -> str:
    """One line for a caller; the library's messages already say what to do. Unexpected errors are logged."""
    if isinstance(exc, (ConsensusChatError, ValueError)):
        return str(exc) or type(exc).__name__
    log.error("unexpected error while answering", exc_info=exc)
    return f"internal error ({type(exc).__name__}); the server log has the details."


def answer_json(question: Any, history: Any = None, *, assistant) -> ChatJSON:
    """Answer one question; raise ValueError or ConsensusChatError on bad input."""
    return assistant.answer(clean_question(question), plain_history(as_messages(history))).to_dict()


def _text_filter(value: Any, what: str) -> list[str] | None:
    """A code prefix or label filter: None when empty, else a one-item list; ValueError when it is not short text."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 200:
        raise ValueError(f"{what} must be text of at most 200 characters, or empty for no filter.")
    return [value.strip()] if value.strip() else None


def _kinds(kind: Any) -> list[str] | None:
    if kind is None or kind == "" or kind == []:
        return None
    kinds = [kind] if isinstance(kind, str) else kind
    if not isinstance(kinds, list) or not all(isinstance(x, str) for x in kinds):
        raise ValueError("kind must be a section kind (card, source, overview, tags) or a list of them.")
    return kinds


def search_json(query: Any, k: Any = 5, mode: Any = "hybrid", code: Any = "", label: Any = "", kind: Any = None, *,
                assistant) -> SearchJSON:
    """Search the sections with the CLI's filters; raise ValueError or ConsensusChatError on bad input."""
    if not isinstance(mode, str):
        raise ValueError("mode must be one of hybrid, dense, lexical.")
    return assistant.retriever.search(clean_question(query, what="query"), k=k, mode=mode,
                                      codes=_text_filter(code, "code"), labels=_text_filter(label, "label"),
                                      kinds=_kinds(kind)).to_dict()


def feedback_json(answer_id: Any, liked: Any, comment: Any = "", *, assistant, client: str | None) -> FeedbackJSON:
    """Rate an answer the server gave; raise ValueError (unknown id, bad value, too many votes) or FeedbackError."""
    return assistant.feedback(answer_id, liked, comment or "", client=client)


def _api_error(exc: BaseException):
    """A gr.Error for API callers; its message is shown as HTML in the browser, so escape it."""
    import html

    import gradio as gr

    return gr.Error(html.escape(user_message(exc), quote=False), print_exception=False)


def chat_api(question: Any, history: Any = None, *, assistant) -> ChatJSON:
    """/chat: answer one question; raise gr.Error with a clear message on bad input."""
    try:
        return answer_json(question, history, assistant=assistant)
    except Exception as exc:  # noqa: BLE001 - API edge: the caller gets one clear message, the log the rest
        raise _api_error(exc) from exc


def search_api(query: Any, k: Any = 5, mode: Any = "hybrid", code: Any = "", label: Any = "", kind: Any = None, *,
               assistant) -> SearchJSON:
    """/search: search the sections; raise gr.Error with a clear message on bad input."""
    try:
        return search_json(query, k, mode, code, label, kind, assistant=assistant)
    except Exception as exc:  # noqa: BLE001 - API edge: the caller gets one clear message, the log the rest
        raise _api_error(exc) from exc


def feedback_api(answer_id: Any, liked: Any, comment: Any = "", *, assistant, client: str | None) -> FeedbackJSON:
    """/feedback: rate an answer; raise gr.Error with a clear message when the vote is refused."""
    try:
        return feedback_json(answer_id, liked, comment, assistant=assistant, client=client)
    except Exception as exc:  # noqa: BLE001 - API edge: the caller gets one clear message, the log the rest
        raise _api_error(exc) from exc


def document_name(sections) -> str:
    """How tool descriptions name the indexed document: its source record's title, if it has one."""
    source = next((s for s in sections if s.kind == "source"), None)
    return f"the document {source.title!r}" if source is not None and source.title else "the indexed document"


def doc_examples(sections) -> dict[str, str]:
    """Examples for the API and MCP descriptions, taken from the index itself: another page has other codes."""
    code = next((s.code for s in sections if s.kind == "card" and s.code), "")
    key = next((k for s in sections if s.kind == "card" for k in s.citations), "")
    prefix = code.rsplit(".", 1)[0] if code.count(".") else ""
    return {"code_example": f" such as {code}" if code else "",
            "prefix_example": f", e.g. {prefix}" if prefix else "",
            "key_example": f" such as {key}" if key else ""}


def query_doc(sections) -> str:
    """The description of a search query, with this index's own code and source key as examples."""
    return "Words, a question, a section code{code_example}, or a cited source key{key_example}.".format(
        **doc_examples(sections))


def search_doc(sections) -> str:
    """The /search and MCP search description for this index."""
    return SEARCH_DOC.format(document=document_name(sections), query=query_doc(sections), **doc_examples(sections))


CHAT_DOC = """Answer a question about {document}, citing its sections by code.

Args:
    question: The question in plain text; at most 2000 characters are used.
    history: Earlier turns for follow-up questions: the earlier answers this tool returned (best: each carries its "turn"), [question, answer] pairs, or {{"role", "content"}} messages; may be empty.
Returns:
    The answer: its "id" (pass it to the feedback tool to rate the answer), markdown with [n] markers and a numbered source list, "refused" (true when the document does not cover the question), the backend, the citations (one per [n] marker, with the supporting sentence), the sections used, flags, notices, and the "turn" (what this answer did) to send back in the next history.
"""

SEARCH_DOC = """Find the sections of {document} that speak to a query.

Args:
    query: {query}
    k: How many sections to return, 1 to 50.
    mode: "hybrid" (the default), "dense" or "lexical".
    code: Only sections whose code starts with this{prefix_example}; empty for all.
    label: Only sections with this label; empty for all.
    kind: Only sections of these kinds (card, source, overview, tags); empty for all.
Returns:
    The cleaned query, "in_scope" (false when the document may not cover the query) and the hits, best first.
"""


FEEDBACK_DOC = """Rate an answer this server gave: thumbs up or down, stored with its question, answer and sources.

Args:
    answer_id: The "id" of the answer, as the chat call returned it.
    liked: true for a thumbs up, false for a thumbs down.
    comment: What was wrong or right, in a few words (optional; at most 1000 characters are kept).
Returns:
    The answer's id, the vote, and "stored": true. A vote on an id the server never gave (or has forgotten) is refused.
"""


def endpoints(assistant) -> tuple:
    """(chat, search, feedback): functions with real signatures and docstrings that `gr.api` publishes."""
    import gradio as gr

    document = document_name(assistant.retriever.sections())

    def chat(question: str, history: list | None = None) -> ChatJSON:
        return chat_api(question, history, assistant=assistant)

    def search(query: str, k: int = 5, mode: str = "hybrid", code: str = "", label: str = "",
               kind: list[str] | None = None) -> SearchJSON:
        return search_api(query, k, mode, code, label, kind, assistant=assistant)

    def feedback(answer_id: str, liked: bool, comment: str = "", request: gr.Request = None) -> FeedbackJSON:
        return feedback_api(answer_id, liked, comment, assistant=assistant, client=peer(request))

    chat.__doc__ = CHAT_DOC.format(document=document)
    search.__doc__ = search_doc(assistant.retriever.sections())
    feedback.__doc__ = FEEDBACK_DOC
    return chat, search, feedback


def peer(request) -> str:
    """The caller's address as the server's socket saw it, for per-client limits."""
    client = getattr(request, "client", None)
    return str(getattr(client, "host", None) or "unknown")
