"""What counts as a usable question: one check that the retriever, the assistant, the CLI and the UI share.

It runs before anything heavy, so an unusable question is refused at once (not after the model loads).
"""

from __future__ import annotations

import re

from consensus_chat.ingest.errors import QueryError
from consensus_chat.ingest.text import clean_text, has_control_characters

MAX_QUERY_CHARS = 2000
# Lone surrogates are what Python makes of bytes that are not UTF-8 (click's surrogateescape on
# argv, or a broken API caller); no tokenizer can encode them, so they are stripped like control bytes.
_SURROGATES = re.compile("[\ud800-\udfff]")


class CleanQuestion(str):
    """A question `clean_query(..., limit=None)` has cleaned: the layers below the edge take it as it is."""

    __slots__ = ()


def clean_query(query, limit: int | None = MAX_QUERY_CHARS) -> tuple[str, list[str]]:
    """(the question with control characters and invalid bytes removed, notices); QueryError if nothing usable is left.

    With `limit`, a longer question is cut to that many characters and a notice says so, and plain text is
    returned; `limit=None` only cleans and returns a CleanQuestion (the edge cleans once and leaves the cut,
    and its notice, to the search). A CleanQuestion is not cleaned again: cleaning it would change nothing.
    """
    if isinstance(query, CleanQuestion):
        cleaned, notices = str(query), []
    else:
        cleaned, notices = _cleaned(query)
    if limit is None:
        return CleanQuestion(cleaned), notices
    if len(cleaned) > limit:
        notices.append(f"The query was {len(cleaned)} characters; only the first {limit} were used.")
        cleaned = cleaned[:limit]
    return cleaned, notices


def _cleaned(query) -> tuple[str, list[str]]:
    """(the question without control characters and invalid bytes, notices); QueryError if nothing usable is left."""
    if not isinstance(query, str):
        raise QueryError(f"The question must be text, not {type(query).__name__}.")
    notices: list[str] = []
    cleaned = _SURROGATES.sub("", query)
    if len(cleaned) != len(query):
        notices.append("Bytes that are not valid UTF-8 text were removed from the question.")
    if has_control_characters(cleaned):
        notices.append("Control characters were removed from the question.")
    cleaned = clean_text(cleaned).replace("\n", " ").replace("\t", " ").strip()
    if not cleaned:
        raise QueryError("The question is empty (nothing is left once control characters and invalid bytes "
                         "are removed). Type a question about the document.")
    if not any(ch.isalnum() for ch in cleaned):  # "?!.,;:...---" has nothing to search for
        raise QueryError("The question is empty (it has no letters or digits, only punctuation or symbols). "
                         "Type a question about the document.")
    return cleaned, notices
