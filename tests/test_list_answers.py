"""Lists of the sections under a section: the children the parser gives (each card's parent) in document order, each
with its code, title and citation, and the Turn lists them so "number two" counts in them. Through the Python API
in every history shape, on the shipped page and on a page whose parent has no card of its own; /chat on a real server."""

from __future__ import annotations

import pytest

from conftest import DATA, HISTORY_SHAPES, api_picks, build_index, converse, history_as_pairs

from consensus_chat.retriever.outline import children_asked

CHILDREN = ["risk-assessment--audit-techniques-and-benchmarks",
            "risk-assessment--downstream-impact-assessment-and-forecasting",
            "risk-assessment--secure-evaluation-infrastructure", "risk-assessment--system-safety-assessment",
            "risk-assessment--metrology-for-ai-risk-assessment"]  # document order


@pytest.mark.parametrize("question", ["List the sections under Risk Assessment", "What sections are in Risk Assessment?",
                                      "What are the sub-areas of Risk Assessment?"])
def test_a_list_request_answers_with_the_children_in_document_order(assistant, question):
    answer = assistant.answer(question)
    assert not answer.refused
    assert answer.turn.listed == tuple(CHILDREN)
    assert [c.id for c in answer.citations] == CHILDREN and [c.n for c in answer.citations] == [1, 2, 3, 4, 5]
    # Each line names the child's code and title, with its marker.
    assert "- 3.2.2 Technical Standards — **Risk Assessment › Secure evaluation infrastructure**:" in answer.text
    assert answer.text.index("Audit techniques") < answer.text.index("Metrology for AI")


@HISTORY_SHAPES
@pytest.mark.parametrize("follow_up, place", [("number two", 1), ("the second one", 1), ("number four", 3),
                                              ("the last one", 4)])
def test_an_ordinal_after_the_list_picks_a_child(assistant, shape, follow_up, place):
    _, answer = converse(assistant, ["List the sections under Risk Assessment", follow_up], shape)
    assert not answer.refused and [c.id for c in answer.citations][:1] == [CHILDREN[place]]


@HISTORY_SHAPES
def test_which_sections_are_under_it_lists_the_previous_sections_children(assistant, shape):
    _, listed, fourth = converse(assistant, ["Summarise the risk assessment section", "Which sections are under it?",
                                              "number four"], shape)
    assert [c.id for c in listed.citations] == CHILDREN
    assert fourth.citations[0].id == CHILDREN[3]


@pytest.mark.parametrize("question", ["What is risk assessment?", "Which sections cite IAISR?",
                                      "Which sections are coded 2.2.1?", "Which sections fall under Technical Standards?"])
def test_other_questions_are_not_lists_of_children(assistant, question):
    assert children_asked(assistant.retriever.analyse(question), assistant.retriever.sections()) is None
    assert assistant.answer(question).turn.listed != tuple(CHILDREN)


TOP_LEVEL_SECOND = ["Adversarial robustness testing", "Jailbreak evaluations", "AI-assisted red teaming"]


@HISTORY_SHAPES
@pytest.mark.parametrize("question", ["Which top-level cards, not sub-areas, are on this page?",
                                      "List the top-level cards that aren't under the Red Teaming parent."])
def test_the_top_level_cards_are_the_ones_under_no_parent(second_page, shape, question):
    """"top-level" asks for the cards with no parent (retriever/outline.py); before, it was refused or answered from
    one card, and "the second one" picked from a wrong list."""
    listed, second = converse(second_page, [question, "What about the second one?"], shape)
    assert [c.title for c in listed.citations] == TOP_LEVEL_SECOND
    assert listed.text.startswith("The page has 3 sections at its top level, under no parent:")
    assert second.citations[0].title == "Jailbreak evaluations"


def test_a_parent_set_aside_beside_top_level_is_not_listed(third_page):
    answer = third_page.answer("Which top-level cards are on this page, not counting the Incident Reporting sub-areas?")
    assert [c.title for c in answer.citations] == ["Incident databases", "Serious incident notification",
                                                   "Root cause analysis"]


def test_top_level_beside_a_topic_of_its_own_is_no_list(third_page):
    answer = third_page.answer("What are the top-level risks of incident databases?")
    assert not answer.refused and [c.title for c in answer.citations][:1] == ["Incident databases"]
    assert "top level" not in answer.text


def test_a_parent_without_a_card_of_its_own_lists_its_children(tmp_path, embedder):
    from consensus_chat.app import open_assistant

    assistant = open_assistant(config=build_index(DATA / "second-page.txt", tmp_path / "idx", embedder))
    listed, second = converse(assistant, ["List the sections under Red Teaming", "the second one"], history_as_pairs)
    assert [c.title for c in listed.citations] == ["Third-party red teaming", "Reporting and disclosure"]
    assert listed.text.startswith("**Red Teaming** has 2 sections under it:")
    assert {c.title for c in second.citations} == {"Reporting and disclosure"}  # each of its sentences, one section


@pytest.mark.slow
def test_api_chat_lists_children_and_counts_in_them(chat_client):
    first = api_picks(chat_client, "List the sections under Risk Assessment", CHILDREN, "number two", 1)
    pairs = [["List the sections under Risk Assessment", first["answer"]]]  # the text alone counts in the list too
    second = chat_client.predict("number two", pairs, api_name="/chat")
    assert second["citations"][0]["id"] == CHILDREN[1] and not second["refused"]


@HISTORY_SHAPES
@pytest.mark.parametrize("question", ["What's the difference between explainability and mechanistic interpretability?",
                                      "How does explainability differ from mechanistic interpretability?"])
def test_two_sections_named_by_their_titles_are_each_answered(assistant, shape, question):
    # The composer quoted the first-ranked one only, so a comparison was answered for one side.
    asked, picked = converse(assistant, [question, "the second one"], shape)
    assert [c.title for c in asked.citations][:2] == ["Explainability", "Mechanistic interpretability"]
    assert picked.citations[0].title == "Mechanistic interpretability"


def test_one_section_named_by_its_title_is_still_answered_alone(assistant):
    answer = assistant.answer("What are the limits of explainability?")
    assert {c.title for c in answer.citations} == {"Explainability"}


def test_a_list_question_with_a_part_not_covered_alone_is_listed_from_its_ranking(third_page):
    # "keeping staff safe" is not covered alone, so the parts gave nothing and one section was quoted, not a list.
    answer = third_page.answer("Which areas deal with keeping staff safe and learning from mistakes?")
    assert len(answer.listed) >= 2 and "Whistleblower protections" in [c.title for c in answer.citations]


@HISTORY_SHAPES
def test_a_question_for_several_things_lists_sections_to_pick_from(assistant, shape):
    """"What methods help audit AI systems?" asks for several things: each of the first cards, as "Which areas …?" is
    answered, so "the second one" has a list to count in (it was asked back: "did not list several sections")."""
    listed, second = converse(assistant, ["What methods help audit AI systems?", "the second one"], shape)
    assert len(listed.listed) >= 2 and not second.refused
    assert second.citations[0].section.id == listed.listed[1]


@pytest.mark.parametrize("question", ["What happens after a model fails an audit?", "What causes models to fail audits?",
                                      "What does the audit card say?"])
def test_a_verb_after_the_wh_word_is_no_question_for_several_things(question):
    from consensus_chat.ingest.words import PLURAL_ASKED

    assert PLURAL_ASKED.search(question) is None
    assert PLURAL_ASKED.search("What kinds of audit does the page describe?") is not None  # guard
