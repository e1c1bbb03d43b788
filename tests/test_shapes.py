"""One JSON shape everywhere: `ask --json` prints exactly Answer.to_dict(), which carries every field."""

from __future__ import annotations

import dataclasses
import json
import subprocess

from consensus_chat.app.types import Answer, Citation
from consensus_chat.ingest.section import Section
from consensus_chat.retriever.types import Hit

from conftest import CLI

QUESTION = "Which sections cite Hobbhahn?"
HIT_KEYS = {"id", "code", "label", "title", "parent", "kind", "score", "citations", "text"}  # search --json


def _shape(value):
    """The keys of a JSON value, recursively (lists by their items' shapes)."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        shapes = [_shape(v) for v in value]
        return [s for i, s in enumerate(shapes) if s not in shapes[:i]]
    return type(value).__name__ if value is not None else None


def test_ask_json_has_the_python_shape(index_dir, assistant):
    proc = subprocess.run([CLI, "ask", QUESTION, "--json", "--index-dir", str(index_dir)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    cli = json.loads(proc.stdout)
    py = json.loads(json.dumps(assistant.answer(QUESTION).to_dict()))
    assert cli["citations"] and cli["sources"]
    assert set(cli) == set(py)
    assert set(cli["citations"][0]) == set(py["citations"][0])
    assert set(cli["sources"][0]) == set(py["sources"][0]) == HIT_KEYS
    assert _shape(cli) == _shape(py)
    assert cli["citations"][0]["parent"] == "Risk Assessment"  # the field the surfaces used to drop


def test_to_dict_carries_every_dataclass_field():
    renamed = {"text": "answer", "listed": "turn", "listed_keys": "turn"}  # the lists travel inside "turn"
    answer = Answer("q", "t", [], [], False, "extractive", listed=("a",), listed_keys=("K",))
    assert {renamed.get(f.name, f.name) for f in dataclasses.fields(Answer)} == set(answer.to_dict())
    assert answer.to_dict()["turn"]["listed"] == ["a"] and answer.to_dict()["turn"]["listed_keys"] == ["K"]
    section = Section("id", "card", "1.1", "Label", "Title", "Parent", "text", ("Key",))
    citation = Citation(1, section, "A sentence.")
    # A citation carries its section whole; its JSON names the section's identity fields beside its own.
    identity = {"id", "code", "label", "title", "parent", "citations"}
    assert {f.name for f in dataclasses.fields(Citation)} - {"section"} | identity == set(citation.to_dict())
    assert citation.to_dict()["citations"] == ["Key"] and citation.to_dict()["parent"] == "Parent"
    hit = Hit(section, 1.0)
    assert set(hit.to_dict()) == HIT_KEYS and hit.to_dict()["title"] == "Title"
