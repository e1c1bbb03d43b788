"""A comparison of two of the page's topics ("Compare X with Y", "the difference between X and Y", "How do X and Y
differ?") is answered from each side's own card, in the question's order, so the answer shows both and "the second
one" is the second side; "such X" after a card points back to it. Real model, real indexes, every history shape."""

from __future__ import annotations

import pytest

from consensus_chat.app.asked import compared_sides
from conftest import HISTORY_SHAPES, converse, data_page_fixture  # noqa: F401

third_page = data_page_fixture("third-page.txt")


@pytest.mark.parametrize("question, sides", [
    ("Compare root cause analysis with whistleblower protections.", ("root cause analysis", "whistleblower protections")),
    ("Compare infection control and hygiene to antibiotic stewardship",  # "with/to" split before "and"
     ("infection control and hygiene", "antibiotic stewardship")),
    ("How do incident databases and near-miss reporting differ?", ("incident databases", "near-miss reporting")),
    ("How does root cause analysis differ from near-miss reporting?", ("root cause analysis", "near-miss reporting")),
    ("What's the difference between serious incident notification and incident databases on this page?",
     ("serious incident notification", "incident databases on this page")),
    ("What does the page say about near misses?", None),
    ("Compare them.", None),
])
def test_the_two_sides_of_a_comparison(question, sides):
    assert compared_sides(question) == sides


@HISTORY_SHAPES
@pytest.mark.parametrize("opener, pick, title", [
    ("Compare root cause analysis with whistleblower protections.", "And the second one?", "Whistleblower protections"),
    ("How do incident databases and near-miss reporting differ?", "What about the first one?", "Incident databases"),
    ("What is the difference between the serious incident notification card and the root cause analysis card?",
     "The last one?", "Root cause analysis"),
])
def test_a_comparison_shows_each_side_and_a_place_picks_one(third_page, shape, opener, pick, title):
    first, answer = converse(third_page, [opener, pick], shape)
    assert not first.refused and len(first.citations) == 2 and first.turn.listed == first.turn.cited
    assert not answer.refused and answer.citations[0].title == title


def test_a_comparison_of_something_the_page_does_not_cover_is_refused(third_page):
    assert third_page.answer("What's the difference between a crocodile and an alligator?").refused


@HISTORY_SHAPES
@pytest.mark.parametrize("follow_up", ["Is such infrastructure regarded as affordable?",
                                       "Would such infrastructure be believed feasible by regulators?"])
def test_such_a_thing_points_back_to_the_card_just_shown(assistant, shape, follow_up):
    _, answer = converse(assistant, ["Tell me about infrastructure for external evaluators.", follow_up], shape)
    assert not answer.refused and answer.citations[0].title == "Secure evaluation infrastructure"
