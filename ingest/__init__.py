"""Turn a document into Section records and write the index (Chroma + manifest)."""

from .config import Config
from .errors import (
    ConsensusChatError,
    CorpusFormatError,
    IndexCorrupt,
    IndexLocation,
    IndexLocked,
    IndexNotFound,
    IndexReadOnly,
    ModelError,
    ModelMismatch,
    QueryError,
    StoreUnavailable,
)
from .parser import PARSER_VERSION, parse_file, parse_files
from .section import Section

__all__ = [
    "Config", "Section", "parse_file", "parse_files", "PARSER_VERSION", "ingest", "IngestReport",
    "ConsensusChatError", "CorpusFormatError", "IndexCorrupt", "IndexLocation", "IndexLocked", "IndexNotFound", "IndexReadOnly",
    "ModelError", "ModelMismatch", "QueryError", "StoreUnavailable",
]


def __getattr__(name):
    # The pipeline pulls in llama-index lazily; importing `ingest` stays cheap.
    if name in ("ingest", "IngestReport"):
        from . import pipeline

        return getattr(pipeline, name)
    raise AttributeError(name)
