"""A tag the page gives, named as the page writes it ("What does Measure mean here?"), names the tag lines and is
answered with that tag's line; the same word in lower case, as a sentence's first word or in a Title Case question
is the everyday word. Real model, real indexes (the shipped page and a page written here)."""

from __future__ import annotations

import pytest

from consensus_chat.ingest.lookups import Lookups
from consensus_chat.ingest.parser import parse_file
from consensus_chat.ingest.words import capitals_name_nothing
from conftest import written_page_assistant
from test_named_things import PAGE


@pytest.fixture(scope="module")
def page_assistant(tmp_path_factory):
    """A page whose tags are "Monitor" and "Hospital" (tests/test_named_things.py), in an index of its own."""
    return written_page_assistant(PAGE, "resistance.txt", tmp_path_factory)


@pytest.mark.parametrize("question, line", [
    ("What does Measure mean here?", "Measure (risk-management function): Quantifying, testing, and monitoring"),
    ("What does Developer mean on this page?", "Developer (actor): Entity that creates, trains, or modifies"),
    ("What is meant by Build and Use Model?", "Build and Use Model (lifecycle stage): Training, fine-tuning"),
])
def test_a_tag_written_as_the_page_writes_it_is_answered_with_its_line(assistant, question, line):
    answer = assistant.answer(question)
    assert not answer.refused and [c.title for c in answer.citations] == ["Tags"]
    assert line in answer.text
    assert "The page's tags" not in answer.text  # that tag's line, not every tag line


@pytest.mark.parametrize("question, line", [
    ("How does the page define its developer tag?", "Developer (actor): Entity that creates, trains, or modifies"),
    ("what is the build and use model tag?", "Build and Use Model (lifecycle stage): Training, fine-tuning"),
])
def test_a_tag_in_lower_case_beside_a_word_about_tags_is_that_tag(assistant, question, line):
    # Asked about tags, the tag's own words name it whatever their case ("its developer tag").
    answer = assistant.answer(question)
    assert not answer.refused and [c.title for c in answer.citations] == ["Tags"]
    assert line in answer.text and "Measure (" not in answer.text


def test_a_tag_of_another_page_is_found_by_that_pages_own_table(page_assistant):
    answer = page_assistant.answer("What does Hospital mean in this page's tags?")
    assert not answer.refused and [c.title for c in answer.citations] == ["Tags"]
    assert "Hospital (actor): The organisation that treats the patients" in answer.text
    assert "Monitor (" not in answer.text


@pytest.mark.parametrize("question", [
    "How do we measure the risks of AI systems?",  # lower case: the everyday word
    "Measure the risks of AI systems: how?",  # the sentence's first word is capitalised whatever it is
    "How Do Developers Measure Risks Of AI Systems?",  # Title Case: capitals name nothing
])
def test_the_same_word_not_written_as_a_tag_names_nothing(assistant, question):
    topic = assistant.retriever.analyse(question)
    assert not any("tags" in e.ids for e in topic.entities)
    answer = assistant.answer(question)
    assert answer.citations and answer.citations[0].title != "Tags"


def test_title_case_and_shouting_say_nothing_by_their_capitals():
    assert capitals_name_nothing("What Does Measure Mean Here".split())
    assert capitals_name_nothing("WHAT DOES MEASURE MEAN".split())
    assert not capitals_name_nothing("What does Measure mean here".split())
    assert not capitals_name_nothing("What is the Sarbanes-Oxley Act".split())


def test_saved_tables_written_before_tags_were_looked_up_still_load(tmp_path):
    page = tmp_path / "page.txt"
    page.write_text(PAGE, encoding="utf-8")
    lookups = Lookups(parse_file(page))
    assert lookups.tag_values == {"Monitor": ["tags"], "Hospital": ["tags"]}
    data = lookups.to_dict()
    del data["tag_values"]
    old = Lookups.from_dict(data)
    assert old.tag_values == {} and old.tags_in("What does Monitor mean here?") == []
    assert [t for t, *_ in lookups.tags_in("What does Monitor mean here?")] == ["Monitor"]


def test_a_kind_of_tag_in_two_words_names_the_tag_lines_without_the_word_tag(third_page):
    # Before, "lifecycle stage" named the tag lines only beside "tag"; asked alone it ranked a card first.
    answer = third_page.answer("What's this page's lifecycle stage?")
    assert not answer.refused and [c.title for c in answer.citations] == ["Tags"] and "Deploy Model" in answer.text
    assert third_page.answer("What is the best actor?").refused  # one word of a kind ("actor") is an everyday word


@pytest.mark.parametrize("question", ["What does the stage tag cover?", "What stage tag does it carry?",
                                      "When is the model tested, per the stage tag?"])
def test_the_stage_tag_is_the_lifecycle_stage_tag(second_page, question):
    """"stage" beside "tag" names the lifecycle-stage tag, as "lifecycle" does; before, "stage" was a topic word and a
    development page answered from a card. Without "tag" it is the everyday word."""
    answer = second_page.answer(question)
    assert not answer.refused and [c.title for c in answer.citations] == ["Tags"]
    assert "Evaluate Model (lifecycle stage)" in answer.text
    assert second_page.answer("What stage of development is red teaming at?").citations[0].title != "Tags"
