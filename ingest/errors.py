"""Exceptions shared by every package. Each message says what to do next."""

from __future__ import annotations


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none), for a one-line warning."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


class ConsensusChatError(Exception):
    """Base class: an expected failure with a message meant for the user."""

    exit_code = 2


class CorpusFormatError(ConsensusChatError):
    """The corpus file is missing, unreadable, or not in the page layout."""


class ModelError(ConsensusChatError):
    """The embedding model cannot be loaded or its weights fail the hash check."""


class IndexNotFound(ConsensusChatError):
    """No index exists where one was expected."""


class ModelMismatch(ConsensusChatError):
    """The index was built with a different embedding model."""


class IndexCorrupt(ConsensusChatError):
    """The index exists but cannot be read consistently."""


class IndexLocation(ConsensusChatError):
    """The index directory is a file, lies under a file, or cannot be created."""


class IndexReadOnly(ConsensusChatError):
    """The index cannot be opened because its directory is not writable (Chroma needs write access)."""


class IndexLocked(ConsensusChatError):
    """Another ingest holds the index lock."""


class StoreUnavailable(ConsensusChatError):
    """A Chroma server could not be reached."""


class QueryError(ConsensusChatError, ValueError):
    """A query or its options are invalid (also a ValueError for API callers)."""
