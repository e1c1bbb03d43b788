"""The retriever: exact look-ups, modes, filters, bad input, the llama-index adapter, the CLI."""

from __future__ import annotations

import json
import subprocess

import pytest

from conftest import CLI
from consensus_chat.ingest.errors import QueryError


def titles(result):
    return [h.title for h in result.hits]


@pytest.mark.parametrize("query", ["3.2.2", "what falls under 3.2.2?", "Which sections are coded 3.2.2"])
def test_code_in_the_question_returns_that_section_first(retriever, query):
    hit = retriever.search(query).hits[0]
    assert (hit.code, hit.title, hit.matched_by) == ("3.2.2", "Secure evaluation infrastructure", "code")


def test_shared_code_returns_every_section_with_it(retriever):
    hits = retriever.search("what is under 2.2.1?", k=5).hits
    assert {h.title for h in hits[:3]} == {"Risk Assessment", "Downstream impact assessment and forecasting",
                                            "System safety assessment"}
    assert all(h.matched_by == "code" for h in hits[:3]) and not hits[3].matched_by


@pytest.mark.parametrize("key, expected", [
    ("Turpin", {"LLM chain-of-thought faithfulness and legibility"}),
    ("Casper-B", {"Explainability", "Secure evaluation infrastructure"}),
    ("Hobbhahn", {"Metrology for AI risk assessment"}),
    ("IAISR", {"Audit techniques and benchmarks", "System safety assessment", "Metrology for AI risk assessment"}),
])
def test_source_keys_return_the_citing_sections_first(retriever, key, expected):
    hits = retriever.search(f"Which sections cite {key}?", k=5).hits
    assert {h.title for h in hits[: len(expected)]} == expected
    assert all(key in h.citations for h in hits[: len(expected)])


def test_title_and_label_named_in_the_question_rank_first(retriever):
    assert titles(retriever.search("Tell me about secure evaluation infrastructure"))[0] == \
        "Secure evaluation infrastructure"
    # the longest title wins over a shorter one it contains ("Risk Assessment")
    assert titles(retriever.search("metrology for AI risk assessment"))[0] == "Metrology for AI risk assessment"
    hits = retriever.search("Which sections fall under Technical Standards?").hits
    assert hits[0].title == "Secure evaluation infrastructure" and hits[0].matched_by == "label"


@pytest.mark.parametrize("query", ["Who wrote the Singapore Consensus?", "What year was the report published?",
                                   "What does the abstract say?"])
def test_questions_about_the_report_reach_the_source_record(retriever, query):
    assert retriever.search(query).hits[0].kind == "source"


def test_paraphrase_finds_the_right_card_in_every_mode(retriever):
    q = "How can we tell whether a model's stated reasoning matches what it really did?"
    assert titles(retriever.search(q))[0] == "LLM chain-of-thought faithfulness and legibility"
    lexical = retriever.search("chain-of-thought faithfulness", mode="lexical")
    assert titles(lexical)[0] == "LLM chain-of-thought faithfulness and legibility"
    assert lexical.hits[0].lexical_score > 0 and lexical.hits[0].lexical_rank == 1


def test_hits_carry_each_signal(retriever):
    hit = retriever.search("double-blind evaluation infrastructure").hits[0]
    assert hit.dense_rank == 1 and hit.lexical_rank == 1 and 0 < hit.dense_score <= 1 and hit.lexical_score > 0


def test_filters_by_code_prefix_label_and_kind(retriever):
    hits = retriever.search("risk", k=10, codes=["2.2"]).hits
    assert hits and all(h.code.startswith("2.2.") for h in hits)
    hits = retriever.search("risk", k=10, codes=["3"]).hits
    assert {h.code for h in hits} == {"3.2.1", "3.2.2"}
    hits = retriever.search("evaluation", k=10, labels=["Benchmarks & Evaluation"]).hits
    assert {h.title for h in hits} == {"Audit techniques and benchmarks", "Metrology for AI risk assessment"}
    assert {h.kind for h in retriever.search("report", k=10, kinds=["source"]).hits} == {"source"}
    # the filter applies to exact look-ups too
    assert all(h.code.startswith("3") for h in retriever.search("Which sections cite Turpin?", codes=["3"]).hits)


