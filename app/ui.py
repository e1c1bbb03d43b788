"""The Gradio web chat: streamed answers with one source box per citation, filters, the document, and the API.

Every callback is a plain module-level function that takes the assistant as a keyword argument, so tests call
them directly. `build_ui(assistant)` binds them with `functools.partial`; `launch(...)` is called only by the CLI.

The same two functions serve the HTTP API and the MCP server:
  /chat    question (str), history (list, may be empty)  ->  the `ask --json` dict
  /search  query (str), k (int)                          ->  the `search --json` dict

Access control: `launch(..., auth_file=path)` turns on Gradio's login page. Each line of the file is
`user:password-hash`; make one with

    python -c "from app.ui import hash_password; print('alice:' + hash_password('secret'))"

Hashes are `pbkdf2_sha256$<iterations>$<salt_b64>$<hash_b64>` (what `hash_password` writes) or `sha256$<hex>`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import logging
import re
import secrets
import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from ingest.errors import ConsensusChatError

log = logging.getLogger(__name__)

EXAMPLES = (
    "Which sections cite Turpin?",
    "What is the code of the metrology section?",
    "Who wrote the Singapore Consensus, and when?",
    "How can we tell whether a model's stated reasoning is faithful?",
)
ANY_LABEL = "(any label)"
SOURCE_ICON = "📄"
NEAREST_ICON = "🔎"
ERROR_PREFIX = "⚠️ **Can't answer that:**"
REFUSAL_HEADING = "### ⚠️ Not covered by the document"
DISPLAY_LIMIT = 2000  # characters of a question echoed back into the chat; the retriever also uses at most 2000
MAX_HISTORY_PAIRS = 20
PBKDF2_ITERATIONS = 600_000
KIND_ORDER = {"card": 0, "source": 1, "overview": 2, "tags": 3}
KIND_HEADINGS = {"source": "Source record", "overview": "Overview", "tags": "Tags"}


class AuthFileError(ConsensusChatError):
    """The --auth-file is missing, unreadable or has a line that is not `user:password-hash`."""


# --------------------------------------------------------------------------------------------------------------
# Escaping: the Chatbot renders markdown and sanitizes HTML; we still escape what users and documents supply, so
# that hostile text shows up as text instead of being dropped or interpreted.

_MD_INLINE = re.compile(r"([\\`*_\[\]~$|])")
_MD_LINE_START = re.compile(r"^([ \t]*)([#+\-=]|\d+[.)](?=\s|$))", re.MULTILINE)
_MD_UNESCAPE = re.compile(r"\\([\\`*_\[\]~$|#+\-=.)])")
_UNSAFE_LINK = re.compile(r"\]\(\s*(?!https?://|#)")


def escape_text(text: str) -> str:
    """Make any text render literally in markdown: HTML entities for & < >, backslashes where markdown would act."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_INLINE.sub(r"\\\1", text)
    # Block syntax only acts at the start of a line: headings, lists, setext underlines.
    return _MD_LINE_START.sub(lambda m: m.group(1) + m.group(2)[:-1] + "\\" + m.group(2)[-1], text)


