"""consensus-chat's one import name: `from consensus_chat import open_retriever, open_assistant`.

The repository keeps `ingest/`, `retriever/`, `app/`, `evals/` and `corpus/` at its top level;
`pyproject.toml` maps them to `consensus_chat.ingest`, `consensus_chat.retriever` and so on.
Nothing heavy is imported here: the names load on first use.
"""

from __future__ import annotations

from .lazy import lazy_exports

# name -> the module that defines it (loaded lazily so `import consensus_chat` stays cheap).
_HOMES = {
    "open_retriever": "consensus_chat.retriever.search",
    "Retriever": "consensus_chat.retriever.search",
    "Hit": "consensus_chat.retriever.types",
    "SearchResult": "consensus_chat.retriever.types",
    "LlamaIndexRetriever": "consensus_chat.retriever.llama",
    "open_assistant": "consensus_chat.app.assistant",
    "Assistant": "consensus_chat.app.assistant",
    "Answer": "consensus_chat.app.assistant",
    "Citation": "consensus_chat.app.assistant",
    "Config": "consensus_chat.ingest.config",
    "Section": "consensus_chat.ingest.section",
    "ingest": "consensus_chat.ingest.pipeline",
    "IngestReport": "consensus_chat.ingest.pipeline",
    "ConsensusChatError": "consensus_chat.ingest.errors",
    "CorpusFormatError": "consensus_chat.ingest.errors",
    "IndexCorrupt": "consensus_chat.ingest.errors",
    "IndexLocation": "consensus_chat.ingest.errors",
    "IndexLocked": "consensus_chat.ingest.errors",
    "IndexNotFound": "consensus_chat.ingest.errors",
    "IndexReadOnly": "consensus_chat.ingest.errors",
    "ModelError": "consensus_chat.ingest.errors",
    "ModelMismatch": "consensus_chat.ingest.errors",
    "QueryError": "consensus_chat.ingest.errors",
    "StoreUnavailable": "consensus_chat.ingest.errors",
}

__all__ = sorted(_HOMES)


__getattr__ = lazy_exports(__name__, _HOMES)


def __dir__():
    return __all__
