"""A name the document never mentions, compared with one of its topics ("Is a HackerOne bug bounty the sort of
coordinated channel the page wants findings to go through?"), is evidence about the name only: the page's side of the
comparison is what is asked. Real model and index."""

from __future__ import annotations

from dataclasses import replace

import pytest

from consensus_chat.retriever.decision import decide
from consensus_chat.retriever.wording import compared_part


@pytest.mark.parametrize("question, names, part", [
    ("Is a HackerOne bug bounty the sort of coordinated channel the page wants?", ("HackerOne",),
     "coordinated channel the page wants?"),
    ("Would Neuronpedia count as the kind of internal-representation work this page describes?", ("Neuronpedia",),
     "internal-representation work this page describes?"),
    ("Would IBM's toolbox be an example of testing for small input changes?", ("IBM's",),
     "testing for small input changes?"),
    ("Is the kind of audit Deloitte runs covered?", ("Deloitte",), None),  # the frame comes before the name
    ("Would Whistleblower Aid connect to anything on this page?", ("Whistleblower Aid",), None),  # nothing asked
    ("What does the page say about audits?", ("Deloitte",), None),  # the name is not in the question
    # What the question says the page holds: after "what/how the page says", or the noun phrase the page is said to hold.
    ("Does FIRST's approach match how the page says findings should be shared?", ("FIRST's",),
     "findings should be shared?"),
    ("Do SHAP values fit what the page says about crediting outputs to inputs?", ("SHAP",),
     "crediting outputs to inputs?"),
    ("Does CISA's rule illustrate the timing trade-off on the page?", ("CISA's",), "timing trade-off"),
    ("Would Bugcrowd work as a coordinated channel for disclosing failures?", ("Bugcrowd",),
     "a coordinated channel for disclosing failures?"),
    ("What does the page say about the EU AI Act?", ("EU AI Act",), None),  # the name is the page's side
])
def test_the_pages_side_of_a_comparison(question, names, part):
    assert compared_part(question, names) == part


def test_a_comparison_with_a_covered_topic_is_answered(second_page):
    result = second_page.retriever.search(
        "Is a HackerOne bug bounty the sort of coordinated channel the page wants findings to go through?", k=3)
    assert result.in_scope and result.hits[0].title == "Reporting and disclosure"
    assert any("HackerOne" in n for n in result.notices)
    # Without the page's side of the comparison read on its own, the name's own words would refuse it.
    assert not decide(replace(result.evidence, ask=None), second_page.retriever.scope_model).in_scope


def test_a_comparison_with_something_the_page_does_not_cover_is_refused(second_page):
    assert not second_page.retriever.search("Is a Spotify playlist the kind of shuffle algorithm the page describes?",
                                       k=3).in_scope


def test_the_page_side_a_question_names_beside_an_unknown_name_is_answered_and_ranks(second_page):
    result = second_page.retriever.search(
        "Does the FIRST forum's way of handling software flaws match how the page says findings should be shared?", k=3)
    assert result.in_scope and result.hits[0].title == "Reporting and disclosure"
    assert not second_page.retriever.search(
        "Does Spotify's approach match how the page says playlists should be shuffled?", k=3).in_scope
