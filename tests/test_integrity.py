"""Issue 20's integrity and message points that are not rows of the fault table: crash leftovers, JSON Lines
with U+2028, an unreadable index folder, the control-character notice, a Chroma server that goes away while
`serve` runs, and an idle server letting go of a deleted generation."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import CLI, CORPUS, copy_index, free_port, open_files, stop_process, wait_for_port
from crashpoints import crash_env


def _edited(tmp_path) -> Path:
    path = tmp_path / "edited.txt"
    path.write_text(CORPUS.read_text(encoding="utf-8").replace("standardisation", "standardization"), encoding="utf-8")
    return path


def test_plain_ingest_removes_crash_leftovers_even_when_nothing_changed(config, tmp_path, embedder):
    """Killed with the new manifest written but not swapped in: the next ingest (nothing to do) cleans up."""
    from consensus_chat.ingest.pipeline import ingest

    idx = copy_index(config.index_dir, tmp_path)
    ingest([_edited(tmp_path)], config.with_(index_dir=idx), embedder=embedder)  # a real previous generation
    ingest([CORPUS], config.with_(index_dir=idx), embedder=embedder)
    kept = sorted(p.name for p in idx.glob("gen-*"))
    assert len(kept) == 2  # the current one and the previous one, kept one round for running servers
    proc = subprocess.run([CLI, "ingest", "-q", "--corpus", str(_edited(tmp_path)), "--index-dir", str(idx)],
                          env=crash_env("manifest-temp-written"), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert len(list(idx.glob("gen-*"))) == 3 and list(idx.glob("manifest.tmp-*"))
    report = ingest([CORPUS], config.with_(index_dir=idx), embedder=embedder)
    assert report.unchanged == 14 and report.embedded_chunks == 0
    assert sorted(p.name for p in idx.glob("gen-*")) == kept and not list(idx.glob("manifest.tmp-*"))


def test_feedback_export_escapes_line_separators_and_the_loaders_read_them(index_dir, tmp_path):
    """U+2028/U+2029 in an answer: the exported line stays one line, and every JSON Lines loader reads it."""
    from consensus_chat.app.feedback import FeedbackStore, Vote
    from consensus_chat.evals.conversations import load_conversations
    from consensus_chat.evals.runner import load_questions

    home = tmp_path / "home"
    home.mkdir()
    question = "What is metrology?\u2028(asked twice)"
    answer = {"question": question, "answer": "Metrology\u2028is measurement\u2029science [1].", "refused": False,
              "backend": "extractive", "citations": [{"title": "Metrology for AI risk assessment", "code": "3.2.1"}]}
    FeedbackStore(home).record(Vote.for_answer(False, answer))
    out = tmp_path / "to-label.jsonl"
    proc = subprocess.run([CLI, "feedback", "export", "--out", str(out), "--index-dir", str(home)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    raw = out.read_text(encoding="utf-8")
    assert "\u2028" not in raw and "\u2029" not in raw and "\\u2028" in raw and raw.count("\n") == 1
    assert [q.question for q in load_questions(out)] == [question]
    # A file written by another tool with the raw characters (valid JSON) loads too, with the right line numbers.
    raw_file = tmp_path / "raw.jsonl"
    raw_file.write_text(json.dumps({"id": "a", "question": "one\u2028two", "kind": "out_of_scope",
                                    "relevant_titles": [], "relevant_codes": []},
                                   ensure_ascii=False) + "\n", encoding="utf-8")
    assert load_questions(raw_file)[0].question == "one\u2028two"
    conversations = tmp_path / "conversations.jsonl"
    conversations.write_text(json.dumps({"id": "c", "turns": [{"question": "a\u2029b",
                                                                  "relevant_titles": ["Explainability"]}]},
                                        ensure_ascii=False) + "\n", encoding="utf-8")
    assert load_conversations(conversations)[0]["turns"][0]["question"] == "a\u2029b"


def test_jsonl_helpers():
    from consensus_chat.ingest.jsonl import dumps_line, split_lines

    assert dumps_line({"a": "x\u2028y\u2029é"}) == '{"a": "x\\u2028y\\u2029é"}'
    assert json.loads(dumps_line({"a": "x\u2028y"})) == {"a": "x\u2028y"}
    assert split_lines('{"a": 1}\r\n{"b": "\u2028\x85"}\n') == ['{"a": 1}', '{"b": "\u2028\x85"}']


def test_control_characters_get_their_notice(index_dir):
    from consensus_chat.retriever.clean import clean_query

    assert clean_query("metro\x01logy") == ("metrology", ["Control characters were removed from the question."])
    assert clean_query("metrology\tnow") == ("metrology now", [])  # a tab is only a space
    proc = subprocess.run([CLI, "search", "metro\x1blogy", "-k", "1", "--json", "--index-dir", str(index_dir)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "Control characters were removed" in proc.stderr


def _without_read_override(cmd: list[str]) -> list[str]:
    """As root, run without the two capabilities that let root read past file modes (root reads everything);
    as ourselves otherwise. Root stays the owner of the checkout, so a clone in a 0700 folder (`mktemp -d`) still
    runs, which switching to user nobody could not do."""
    if os.geteuid() != 0:
        return cmd
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot take read permission away")
    caps = "-dac_override,-dac_read_search"
    return [setpriv, f"--bounding-set={caps}", f"--inh-caps={caps}", *cmd]


@pytest.mark.parametrize("blocked", ["the index folder", "the query encoder in the cache"])
def test_an_unreadable_index_folder_says_so(config, blocked):
    """Permission denied is not damage: no 'damaged query encoder', no advice to rebuild."""
    from consensus_chat.ingest.config import default_cache_dir

    root = Path(tempfile.mkdtemp(prefix="consensus-chat-perm-"))
    try:
        idx, cache = copy_index(config.index_dir, root), root / "cache"
        shutil.copytree(default_cache_dir(), cache)
        for path in [idx, cache, *idx.rglob("*"), *cache.rglob("*")]:
            path.chmod(0o777 if path.is_dir() else 0o666)
        target = idx if blocked == "the index folder" else next((cache / "query-encoder").iterdir())
        target.chmod(0o000)
        env = {**os.environ, "CONSENSUS_CHAT_HOME": str(idx), "CONSENSUS_CHAT_CACHE": str(cache), "HOME": str(root)}
        for command in (["search", "metrology"], ["serve", "--port", "0"]):
            proc = subprocess.run(_without_read_override([CLI, *command]), capture_output=True, text=True, timeout=180,
                                  env=env, cwd=root)
            assert proc.returncode == 2, (command, proc.stderr)
            assert "cannot be read" in proc.stderr and "permission denied" in proc.stderr, proc.stderr
            for wrong in ("damaged", "--rebuild", "unexpected", "Traceback"):
                assert wrong not in proc.stderr, (wrong, proc.stderr)
    finally:
        for path in [root, *root.rglob("*")]:
            path.chmod(0o700)
        shutil.rmtree(root)


def _deleted_generation_files(pid: int) -> list[str]:
    return [t for t in open_files(pid) if "/gen-" in t and t.endswith("(deleted)")]


@pytest.mark.slow
def test_an_idle_server_releases_a_deleted_generation(config, tmp_path, embedder):
    """Two re-ingests while nobody asks anything: the server lets go of the deleted generation on its own."""
    from conftest import serving
    from consensus_chat.ingest.pipeline import ingest

    idx = copy_index(config.index_dir, tmp_path)
    with serving(idx, tmp_path / "serve.log") as (client, proc):
        assert client.predict("metrology", 3, api_name="/search")["hits"][0]["title"] == "Metrology for AI risk assessment"
        first = json.loads((idx / "manifest.json").read_text())["generation"]
        ingest([_edited(tmp_path)], config.with_(index_dir=idx), embedder=embedder)
        ingest([CORPUS], config.with_(index_dir=idx), embedder=embedder)
        assert not (idx / first).exists()  # the generation the server opened is deleted now
        deadline = time.monotonic() + 30
        while _deleted_generation_files(proc.pid) and time.monotonic() < deadline:
            time.sleep(1)
        assert _deleted_generation_files(proc.pid) == []
    assert "Traceback" not in (tmp_path / "serve.log").read_text()


@pytest.mark.slow
def test_a_chroma_server_outage_is_one_line_and_a_notice(tmp_path, embedder):
    """The web chat says it cannot reach the server and keeps retrying; the log has one line per outage."""
    from gradio_client import Client

    from consensus_chat.evals.procs import ChromaServer
    from consensus_chat.ingest.config import Config
    from consensus_chat.ingest.pipeline import ingest

    chroma = ChromaServer(tmp_path / "chroma").__enter__()
    port = free_port()
    proc = None
    try:
        cfg = Config.from_env(index_dir=tmp_path / "client", chroma_host="127.0.0.1", chroma_port=chroma.port)
        ingest([CORPUS], cfg, embedder=embedder, quiet=True)
        with open(tmp_path / "serve.log", "wb") as log:
            proc = subprocess.Popen([CLI, "serve", "--port", str(port), "--index-dir", str(cfg.index_dir),
                                     "--chroma-host", "127.0.0.1", "--chroma-port", str(chroma.port)],
                                    stdout=log, stderr=subprocess.STDOUT)
        wait_for_port(port, timeout=180, proc=proc)
        client = Client(f"http://127.0.0.1:{port}/", verbose=False, httpx_kwargs={"timeout": 60})
        assert not client.predict("What is metrology?", [], api_name="/chat")["notices"]
        chroma.__exit__()
        time.sleep(7)  # the server re-reads the manifest every 5 s
        down = f"Cannot reach the Chroma server at 127.0.0.1:{chroma.port}; retrying"
        for _ in range(3):
            reply = client.predict("What is metrology?", [], api_name="/chat")
            assert any(down in n for n in reply["notices"]), reply["notices"]
            assert reply["sources"][0]["title"] == "Metrology for AI risk assessment"
        back = ChromaServer(tmp_path / "chroma")
        back.port = chroma.port
        chroma = back.__enter__()
        deadline = time.monotonic() + 30
        while any(down in n for n in client.predict("What is metrology?", [], api_name="/chat")["notices"]):
            assert time.monotonic() < deadline, "the notice stayed after the server came back"
            time.sleep(1)
    finally:
        stop_process(proc)
        chroma.__exit__()
    text = (tmp_path / "serve.log").read_text()
    assert text.count("Cannot reach the Chroma server") == 1, text
    assert "answers again" in text and "Traceback" not in text
