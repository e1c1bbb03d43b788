"""Open an index and search it: `from consensus_chat import open_retriever`."""

from consensus_chat.lazy import lazy_exports

from .types import Hit, SearchResult

__all__ = ["open_retriever", "Retriever", "Hit", "SearchResult"]


# Lazy: importing `retriever` must not pull in chromadb or torch.
__getattr__ = lazy_exports(__name__, dict.fromkeys(("open_retriever", "Retriever"), ".search"))