def unescape_text(text: str) -> str:
    """The inverse of `escape_text`."""
    text = _MD_UNESCAPE.sub(r"\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def safe_markdown(markdown: str) -> str:
    """Keep the markdown of an answer but turn raw HTML into text and defuse links that are not http(s)."""
    markdown = markdown.replace("&", "&amp;").replace("<", "&lt;")
    return _UNSAFE_LINK.sub("\\](", markdown)


def _error_message(exc: BaseException) -> str:
    """One line for a user; the library's messages already say what to do."""
    if isinstance(exc, (ConsensusChatError, ValueError)):
        return str(exc) or type(exc).__name__
    return f"internal error ({type(exc).__name__}); the server log has the details."


def _api_error(exc: BaseException) -> gr.Error:
    """A gr.Error for API callers; its message is shown as HTML in the browser, so escape it."""
    if not isinstance(exc, (ConsensusChatError, ValueError)):
        log.exception("unexpected error in an API call")
    message = _error_message(exc).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return gr.Error(message, print_exception=False)


# --------------------------------------------------------------------------------------------------------------
# Input checks


def clean_question(question: Any, what: str = "question") -> str:
    """Return the question without control characters, or raise ValueError with a message for the user."""
    if isinstance(question, bytes):
        raise ValueError(f"The {what} must be text, not bytes.")
    if not isinstance(question, str):
        raise ValueError(f"The {what} must be text, not {type(question).__name__}.")
    cleaned = "".join(
        ch if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs", "Co", "Cn") else " " for ch in question
    )
    cleaned = cleaned.strip()
    if not cleaned:
        raise ValueError(f"The {what} is empty: type a question about the document, e.g. {EXAMPLES[0]!r}.")
    return cleaned


def _message_text(content: Any) -> str:
    """The text of a chat message's content, whether Gradio gave a string or a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or "")
    if isinstance(content, (list, tuple)):
        return "\n".join(_message_text(part) for part in content if isinstance(part, (str, dict)))
    return ""


def history_pairs(history: Any) -> list[tuple[str, str]]:
    """Turn chat history (Gradio messages or [question, answer] pairs) into (user, assistant) text pairs.

    Source boxes (messages with a metadata title) and turns that ended in an error are skipped; text that this
    module escaped for display is unescaped.
    """
    if history is None:
        return []
    if not isinstance(history, (list, tuple)):
        raise ValueError('history must be a list of {"role", "content"} messages or [question, answer] pairs.')
    pairs: list[tuple[str, str]] = []
    user: str | None = None
    answer: list[str] = []

    def close() -> None:
        if user is not None and answer and not answer[0].startswith(ERROR_PREFIX):
            pairs.append((user, "\n\n".join(answer)))

    for item in history:
        if isinstance(item, (list, tuple)):
            if len(item) != 2 or not all(isinstance(x, (str, type(None))) for x in item):
                raise ValueError("each history pair must be [question, answer] with two strings.")
            close()
            user, answer = None, []
            if item[0] and item[1]:
                pairs.append((item[0], item[1]))
            continue
        if not isinstance(item, dict) or "role" not in item:
            raise ValueError('each history message must be a {"role", "content"} object or a [question, answer] pair.')
        metadata = item.get("metadata") or {}
        if isinstance(metadata, dict) and metadata.get("title"):
            continue  # a source box
        text = _message_text(item.get("content"))
        if item["role"] == "user":
            close()
            user, answer = unescape_text(text), []
        elif item["role"] == "assistant" and user is not None and text:
            answer.append(unescape_text(text))
    close()
    return pairs[-MAX_HISTORY_PAIRS:]


def _filters(state: Any) -> tuple[list[str] | None, list[str] | None]:
    """codes= and labels= for the assistant from the UI's filter state."""
    state = state if isinstance(state, dict) else {}
    code = str(state.get("code") or "").strip()
    label = str(state.get("label") or "").strip()
    return ([code] if code else None), ([label] if label and label != ANY_LABEL else None)


def update_filters(code: str | None, label: str | None) -> dict:
    """The filter state for the next questions."""
    return {"code": (code or "").strip(), "label": "" if not label or label == ANY_LABEL else label}


# --------------------------------------------------------------------------------------------------------------
# Rendering answers


def _display_question(question: str) -> str:
    shown = question if len(question) <= DISPLAY_LIMIT else question[:DISPLAY_LIMIT]
    text = escape_text(shown)
    if len(question) > DISPLAY_LIMIT:
        text += f"\n\n*… ({len(question) - DISPLAY_LIMIT} more characters not shown)*"
    return text


def _find(text: str, sentence: str) -> tuple[int, int] | None:
    """Where `sentence` is in `text`, allowing for re-spaced whitespace."""
    at = text.find(sentence)
    if at >= 0:
        return at, at + len(sentence)
    words = sentence.split()
    match = re.search(r"\s+".join(map(re.escape, words)), text) if words else None
    return (match.start(), match.end()) if match else None


def highlight(text: str, sentences: str | Sequence[str]) -> str:
    """The section text, escaped, with each supporting sentence wrapped in <mark>."""
    sentences = [sentences] if isinstance(sentences, str) else list(sentences)
    spans, missing = [], []
    for sentence in dict.fromkeys(s for s in sentences if s):
        span = _find(text, sentence)
        if span is None:
            missing.append(sentence)
        elif not any(span[0] < end and start < span[1] for start, end in spans):
            spans.append(span)
    out, pos = [], 0
    for start, end in sorted(spans):
        out += [escape_text(text[pos:start]), "<mark>", escape_text(text[start:end]), "</mark>"]
        pos = end
    out.append(escape_text(text[pos:]))
    # A sentence the text does not contain verbatim is still shown, above the text.
    prefix = "".join(f"<mark>{escape_text(s)}</mark>\n\n" for s in missing)
    return prefix + "".join(out)


def _code_label(code: str | None, label: str | None) -> str:
    return " ".join(x for x in (code, label) if x)


def source_title(citation) -> str:
    """'📄 [1] 2.2.1 Risk Assessment — Risk Assessment › System safety assessment'."""
    head = _code_label(citation.code, citation.label)
    heading = f"{citation.parent} › {citation.title}" if citation.parent else citation.title
    return escape_text(f"{SOURCE_ICON} [{citation.n}] " + (f"{head} — " if head else "") + heading)


def _box_body(code, label, heading, keys, text, sentences: Sequence[str] = ()) -> str:
    lines = []
    if code or label:
        lines.append(f"**Code:** {escape_text(code or '—')} · **Label:** {escape_text(label or '—')}  ")
    lines.append(f"**Section:** {escape_text(heading)}  ")
    if keys:
        lines.append(f"**Sources cited:** {escape_text(', '.join(keys))}")
    return "\n".join(lines) + "\n\n" + highlight(text, sentences)


def source_messages(answer) -> list[dict]:
    """One collapsible box per cited section (or per nearest section for a refusal)."""
    hits = {hit.id: hit for hit in answer.sources}
    by_n: dict[int, list] = {}
    for c in answer.citations:  # a section cited by several sentences gets one box with each sentence marked
        by_n.setdefault(c.n, []).append(c)
    boxes = []
    for group in by_n.values():
        c = group[0]
        hit = hits.get(c.id)
        heading = f"{c.parent} › {c.title}" if c.parent else c.title
        sentences = [x.sentence for x in group]
        text = hit.text if hit is not None else " ".join(dict.fromkeys(sentences))
        boxes.append({"role": "assistant", "metadata": {"title": source_title(c), "status": "done"},
                      "content": _box_body(c.code, c.label, heading, c.citations, text, sentences)})
    if answer.refused:
        for hit in answer.sources[:3]:
            head = _code_label(hit.code, hit.label) or KIND_HEADINGS.get(hit.kind, hit.kind)
            title = escape_text(f"{NEAREST_ICON} Nearest: {head} — {hit.heading}")
            boxes.append({"role": "assistant", "metadata": {"title": title, "status": "done"},
                          "content": _box_body(hit.code, hit.label, hit.heading, hit.citations, hit.text)})
    return boxes


def answer_markdown(answer) -> str:
    """The answer as chat markdown: the body with [n] markers, or a notice-style refusal."""
    notices = "".join(f"\n\n> ℹ️ {escape_text(n)}" for n in answer.notices)
    if answer.refused:
        quoted = "\n".join("> " + line if line.strip() else ">" for line in safe_markdown(answer.text).splitlines())
        return f"{REFUSAL_HEADING}\n\n{quoted}{notices}"
    body = safe_markdown(answer.body or answer.text)
    if answer.citations:
        firsts = {c.n: c for c in reversed(answer.citations)}
        body += "\n\n*Sources: " + " · ".join(
            escape_text(f"[{n}] {c.code or c.title}") for n, c in sorted(firsts.items())) + " (open the boxes below)*"
    return body + notices


def answer_messages(answer) -> list[dict]:
    """The assistant's messages for one finished answer: the answer, then its source boxes."""
    return [{"role": "assistant", "content": answer_markdown(answer)}, *source_messages(answer)]


def respond(message: Any, history: list | None, state: dict | None, *, assistant) -> Iterator[list[dict]]:
    """Stream one answer into the chat: yields the whole message list as it grows, ending with the source boxes."""
    history = list(history or [])
    try:
        question = clean_question(message)
    except ValueError as exc:
        yield history + [{"role": "assistant", "content": f"{ERROR_PREFIX} {escape_text(str(exc))}"}]
        return
    turn = history + [{"role": "user", "content": _display_question(question)}]
    yield turn + [{"role": "assistant", "content": "*Searching the document…*"}]
    codes, labels = _filters(state)
    try:
        final = None
        for part in assistant.stream(question, history_pairs(history), codes=codes, labels=labels):
            if isinstance(part, str):
                yield turn + [{"role": "assistant", "content": safe_markdown(part) + " ▌"}]
            else:
                final = part
        if final is None:
            raise RuntimeError("the assistant finished without an answer")
    except Exception as exc:  # noqa: BLE001 - the edge of the UI: the user gets one line, the log gets the rest
        if not isinstance(exc, (ConsensusChatError, ValueError)):
            log.exception("unexpected error while answering %r", question[:200])
        yield turn + [{"role": "assistant", "content": f"{ERROR_PREFIX} {escape_text(_error_message(exc))}"}]
        return
    yield turn + answer_messages(final)


def stash_question(message: Any) -> tuple[str, Any]:
    """Clear the textbox and hand the question on to `respond`."""
    return "", message


def pick_example(question: str) -> str:
    """An example button's question, handed on to `respond`."""
    return question


def clear_chat() -> list:
    """A new conversation."""
    return []


# --------------------------------------------------------------------------------------------------------------
# The document and about panels


def _code_key(code: str | None) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"[.\s]+", code or "") if p)


