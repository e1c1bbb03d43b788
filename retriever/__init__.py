"""Open an index and search it: `from consensus_chat import open_retriever`."""

from .types import Hit, SearchResult

__all__ = ["open_retriever", "Retriever", "Hit", "SearchResult"]


def __getattr__(name):
    # Lazy: importing `retriever` must not pull in chromadb or torch.
    if name in ("open_retriever", "Retriever"):
        from . import search

        return getattr(search, name)
    raise AttributeError(name)
