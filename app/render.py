"""Turn answers into chat markdown, and chat messages back into plain text.

The Chatbot renders markdown and sanitizes HTML; we still escape what users and documents supply, so that hostile
text shows up as text instead of being dropped or interpreted. Nothing here imports Gradio.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

# No emoji: a machine without a colour-emoji font shows them as empty boxes.
ERROR_PREFIX = "**Can't answer that:**"
REFUSAL_LEAD = "**Not covered by the document.**"  # how the page begins a refusal (app/memory.py reads it back)
REFUSAL_LINE = f"{REFUSAL_LEAD} Nothing in it answers this question, so there is nothing to cite."
DISPLAY_LIMIT = 2000  # characters of a question echoed back into the chat; the retriever also uses at most 2000
MAX_HISTORY_TURNS = 20

# --------------------------------------------------------------------------------------------------------------
# Escaping

_MD_INLINE = re.compile(r"([\\`*_\[\]~$|])")
_MD_LINE_START = re.compile(r"^([ \t]*)([#+\-=]|\d+[.)](?=\s|$))", re.MULTILINE)
_MD_UNESCAPE = re.compile(r"\\([\\`*_\[\]~$|#+\-=.):@])")
_LINK_SYNTAX = re.compile(r"([\\\[\]])")  # backslashes too, or "\\[x](url)" would still be a link
# What GFM turns into a link by itself: "http://…", "www.…" and "name@host". A backslash before the ":", "." or "@"
# (markdown escapes, shown as the bare character) keeps them text.
_AUTOLINK = re.compile(r"(?i)(?<=[a-z0-9])(:)(?=//)|(?<![\w.])(www)(\.)|(?<=[\w.+-])(@)(?=[\w-]+\.)")


def _no_autolinks(text: str) -> str:
    return _AUTOLINK.sub(lambda m: "\\:" if m.group(1) else ("www\\." if m.group(2) else "\\@"), text)


def escape_text(text: str) -> str:
    """Make any text render literally in markdown: HTML entities for & < >, backslashes where markdown would act.

    No link or image survives: brackets are escaped and bare URLs and addresses are kept from becoming links.
    """
    text = _no_autolinks(_MD_INLINE.sub(r"\\\1", html.escape(text, quote=False)))
    # Block syntax only acts at the start of a line: headings, lists, setext underlines.
    return _MD_LINE_START.sub(lambda m: m.group(1) + m.group(2)[:-1] + "\\" + m.group(2)[-1], text)


def unescape_text(text: str) -> str:
    """The inverse of `escape_text`."""
    return html.unescape(_MD_UNESCAPE.sub(r"\1", text))


def safe_markdown(markdown: str) -> str:
    """Keep the formatting of an answer (bold, lists, quotes) but show raw HTML, links and images as text.

    An answer quotes document text and, with an LLM backend, text a prompt injection may have shaped: an image or a
    link in it would make the browser fetch (or the reader follow) an outside URL, possibly carrying data in it.
    """
    # Not html.escape: a ">" at the start of a line is a markdown blockquote and must stay one.
    markdown = markdown.replace("&", "&amp;").replace("<", "&lt;")
    return _no_autolinks(_LINK_SYNTAX.sub(r"\\\1", markdown))


def display_question(question: str) -> str:
    """The user's question as shown in the chat: escaped, and cut at DISPLAY_LIMIT characters."""
    text = escape_text(question[:DISPLAY_LIMIT])
    if len(question) > DISPLAY_LIMIT:
        text += f"\n\n*… ({len(question) - DISPLAY_LIMIT} more characters not shown)*"
    return text


def error_markdown(message: str) -> str:
    """A chat message for a question that could not be answered."""
    return f"{ERROR_PREFIX} {escape_text(message)}"


# --------------------------------------------------------------------------------------------------------------
# Source boxes


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


def code_label(code: str | None, label: str | None) -> str:
    """'5.1.1 Monitoring & Response', or whichever of the two exists."""
    return " ".join(x for x in (code, label) if x)


def shown_heading(label: str | None, parent: str | None, title: str) -> str:
    """'Parent › Title', without a parent that only repeats the label shown beside it."""
    return f"{parent} › {title}" if parent and parent != label else title


def section_line(code: str | None, label: str | None, parent: str | None, title: str) -> str:
    """'5.2.1 Other — Incident Reporting › Near-miss reporting', never 'Governance — Governance › …'."""
    head, name = code_label(code, label), shown_heading(label, parent, title)
    if head and name == label:
        return head  # a card titled by its label: '6.3 Governance'
    return (f"{head} — " if head else "") + name


def anchor(section_id: str) -> str:
    """The HTML id of a section in the Document tab; refusals link to it."""
    return "doc-" + re.sub(r"[^A-Za-z0-9_-]", "-", section_id)


def source_title(citation) -> str:
    """'[1] 5.2.1 Other — Incident Reporting › Near-miss reporting', as HTML text for a <summary>."""
    line = section_line(citation.code, citation.label, citation.parent, citation.title)
    return html.escape(f"[{citation.n}] {line}", quote=False)


def _box_body(code, label, title_line, keys, text, sentences: Sequence[str] = ()) -> str:
    lines = []
    if code or label:
        lines.append(f"**Code:** {escape_text(code or '—')} · **Label:** {escape_text(label or '—')}  ")
    lines.append(f"**Section:** {escape_text(title_line)}  ")
    if keys:
        lines.append(f"**Sources cited:** {escape_text(', '.join(keys))}")
    return "\n".join(lines) + "\n\n" + highlight(text, sentences)