def sort_sections(sections: Sequence) -> list:
    """Cards by code (document order within a code), then the source record, the overview and the tags."""
    indexed = list(enumerate(sections))
    indexed.sort(key=lambda t: (KIND_ORDER.get(t[1].kind, 9), _code_key(t[1].code) if t[1].kind == "card" else (),
                                t[0]))
    return [s for _, s in indexed]


def _matches(section, needle: str) -> bool:
    haystack = " ".join([section.code or "", section.label or "", section.title, section.parent or "", section.text,
                         " ".join(section.citations), " ".join(section.authors)]).lower()
    return all(word in haystack for word in needle.lower().split())


def document_markdown(sections: Sequence, query: str | None = "") -> str:
    """Every section grouped by code, filtered by the words of `query` (plain case-insensitive match)."""
    query = (query or "").strip()[:200]
    shown = [s for s in sort_sections(sections) if not query or _matches(s, query)]
    count = (f"{len(shown)} of {len(sections)} sections match **{escape_text(query)}**." if query
             else f"{len(sections)} sections.")
    if not shown:
        return count + " Try fewer or other words."
    out = [count]
    group = None
    for s in shown:
        key = (s.code, s.label) if s.kind == "card" else s.kind
        if key != group:
            group = key
            heading = _code_label(s.code, s.label) if s.kind == "card" else KIND_HEADINGS.get(s.kind, s.kind)
            out.append(f"### {escape_text(heading)}")
        keys = f"  \n*Cites:* {escape_text(', '.join(s.citations))}" if s.citations else ""
        text = s.text if len(s.text) <= 1500 else s.text[:1500] + " …"
        out.append(f"**{escape_text(s.heading)}**{keys}\n\n{escape_text(text)}")
    return "\n\n".join(out)


