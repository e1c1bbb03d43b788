"""One frozen Config, read from arguments first and the environment second, at call time."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

DEFAULT_CORPUS_FILE = "interpretability-singapore-consensus.txt"


def default_corpus() -> Path:
    """The shipped document, found as package data of `corpus` (the same way from a wheel or a checkout)."""
    from importlib.resources import files

    from .errors import CorpusFormatError

    try:
        found = files("consensus_chat.corpus") / DEFAULT_CORPUS_FILE
    except ModuleNotFoundError as err:
        raise CorpusFormatError(
            "The shipped document (package `corpus`) is not installed. Reinstall consensus-chat "
            "(`pip install -e .` in a checkout), or pass a document with --corpus."
        ) from err
    return Path(str(found))


def __getattr__(name: str):
    # DEFAULT_CORPUS stays importable by name but is looked up when used, not at import time.
    if name == "DEFAULT_CORPUS":
        return default_corpus()
    raise AttributeError(name)


def default_index_dir() -> Path:
    """The per-user data directory, unless CONSENSUS_CHAT_HOME says otherwise."""
    return _user_dir("CONSENSUS_CHAT_HOME", "data")


def default_cache_dir() -> Path:
    """Where per-model caches live (the query encoder's export, the everyday-word table):
    $CONSENSUS_CHAT_CACHE, else the per-user cache directory."""
    return _user_dir("CONSENSUS_CHAT_CACHE", "cache")


def _user_dir(env_var: str, kind: str) -> Path:
    """$env_var, else consensus-chat's per-user `kind` ("data" or "cache") directory."""
    env = os.environ.get(env_var)
    if env:
        return Path(env).expanduser()
    import platformdirs  # lazy: only needed when no directory was given

    where = {"data": platformdirs.user_data_dir, "cache": platformdirs.user_cache_dir}[kind]
    return Path(where("consensus-chat", appauthor=False))


@dataclass(frozen=True)
class Config:
    """Where the index lives, which model embeds, and which LLM backend answers."""

    index_dir: Path
    chroma_host: str | None = None
    chroma_port: int | None = None
    model: str | None = None
    llm: str = "extractive"
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None
    llm_timeout: float = 60.0
    llm_max_tokens: int = 300

    @classmethod
    def from_env(cls, **overrides) -> "Config":
        """Build a Config: explicit (non-None) overrides win over CONSENSUS_CHAT_* variables."""
        env = os.environ
        port = env.get("CONSENSUS_CHAT_CHROMA_PORT")
        values = dict(
            index_dir=Path(env["CONSENSUS_CHAT_HOME"]).expanduser() if env.get("CONSENSUS_CHAT_HOME") else None,
            chroma_host=env.get("CONSENSUS_CHAT_CHROMA_HOST") or None,
            chroma_port=int(port) if port else None,
            model=env.get("CONSENSUS_CHAT_MODEL") or None,
            llm=env.get("CONSENSUS_CHAT_LLM") or "extractive",
            llm_base_url=env.get("CONSENSUS_CHAT_LLM_BASE_URL") or None,
            llm_model=env.get("CONSENSUS_CHAT_LLM_MODEL") or None,
            llm_api_key=env.get("CONSENSUS_CHAT_LLM_API_KEY") or None,
            llm_timeout=float(env.get("CONSENSUS_CHAT_LLM_TIMEOUT") or 60.0),
            llm_max_tokens=int(env.get("CONSENSUS_CHAT_LLM_MAX_TOKENS") or 300),
        )
        values.update({k: v for k, v in overrides.items() if v is not None})
        if values["index_dir"] is None:
            values["index_dir"] = default_index_dir()
        values["index_dir"] = Path(values["index_dir"]).expanduser()
        if values["chroma_port"] is not None and values["chroma_host"] is None:
            values["chroma_host"] = "localhost"
        if values["chroma_host"] is not None and values["chroma_port"] is None:
            values["chroma_port"] = 8000
        return cls(**values)

    def with_(self, **changes) -> "Config":
        """A copy with some fields changed."""
        return replace(self, **changes)
