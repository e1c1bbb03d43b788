"""Bad input on the command line and through the API: one clear line, exit 2, nothing lost."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from conftest import CLI
from ingest.errors import ConsensusChatError, QueryError


def run(*args, timeout=120, **kw):
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=timeout, **kw)


def test_100kb_question_is_truncated_with_a_notice(index_dir, assistant):
    big = "What is metrology? " * 5300  # about 100 KB
    assert len(big.encode()) >= 100_000
    proc = run("search", big, "--json", "--index-dir", str(index_dir))
    assert proc.returncode == 0 and "only the first 2000" in proc.stderr
    assert len(json.loads(proc.stdout)["query"]) == 2000
    answer = assistant.answer(big)  # answered (or refused) normally, with the notice, never an error
    assert answer.sources and any("2000" in n for n in answer.notices)


def test_binary_and_control_characters_are_stripped(index_dir, retriever):
    junk = "metrology\x00\x01\x02\x7f\x9f\u200b"
    proc = run("search", "metrology\x01\x02\x7f", "--json", "--index-dir", str(index_dir))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["hits"][0]["title"] == "Metrology for AI risk assessment"
    assert "\x00" not in retriever.search(junk).query
    with pytest.raises(QueryError):
        retriever.search("\x00\x01\x02")  # nothing left after stripping: empty


def test_binary_corpus_file_is_refused(tmp_path, index_dir):
    path = tmp_path / "image.bin"
    path.write_bytes(bytes(range(256)) * 10)
    proc = run("ingest", "--corpus", str(path), "--index-dir", str(index_dir))
    assert proc.returncode == 2 and str(path) in proc.stderr and "Traceback" not in proc.stderr


def test_unknown_options_are_usage_errors(index_dir):
    proc = run("search", "x", "--mode", "fuzzy", "--index-dir", str(index_dir))
    assert proc.returncode == 2 and "Invalid value" in proc.stderr
    proc = run("search", "x", "-k", "many")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_errors_are_documented_exception_types(retriever):
    with pytest.raises(QueryError) as info:
        retriever.search("x", codes=["42.42"])
    assert isinstance(info.value, ValueError) and isinstance(info.value, ConsensusChatError)


def test_help_has_examples_for_every_command():
    for command in ("sections", "ingest", "search", "ask", "serve", "eval"):
        proc = run(command, "--help")
        assert proc.returncode == 0 and "Examples:" in proc.stdout and f"consensus-chat {command}" in proc.stdout


def test_no_telemetry():
    from ingest.store import _settings

    assert _settings().anonymized_telemetry is False
    env = {k: v for k, v in os.environ.items() if k not in ("GRADIO_ANALYTICS_ENABLED", "ANONYMIZED_TELEMETRY")}
    code = ("import os; from click.testing import CliRunner; from app.cli import main; "
            "CliRunner().invoke(main, ['sections', '--json']); "
            "print(os.environ['GRADIO_ANALYTICS_ENABLED'], os.environ['ANONYMIZED_TELEMETRY'])")
    proc = subprocess.run([os.path.join(os.path.dirname(CLI), "python"), "-c", code], capture_output=True, text=True,
                          env=env, timeout=60)
    assert proc.stdout.split() == ["False", "False"], proc.stderr