def filter_document(query: str | None, *, sections: Sequence) -> str:
    """The Document tab's list for a search box value."""
    return document_markdown(sections, query if isinstance(query, str) else "")


def about_markdown(sections: Sequence, backend: str = "") -> str:
    """The report's source record: title, authors, year and abstract."""
    source = next((s for s in sections if s.kind == "source"), None)
    if source is None:
        return "The index has no source record."
    lines = [f"## {escape_text(source.title)}"]
    if source.year:
        lines.append(f"**Year:** {source.year}")
    if source.authors:
        lines.append(f"**Authors ({len(source.authors)}):** {escape_text('; '.join(source.authors))}")
    lines.append("**Abstract**\n\n" + escape_text(source.text))
    if backend:
        lines.append(f"*Answers come from the `{escape_text(backend)}` backend; every [n] marker links a sentence "
                     "to the section it came from.*")
    return "\n\n".join(lines)


def section_labels(sections: Sequence) -> list[str]:
    """The distinct labels of the cards, sorted."""
    return sorted({s.label for s in sections if s.kind == "card" and s.label})


# --------------------------------------------------------------------------------------------------------------
# The API (/chat and /search, also MCP tools)


def chat_api(question: Any, history: Any = None, *, assistant) -> dict:
    """Answer one question; raise gr.Error with a clear message on bad input."""
    try:
        cleaned = clean_question(question)
        return assistant.answer(cleaned, history_pairs(history)).to_dict()
    except Exception as exc:  # noqa: BLE001 - API edge: the caller gets one clear message
        raise _api_error(exc) from None