@pytest.mark.parametrize("kwargs, message", [
    (dict(query=""), "empty"),
    (dict(query="   \n\t "), "empty"),
    (dict(query=None), "text"),
    (dict(query=42), "text"),
    (dict(query="x", k=0), "1 to 50"),
    (dict(query="x", k=51), "1 to 50"),
    (dict(query="x", k="5"), "whole number"),
    (dict(query="x", mode="fuzzy"), "mode"),
    (dict(query="x", codes=["9.9"]), "Known codes"),
    (dict(query="x", codes=["abc"]), "dotted section code"),
    (dict(query="x", labels=["Nope"]), "Known labels"),
    (dict(query="x", kinds=["chapter"]), "Unknown kind"),
])
def test_bad_input_raises_a_value_error_with_a_clear_message(retriever, kwargs, message):
    query = kwargs.pop("query")
    with pytest.raises(ValueError, match=message) as info:
        retriever.search(query, **kwargs)
    assert isinstance(info.value, QueryError)


def test_long_queries_are_truncated_with_a_notice_and_control_chars_stripped(retriever):
    result = retriever.search("metrology " * 500)
    assert len(result.query) == 2000 and result.notices and "2000" in result.notices[0]
    assert retriever.search("metr\x00ology\x07 \x1b[31m").query == "metrology [31m"
    assert titles(retriever.search("\x00\x01metrology"))[0] == "Metrology for AI risk assessment"


def test_llama_index_adapter_inside_a_real_query_engine(retriever):
    from llama_index.core.llms import MockLLM
    from llama_index.core.query_engine import RetrieverQueryEngine
    from llama_index.core.response_synthesizers.no_text import NoText

    li = retriever.as_llama_index(k=3)
    nodes = li.retrieve("Which sections cite Hobbhahn?")
    assert nodes[0].node.metadata["title"] == "Metrology for AI risk assessment"
    assert nodes[0].node.metadata["code"] == "3.2.1" and "Hobbhahn" in nodes[0].node.metadata["citations"]
    # NO_TEXT synthesis never calls its LLM, so the engine runs here for real with no network.
    # MockLLM only fills the constructor's slot (llm=None would reach for OpenAI's API key).
    engine = RetrieverQueryEngine(retriever=li, response_synthesizer=NoText(llm=MockLLM()))
    response = engine.query("secure evaluation infrastructure")
    assert response.source_nodes[0].node.metadata["title"] == "Secure evaluation infrastructure"


def test_search_cli_json_shape(index_dir):
    proc = subprocess.run([CLI, "search", "Which sections cite Turpin?", "--json", "-k", "3",
                           "--index-dir", str(index_dir)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data) == {"query", "in_scope", "hits"} and data["in_scope"] is True and len(data["hits"]) == 3
    assert set(data["hits"][0]) == {"id", "code", "label", "title", "parent", "kind", "score", "citations", "text"}
    assert data["hits"][0]["code"] == "1.1.2"


def test_search_cli_table_and_errors(index_dir, tmp_path):
    proc = subprocess.run([CLI, "search", "metrology", "--code", "3.2", "--index-dir", str(index_dir)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "3.2.1" in proc.stdout and "Metrology" in proc.stdout
    for args, needle in ((["   "], "empty"), (["x", "-k", "0"], "1 to 50"), (["x", "--code", "7.7"], "Known codes")):
        proc = subprocess.run([CLI, "search", *args, "--index-dir", str(index_dir)], capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 2 and needle in proc.stderr and "Traceback" not in proc.stderr
    proc = subprocess.run([CLI, "search", "x", "--index-dir", str(tmp_path / "none")], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and "consensus-chat ingest" in proc.stderr


def test_repeated_search_reuses_loaded_state(retriever):
    state = retriever._current()
    for _ in range(5):
        retriever.search("metrology")
    assert retriever._current() is state
