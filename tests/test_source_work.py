"""Questions about what the source work says of itself (retriever/topic.py `Topic.about_work`,
ingest/words.REPORT_ASPECT_WORDS): whom it was written for, what it compares, what it leaves out, asked of "the guide",
"the underlying review" or "the guide's …", are answered from the source record, whose abstract says it; the same words
without the work named, and the work named beside a covered topic, keep their sections. An authorship question that
describes the report by its title's words and says what the page rests on ("the … report this page rests on") is about
the source record too. Real model and indexes (tests/data's two pages)."""

from __future__ import annotations

import pytest

from conftest import first_id

GUIDE = "red-teaming-in-practice-a-field-guide"  # tests/data/second-page.txt's source record
REVIEW = "learning-from-failure-incident-reporting-for-deployed-systems"  # tests/data/third-page.txt's


@pytest.mark.parametrize("page, question, record, expected", [
    ("second_page", "Which readers was the guide prepared for?", GUIDE, "practitioners"),
    ("second_page", "Who is the field guide's intended readership?", GUIDE, "practitioners"),
    ("second_page", "What audience is the source guide aimed at?", GUIDE, "practitioners"),
    ("third_page", "Which industries does the underlying review draw comparisons from?", REVIEW, "aviation"),
    ("third_page", "What does the review compare?", REVIEW, "aviation"),
    # "rests" / "relies" after "this page" say what the page rests on; "incident reporting" is the record's title.
    ("third_page", "Who wrote the incident reporting review this page rests on, and in which year?", REVIEW, "Rivera"),
    ("third_page", "Who are the authors of the incident reporting review this page relies on?", REVIEW, "Rivera"),
    # "agenda" is a noun for a document too (retriever/topic.DOCUMENT_NOUNS): before, these ranked the cards first.
    ("second_page", "Which readers was the red teaming agenda prepared for?", GUIDE, "practitioners"),
    ("second_page", "Who wrote the red teaming agenda, and in which year?", GUIDE, "Doe"),
])
def test_the_work_asked_about_itself_is_answered_from_its_record(request, page, question, record, expected):
    answer = request.getfixturevalue(page).answer(question)
    assert not answer.refused and first_id(answer) == record and expected in answer.text


def test_the_work_named_beside_a_covered_topic_keeps_the_topics_section(second_page):
    # No word of what a report says of itself: "the guide" only says where the page's claim is.
    answer = second_page.answer("What does the guide say about jailbreak evaluations?")
    assert first_id(answer) == "jailbreak-evaluations"


def test_an_aspect_word_without_the_work_named_is_a_topic_word(second_page):
    topic = second_page.retriever.analyse("What is the goal of third-party red teaming?")
    assert "goal" in topic.words and not topic.about_work


def test_an_aspect_word_in_another_sentence_than_the_work_is_a_topic_word(third_page):
    # "the review we ran" is the asker's own review, and "aim" is in the next sentence.
    topic = third_page.retriever.analyse("The review we ran turned into blame. Our aim is to avoid that next time: "
                                         "what does the page say about root cause analysis?")
    assert not topic.about_work and "aim" in topic.words


def test_a_document_noun_used_as_a_verb_names_no_work(retriever):
    topic = retriever.analyse("i keep hearing that agents pursue goals, why is that hard to study")
    assert not topic.about_work and "goals" in topic.words


def test_an_aspect_word_in_an_area_title_is_the_pages_topic(retriever):
    # The shipped page has an area "Studying goals in systems": "goals" beside "the report" is that topic.
    topic = retriever.analyse("What does the report recommend for defining and measuring goals in AI systems?")
    assert not topic.about_work and "goals" in topic.words


@pytest.mark.parametrize("question", ["Who are the authors of the whistleblower report, and when did it come out?",
                                      "Who wrote the near-miss report?"])
def test_who_wrote_the_report_called_by_a_topic_of_the_page(third_page, question):
    # A page rests on one report: "the near-miss report" is its source record, though "near-miss" is a card's word and
    # not one of the record's title (before, the cards ranked first: `ranking.names_its_report`).
    assert first_id(third_page.answer(question)) == REVIEW


@pytest.fixture(scope="module")
def review_with_countries(tmp_path_factory):
    """tests/data's third page, its source record's abstract naming the countries it draws on (as many pages' do)."""
    from conftest import DATA, written_page_assistant

    text = (DATA / "third-page.txt").read_text(encoding="utf-8").replace(
        "aviation, medicine and nuclear power.", "aviation, medicine and nuclear power in Norway, Japan and Canada.")
    return written_page_assistant(text, "third-page.txt", tmp_path_factory)


@pytest.mark.parametrize("question", ["Which countries does the review focus on?",
                                      "What is the purpose of the underlying review?"])
def test_where_and_why_the_work_looks_is_asked_of_its_record(review_with_countries, question):
    """"countries", "focus", "purpose" are what a report says of itself, beside the work named (REPORT_ASPECT_WORDS);
    before, "countries", a word the page never uses, refused the question or ranked a card first."""
    answer = review_with_countries.answer(question)
    assert not answer.refused and answer.citations[0].id == REVIEW


def test_countries_without_the_work_named_are_a_topic(review_with_countries):
    assert "countries" in review_with_countries.retriever.analyse("Which countries have incident databases?").words


@pytest.mark.parametrize("question", ["Was there an earlier draft of the report?", "Which edition of the report is this?"])
def test_a_version_of_the_work_is_asked_of_its_record(assistant, question):
    """"draft", "edition", "version", "interim" beside the work named ask what the report says of its versions;
    before, the words the page never uses refused these."""
    answer = assistant.answer(question)
    assert not answer.refused and answer.citations[0].kind == "source"


def test_a_version_of_something_else_is_a_topic(assistant):
    assert assistant.answer("Is there a newer version of the model?").refused  # no work named: a topic of its own