def search_api(query: Any, k: Any = 5, *, assistant) -> dict:
    """Search the sections; raise gr.Error with a clear message on bad input."""
    try:
        cleaned = clean_question(query, what="query")
        if isinstance(k, bool) or not isinstance(k, (int, float)) or int(k) != k:
            raise ValueError(f"k must be a whole number between 1 and 50, not {k!r}.")
        return assistant.retriever.search(cleaned, k=int(k)).to_dict()
    except Exception as exc:  # noqa: BLE001 - API edge: the caller gets one clear message
        raise _api_error(exc) from None


# --------------------------------------------------------------------------------------------------------------
# Building and launching

CSS = """
#chatbot mark { background: #fde68a; color: inherit; padding: 0 .1em; }
.backend-note { font-size: .9em; opacity: .85; }
"""


def build_ui(assistant, *, concurrency_limit: int = 4) -> gr.Blocks:
    """The whole app: chat with filters and examples, the Document tab, About, and the /chat and /search API."""
    sections = list(assistant.retriever.sections())
    labels = section_labels(sections)
    run = functools.partial(respond, assistant=assistant)
    events = dict(api_visibility="private", concurrency_id="assistant", concurrency_limit=concurrency_limit)

    with gr.Blocks(title="consensus-chat", fill_height=True) as demo:
        filters = gr.State(update_filters("", ANY_LABEL))
        pending = gr.State("")
        gr.Markdown("# consensus-chat\nAsk the research-priorities document. Answers cite sections by code, "
                    "with the supporting sentence highlighted in each source box.")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                with gr.Row():
                    with gr.Column(scale=3):
                        chatbot = gr.Chatbot(label="Conversation", elem_id="chatbot", height=560,
                                             sanitize_html=True, allow_tags=False, render_markdown=True,
                                             feedback_options=None, group_consecutive_messages=False,
                                             placeholder="Ask a question, or pick an example on the right.")
                        with gr.Row():
                            box = gr.Textbox(show_label=False, placeholder="Ask about the document…", lines=1,
                                             max_lines=6, scale=5, elem_id="question", autofocus=True)
                            ask = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                        new = gr.Button("New conversation", size="sm")
                    with gr.Column(scale=1, min_width=260):
                        with gr.Accordion("Filters for the next questions", open=True):
                            code = gr.Textbox(label="Code starts with", placeholder="e.g. 2.2", max_lines=1)
                            label = gr.Dropdown(choices=[ANY_LABEL, *labels], value=ANY_LABEL, label="Label")
                        gr.Markdown(f"**Answer backend:** `{escape_text(assistant.backend)}`",
                                    elem_classes="backend-note", elem_id="backend")
                        gr.Markdown("**Try asking**")
                        example_buttons = [gr.Button(q, size="sm") for q in EXAMPLES]
            with gr.Tab("Document", id="document"):
                doc_query = gr.Textbox(label="Search the sections", placeholder="e.g. Turpin, 2.2.1, metrology",
                                       max_lines=1, elem_id="doc-search")
                doc = gr.Markdown(document_markdown(sections), elem_id="document")
            with gr.Tab("About", id="about"):
                gr.Markdown(about_markdown(sections, assistant.backend), elem_id="about")

        for trigger in (box.submit, ask.click):
            trigger(stash_question, [box], [box, pending], api_visibility="private", queue=False).then(
                run, [pending, chatbot, filters], [chatbot], **events)
        for button, question in zip(example_buttons, EXAMPLES):
            button.click(functools.partial(pick_example, question), None, [pending], api_visibility="private",
                         queue=False).then(run, [pending, chatbot, filters], [chatbot], **events)
        new.click(clear_chat, None, [chatbot], api_visibility="private", queue=False)
        code.change(update_filters, [code, label], [filters], api_visibility="private", queue=False)
        label.change(update_filters, [code, label], [filters], api_visibility="private", queue=False)
        doc_query.change(functools.partial(filter_document, sections=sections), [doc_query], [doc],
                         api_visibility="private", queue=False)

        # Closures with real signatures and docstrings: gr.api and the MCP server read both.
        def chat(question: str, history: list | None = None) -> dict:
            """Answer a question about the AI-safety research-priorities document, citing sections by code.

            Args:
                question: The question in plain text; at most 2000 characters are used.
                history: Earlier turns for follow-up questions, as [question, answer] pairs or {"role", "content"} messages; may be empty.
            Returns:
                {"answer": markdown with [n] markers and a numbered source list, "refused": true when the document does not cover the question, "backend", "citations": [{"n", "id", "code", "label", "title", "citations", "sentence"}], "sources": the sections used, "flags", "notices"}
            """
            return chat_api(question, history, assistant=assistant)

        def search(query: str, k: int = 5) -> dict:
            """Find the sections of the AI-safety research-priorities document that speak to a query.

            Args:
                query: Words, a question, a section code such as 2.2.1, or a cited source key such as Turpin.
                k: How many sections to return, 1 to 50.
            Returns:
                {"query", "in_scope": false when the document may not cover the query, "hits": [{"id", "code", "label", "title", "parent", "kind", "score", "citations", "text"}]}
            """
            return search_api(query, k, assistant=assistant)

        gr.api(chat, api_name="chat", concurrency_id="assistant", concurrency_limit=concurrency_limit)
        gr.api(search, api_name="search", concurrency_id="assistant", concurrency_limit=concurrency_limit)
    return demo


