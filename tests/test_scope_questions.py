"""Questions that name nothing, and source keys named by a possessive (issue 18, "Bad input" and §1); the
development pages' question files resolve against their pages. Real model, real indexes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import ROOT, build_index
STOPWORDS = ["the of and to with what is", "What is it about?", "Who?"]


@pytest.mark.parametrize("question", STOPWORDS)
def test_a_question_of_stopwords_is_asked_back_not_answered_from_the_overview(retriever, question):
    result = retriever.search(question, k=5)
    assert not result.in_scope and result.hits == []  # nothing is "nearest" to a question that names nothing
    assert any("nothing to look up" in n for n in result.notices)


def test_the_assistant_refuses_a_question_of_stopwords_with_a_question_back(assistant):
    answer = assistant.answer("the of and to with what is")
    assert answer.refused and answer.citations == [] and answer.sources == []
    assert any("What would you like to know" in n for n in answer.notices)
    # Words about the document are not stopwords: "Who wrote this report?" is still answered from the record.
    report = assistant.answer("Who wrote this report?")
    assert not report.refused and report.citations


def test_a_bare_wh_word_still_continues_the_previous_question(assistant):
    first = assistant.answer("Who wrote the report?")
    when = assistant.answer("When?", [(first.question, first.text)])
    assert not when.refused and "2025" in when.text


def test_a_capitalised_possessive_names_a_source_key_that_is_also_a_common_name(second_page):
    # "Perez" is one WordPiece of the model's vocabulary (a common name), so alone it needs corroboration;
    # "Perez's work" is someone's work.
    topic = second_page.retriever.analyse("What does Perez's work show?")
    assert [e.kind for e in topic.entities] == ["source-key"] and "perez" not in topic.words
    result = second_page.retriever.search("What does Perez's work show?", k=3)
    assert result.in_scope and result.hits[0].title == "AI-assisted red teaming"
    # Without the possessive, in lower case, the word is a topic word as before.
    assert not second_page.retriever.analyse("what does perez show about prompts").entities


def test_every_development_page_resolves_its_questions(tmp_path, embedder):
    from consensus_chat.evals.questions import load_questions, with_section_ids
    from consensus_chat.retriever import open_retriever

    pages = json.loads((ROOT / "evals" / "pages" / "pages.json").read_text(encoding="utf-8"))
    assert len(pages) >= 4
    for n, page in enumerate(pages[1:]):  # the shipped page is the session index's (tests/test_evals.py)
        sections = open_retriever(config=build_index(ROOT / page["corpus"], tmp_path / str(n), embedder)).sections()
        questions = with_section_ids(load_questions(ROOT / page["questions"]), sections, Path(page["questions"]))
        assert all(q.relevant_ids for q in questions if q.kind == "in_scope")
        assert {q.kind for q in questions} == {"in_scope", "out_of_scope"}
        # the short pages hold five cards; evals/pages/eighth-page.txt holds eleven, like the shipped page
        assert sum(s.kind == "card" for s in sections) in (5, 11)
