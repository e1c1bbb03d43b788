"""Turn a document into Section records and write the index (Chroma + manifest)."""

from consensus_chat.lazy import lazy_exports

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


# The pipeline pulls in llama-index lazily; importing `ingest` stays cheap.
__getattr__ = lazy_exports(__name__, dict.fromkeys(("ingest", "IngestReport"), ".pipeline"))