# --------------------------------------------------------------------------------------------------------------
# Passwords


def _b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _b64decode(text: str) -> bytes:
    text = text.strip().replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def hash_password(password: str, *, iterations: int = PBKDF2_ITERATIONS, salt: bytes | None = None) -> str:
    """A `pbkdf2_sha256$<iterations>$<salt_b64>$<hash_b64>` hash for an --auth-file line.

    Make a line with:  python -c "from app.ui import hash_password; print('alice:' + hash_password('secret'))"
    """
    if not isinstance(password, str) or not password:
        raise ValueError("The password must be a non-empty string.")
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return f"pbkdf2_sha256${iterations}${_b64encode(salt)}${_b64encode(digest)}"


def _check_hash(stored: str) -> None:
    """Raise ValueError when `stored` is not a hash this module can verify."""
    scheme, _, rest = stored.partition("$")
    if scheme == "pbkdf2_sha256":
        parts = rest.split("$")
        if len(parts) != 3 or not parts[0].isdigit() or int(parts[0]) < 1:
            raise ValueError("expected pbkdf2_sha256$<iterations>$<salt_b64>$<hash_b64>")
        try:
            if not _b64decode(parts[2]):
                raise ValueError("empty hash")
            _b64decode(parts[1])
        except ValueError as exc:
            raise ValueError(f"the salt or hash is not base64 ({exc})") from None
    elif scheme == "sha256":
        if not re.fullmatch(r"[0-9a-fA-F]{64}", rest):
            raise ValueError("expected sha256$<64 hex digits>")
    else:
        raise ValueError(f"unknown hash scheme {scheme!r}; use pbkdf2_sha256 (see app.ui.hash_password) or sha256")


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches a stored pbkdf2_sha256 or sha256 hash (constant-time comparison)."""
    if not isinstance(password, str):
        return False
    scheme, _, rest = stored.partition("$")
    if scheme == "pbkdf2_sha256":
        iterations, salt, expected = rest.split("$")
        digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), _b64decode(salt), int(iterations))
        return hmac.compare_digest(digest, _b64decode(expected))
    if scheme == "sha256":
        return hmac.compare_digest(hashlib.sha256(password.encode("utf-8")).hexdigest(), rest.lower())
    return False


def load_auth_file(path: str | Path) -> dict[str, str]:
    """Read `user:password-hash` lines (blank lines and # comments allowed); raise AuthFileError naming the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AuthFileError(f"The auth file {path} does not exist. Create it with lines of user:password-hash "
                            "(see `python -c \"from app.ui import hash_password; print('alice:' + "
                            "hash_password('secret'))\"`).") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AuthFileError(f"Cannot read the auth file {path}: {exc}.") from None
    users: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, stored = line.partition(":")
        user, stored = user.strip(), stored.strip()
        if not sep or not user or not stored:
            raise AuthFileError(f"{path}, line {number}: expected user:password-hash.")
        try:
            _check_hash(stored)
        except ValueError as exc:
            raise AuthFileError(f"{path}, line {number}: {exc}.") from None
        if user in users:
            raise AuthFileError(f"{path}, line {number}: user {user!r} appears twice.")
        users[user] = stored
    if not users:
        raise AuthFileError(f"The auth file {path} has no user:password-hash lines; add at least one.")
    return users


