"""The extractive assistant: verbatim sentences, markers, structured answers, refusals, follow-ups."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from conftest import CLI, CORPUS
from consensus_chat.ingest.errors import QueryError

DOCUMENT = " ".join(CORPUS.read_text(encoding="utf-8").split())


def _markers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\[(\d+)\]", text)]


def test_free_question_is_verbatim_with_markers_and_sources(assistant):
    answer = assistant.answer("How can we tell whether a model's stated reasoning matches what it really did?")
    assert not answer.refused and answer.backend == "extractive"
    assert 1 <= len(answer.citations) <= 5
    for c in answer.citations:
        assert " ".join(c.sentence.split()) in DOCUMENT  # verbatim from the document
        assert f"{c.sentence} [{c.n}]" in answer.body
    assert answer.citations[0].title == "LLM chain-of-thought faithfulness and legibility"
    assert "(Turpin)" in answer.body  # the sentence keeps its own source key
    numbers = sorted({c.n for c in answer.citations})
    assert numbers == list(range(1, len(numbers) + 1))
    assert "**Sources**" in answer.text
    assert "[1] 1.1.2 Learning Objectives — LLM chain-of-thought faithfulness and legibility (Turpin, Anthropic-D, OpenAI-E)" in answer.text
    assert set(_markers(answer.body)) == set(numbers)
    sentences = [c.sentence for c in answer.citations]
    assert len(set(sentences)) == len(sentences)  # no duplicates


def test_source_list_format_matches_the_issue(assistant):
    answer = assistant.answer("What does system safety assessment consider?")
    assert "[1] 2.2.1 Risk Assessment — Risk Assessment › System safety assessment (IAISR, Hendrycks-B, AISES, Alaga)" \
        in answer.text


def test_which_sections_are_coded(assistant):
    answer = assistant.answer("Which sections are coded 2.2.1?")
    assert {c.title for c in answer.citations} == {"Risk Assessment", "Downstream impact assessment and forecasting",
                                                   "System safety assessment"}
    assert answer.body.startswith("3 sections match")


def test_which_sections_cite_a_key_give_the_citing_sentence(assistant):
    answer = assistant.answer("Which sections cite Casper-B?")
    assert {c.title for c in answer.citations} == {"Explainability", "Secure evaluation infrastructure"}
    assert all("Casper-B" in c.sentence for c in answer.citations)


def test_code_of_a_section(assistant):
    answer = assistant.answer("What is the code of the metrology section?")
    assert "3.2.1 Benchmarks & Evaluation" in answer.body
    assert answer.citations[0].title == "Metrology for AI risk assessment"


def test_who_wrote_the_report_and_when(assistant):
    answer = assistant.answer("Who wrote the Singapore Consensus, and when?")
    assert "2025" in answer.body and "Bengio, Yoshua" in answer.body
    assert answer.citations[0].title == "The Singapore Consensus on Global AI Safety Research Priorities"


@pytest.mark.parametrize("question", ["Who won the 2022 World Cup?", "How do I set up a Kubernetes ingress?"])
def test_out_of_scope_is_refused_and_names_the_nearest_sections(assistant, question):
    answer = assistant.answer(question)
    assert answer.refused and answer.citations == []
    assert "does not appear to cover" in answer.body and "nearest sections" in answer.body
    assert answer.sources  # the nearest sections are still returned
    nearest_card = next(h for h in answer.sources if h.kind in ("card", "source"))
    assert nearest_card.title in answer.body


def test_three_turn_conversation_resolves_follow_ups(assistant):
    chain = "LLM chain-of-thought faithfulness and legibility"
    turns = [  # (question, the first citation's title, words the body holds)
        ("What does the document say about chain-of-thought faithfulness?", chain, ""),
        ("What does it cite?", chain, "Turpin, Anthropic-D, OpenAI-E"),
        ("and the one on metrology?", "Metrology for AI risk assessment", "IAISR, Hobbhahn"),
        ("which code is that?", None, "3.2.1"),
    ]
    history = []
    for question, title, words in turns:
        answer = assistant.answer(question, history)
        if title is not None:
            assert answer.citations[0].title == title, question
        assert words in answer.body, question
        history.append((question, answer.text))


def test_gradio_style_history_is_accepted(assistant):
    history = [{"role": "user", "content": "Tell me about secure evaluation infrastructure"},
               {"role": "assistant", "content": "…"},
               {"role": "assistant", "content": "box", "metadata": {"title": "📄 [1] source"}}]
    answer = assistant.answer("which code is that?", history)
    assert "3.2.2" in answer.body


def test_stream_yields_growing_text_then_the_answer(assistant):
    from consensus_chat.app.types import Answer

    items = list(assistant.stream("metrology"))
    assert isinstance(items[-1], Answer) and all(isinstance(i, str) for i in items[:-1])
    assert items[-2] == items[-1].text


@pytest.mark.parametrize("bad", ["", "   ", None, 7, ["a"]])
def test_bad_questions_raise_value_errors(assistant, bad):
    with pytest.raises(ValueError) as info:
        assistant.answer(bad)
    assert isinstance(info.value, QueryError)


def test_ask_cli_json_shape(index_dir):
    proc = subprocess.run([CLI, "ask", "Which sections cite Turpin?", "--json", "--index-dir", str(index_dir)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert {"answer", "refused", "backend", "citations", "sources"} <= set(data)
    assert data["backend"] == "extractive" and data["refused"] is False
    assert set(data["citations"][0]) == {"n", "id", "code", "label", "title", "parent", "citations", "sentence"}
    assert data["citations"][0]["code"] == "1.1.2"
    assert {"id", "code", "title", "score", "text"} <= set(data["sources"][0])


def test_ask_cli_empty_question_is_one_line_exit_2(index_dir):
    proc = subprocess.run([CLI, "ask", "  ", "--index-dir", str(index_dir)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "empty" in proc.stderr and "Traceback" not in proc.stderr