def source_boxes(answer) -> str:
    """One closed <details> box per cited section, each sentence it supports highlighted; '' without citations.

    The boxes sit inside the answer's own message, so the answer and its sources read as one; markdown between the
    tags still renders because each tag stands on its own line between blank lines.
    """
    hits = {hit.id: hit for hit in answer.sources}
    by_n: dict[int, list] = {}
    for c in answer.citations:  # a section cited by several sentences gets one box with each sentence marked
        by_n.setdefault(c.n, []).append(c)
    boxes = []
    for group in by_n.values():
        c = group[0]
        hit = hits.get(c.id)
        sentences = [x.sentence for x in group]
        text = hit.text if hit is not None else " ".join(dict.fromkeys(sentences))
        body = _box_body(c.code, c.label, shown_heading(c.label, c.parent, c.title), c.citations, text, sentences)
        boxes.append(f'<details class="source">\n<summary>{source_title(c)}</summary>\n\n{body}\n\n</details>')
    return "\n\n".join(boxes)


def nearest_line(answer, limit: int = 3) -> str:
    """For a refusal: the nearest sections as one line of links to the Document tab; '' when there are none."""
    hits = [h for h in answer.sources if h.kind in ("card", "source")][:limit] or answer.sources[:limit]
    links = []
    for hit in hits:
        name = section_line(hit.code, hit.label, hit.parent, hit.title) if hit.code else hit.heading
        links.append(f"[{escape_text(name)}](#{anchor(hit.id)})")
    return "Nearest sections: " + " · ".join(links) if links else ""


def answer_markdown(answer) -> str:
    """The answer as chat markdown: the body with [n] markers, or a refusal: one line, then one line of the nearest
    sections (the refusal's own text names them too, so it is not shown again)."""
    notices = "".join(f"\n\n> **Note:** {escape_text(n)}" for n in answer.notices)
    if answer.refused:
        nearest = nearest_line(answer)
        return f"{REFUSAL_LINE}{notices}" + (f"\n\n{nearest}" if nearest else "")
    body = safe_markdown(answer.body or answer.text)
    if answer.citations:
        firsts = {c.n: c for c in reversed(answer.citations)}
        body += "\n\n*Sources: " + " · ".join(
            escape_text(f"[{n}] {c.code or c.title}") for n, c in sorted(firsts.items())) + " (open a source below)*"
    return body + notices


def answer_message(answer) -> dict:
    """The assistant's one message for a finished answer: the answer, then its closed source boxes."""
    boxes = source_boxes(answer)
    return {"role": "assistant", "content": answer_markdown(answer) + (f"\n\n{boxes}" if boxes else "")}


# --------------------------------------------------------------------------------------------------------------
# Back from the chat: the history as plain messages for the assistant


_BOXES = re.compile(r'\s*<details class="source">.*?</details>', re.DOTALL)


def message_text(content: Any) -> str:
    """The text of a chat message's content, whether Gradio gave a string or a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or "")
    if isinstance(content, (list, tuple)):
        return "\n".join(message_text(part) for part in content if isinstance(part, (str, dict)))
    return ""


def without_boxes(text: str) -> str:
    """An answer's markdown without its source boxes."""
    return _BOXES.sub("", text)


def plain_history(history: Any) -> list[dict]:
    """The chat as plain {"role", "content"} messages, one answer per question, for `consensus_chat.app.followup.history_pairs`.

    Accepts Gradio messages or [question, answer] pairs. Source boxes (a message with a metadata title, or a
    <details class="source"> block inside an answer) and turns that ended in an error are dropped,
    the display escaping is undone, and only the last MAX_HISTORY_TURNS turns are kept. An assistant message's "turn"
    (what that answer did, see app/memory.py) is kept, and its "text" (the plain answer kept beside the rendered
    one) is used as is. Raises ValueError (with a
    message for API callers) when `history` has the wrong shape.
    """
    if history is None:
        return []
    if not isinstance(history, (list, tuple)):
        raise ValueError('history must be a list of {"role", "content"} messages or [question, answer] pairs.')
    turns: list[list[str]] = []  # [question, answer parts...]
    states: dict[int, Any] = {}  # turn index -> the answer's "turn" (app/memory.py), when a message carried one
    for item in history:
        if isinstance(item, (list, tuple)):
            if len(item) != 2 or not all(isinstance(x, (str, type(None))) for x in item):
                raise ValueError("each history pair must be [question, answer] with two strings.")
            if item[0] and item[1]:
                turns.append([item[0], item[1]])
            continue
        if not isinstance(item, dict) or "role" not in item:
            raise ValueError('each history message must be a {"role", "content"} object or a [question, answer] pair.')
        metadata = item.get("metadata") or {}
        if isinstance(metadata, dict) and metadata.get("title"):
            continue  # a source box
        text = message_text(item.get("content"))
        if item["role"] == "user":
            turns.append([unescape_text(text)])
        elif item["role"] == "assistant" and turns and text:
            plain = item.get("text")  # the answer's plain text, kept beside its rendering (app/chat.py)
            turns[-1].append(plain if isinstance(plain, str) else unescape_text(_BOXES.sub("", text)))
            if item.get("turn") is not None:
                states[len(turns) - 1] = item["turn"]
    answered = [(t, states.get(i)) for i, t in enumerate(turns) if len(t) > 1 and not t[1].startswith(ERROR_PREFIX)]
    messages: list[dict] = []
    for (question, *answer), state in answered[-MAX_HISTORY_TURNS:]:
        reply = {"role": "assistant", "content": "\n\n".join(answer)}
        messages += [{"role": "user", "content": question}, reply | ({"turn": state} if state is not None else {})]
    return messages