def check_login(username: str, password: str, *, users: dict[str, str]) -> bool:
    """Gradio's auth callback: True when the user exists and the password matches its hash."""
    stored = users.get(username) if isinstance(username, str) else None
    if stored is None:
        # Spend the same time as a real check so that timing does not reveal which users exist.
        hashlib.pbkdf2_hmac("sha256", str(password).encode("utf-8"), b"consensus-chat", PBKDF2_ITERATIONS)
        return False
    return verify_password(password, stored)


def launch(assistant, host: str = "127.0.0.1", port: int = 7860, auth_file: str | Path | None = None, **kw):
    """Build the app and serve it on host:port (loopback by default) until interrupted; never shares publicly.

    Extra keyword arguments go to `Blocks.launch` (share and allowed_paths are refused).
    """
    for forbidden in ("share", "allowed_paths"):
        if kw.pop(forbidden, None):
            raise ValueError(f"launch() does not support {forbidden}=; the app serves only its own assets locally.")
    users = load_auth_file(auth_file) if auth_file else None
    concurrency = int(kw.pop("concurrency_limit", 4))
    demo = build_ui(assistant, concurrency_limit=concurrency)
    demo.queue(max_size=kw.pop("max_queue_size", 512), default_concurrency_limit=concurrency)
    options = dict(
        server_name=host, server_port=port, share=False, show_error=False, quiet=True, mcp_server=True,
        ssr_mode=False, pwa=False, enable_monitoring=False, run_history=False, max_file_size="1mb",
        footer_links=["api", "settings"], prevent_thread_lock=True, css=CSS, auth_message=None,
    )
    if users is not None:
        options["auth"] = functools.partial(check_login, users=users)
        options["auth_message"] = "consensus-chat: sign in with an account from the server's auth file."
        # Gradio's MCP server lists its tools without a login and cannot log in to run them, so it stays off.
        options["mcp_server"] = False
    options.update(kw)
    _, local_url, _ = demo.launch(**options)
    print(f"consensus-chat is serving on {local_url} (bound to {host}:{demo.server_port})", flush=True)
    if options["mcp_server"]:
        print(f"  API: /chat and /search; MCP (streamable HTTP): {local_url.rstrip('/')}/gradio_api/mcp/", flush=True)
    else:
        print("  API: /chat and /search; MCP is off", flush=True)
    if users is not None:
        print(f"  Login required: {len(users)} user(s) from {auth_file} (so MCP is off)", flush=True)
    try:
        demo.block_thread()
    finally:
        demo.close(verbose=False)
