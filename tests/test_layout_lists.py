"""Lists the page's layout answers by itself (retriever/listing.py): every card, the cards before or after a card in
the page's order, the cards that cite no source. Each is answered as a list (each card cited, in the page's order), so
"the fourth one" counts in it; questions with a topic, a key or a parent of their own keep their own answers."""

from __future__ import annotations

import pytest

from conftest import CORPUS, HISTORY_SHAPES, converse, written_page_assistant

from consensus_chat.retriever.outline import children_asked

THIRD_CARDS = ["Incident databases", "Serious incident notification", "Root cause analysis", "Near-miss reporting",
               "Whistleblower protections"]  # the third page's cards, in its order
BEFORE_RISK = ["Mechanistic interpretability", "Explainability", "LLM chain-of-thought faithfulness and legibility",
               "Attributing model behaviours to training data", "Studying goals in systems"]


@HISTORY_SHAPES
@pytest.mark.parametrize("question", ["List every research card on this page.", "Which cards does the page have?",
                                      "List every research area on the incident reporting page."])  # its own name
def test_every_card_is_listed_and_counted_in(third_page, shape, question):
    """Before, the overview answered (citing the overview and the source record), so "the fourth one" had no list to
    count in; "research cards" was refused on a page that never says "research"."""
    listed, fourth = converse(third_page, [question, "What about the fourth one?"], shape)
    assert not listed.refused and [c.title for c in listed.citations] == THIRD_CARDS
    assert listed.text.startswith("The page has 5 research areas:")
    assert fourth.citations[0].title == "Near-miss reporting"


@HISTORY_SHAPES
def test_the_cards_before_a_card_are_listed_in_the_pages_order(assistant, shape):
    """Before, "Risk Assessment" was read as a parent and its sub-areas were listed."""
    listed, last = converse(assistant, ["Which cards precede Risk Assessment on the page?", "And the last one?"], shape)
    assert [c.title for c in listed.citations] == BEFORE_RISK
    assert listed.text.startswith("5 cards come before **Risk Assessment**:")
    assert last.citations[0].title == "Studying goals in systems"


@pytest.mark.parametrize("question, titles", [
    ("Which cards come after Root cause analysis?", THIRD_CARDS[3:]),
    ("Which cards are listed before the sub-areas?", THIRD_CARDS[:3]),
    ("Which cards appear before the one on near-miss reporting?", THIRD_CARDS[:3]),
    ("Which cards are listed ahead of Root cause analysis?", THIRD_CARDS[:2]),  # before, its sub-areas or the card
    ("What cards sit prior to Near-miss reporting?", THIRD_CARDS[:3]),
    ("Which cards follow the notification card?", THIRD_CARDS[2:]),  # a card named by words of its title only
    ("Which cards come before the Incident Reporting sub-areas?", THIRD_CARDS[:3]),  # one parent's sub-areas
])
def test_before_or_after_a_card_or_the_sub_areas(third_page, question, titles):
    answer = third_page.answer(question)
    assert not answer.refused and [c.title for c in answer.citations] == titles


def test_the_cards_citing_no_source(assistant, third_page):
    answer = assistant.answer("Which cards don't cite any sources?")
    assert [c.title for c in answer.citations] == ["Risk Assessment", "Downstream impact assessment and forecasting"]
    assert answer.text.startswith("2 cards cite no source:")
    assert "cite no source" not in third_page.answer("Which cards cite no sources?").text  # every card cites one


@pytest.mark.parametrize("question", ["Which cards deal with near misses?", "Which cards cite Leveson?",
                                      "Which cards are coded 5.2.1?",
                                      "Which cards describe what comes after an incident?",
                                      "Which cards come after the incident card?"])  # two titles hold "incident"
def test_a_topic_key_or_code_of_its_own_is_no_layout_list(third_page, question):
    found = children_asked(third_page.retriever.analyse(question), third_page.retriever.sections())
    assert found is None or found.parent


def test_a_parent_named_without_an_order_word_still_lists_its_children(assistant):
    found = children_asked(assistant.retriever.analyse("Which cards sit under Risk Assessment?"),
                           assistant.retriever.sections())
    assert found.parent == "Risk Assessment" and len(found.sections) == 5 and not found.lead


def test_an_order_word_inside_a_parents_name_is_its_name(tmp_path_factory):
    """"What are the sub-areas of Assessment Before Deployment?" asks for the parent card's sub-areas; "before" is its
    name's (on a development page, "the sub-areas of Clinical Care After a Bite" listed the cards after that card)."""
    text = CORPUS.read_text(encoding="utf-8").replace("Risk Assessment", "Assessment Before Deployment")
    page = written_page_assistant(text, "shipped-page.txt", tmp_path_factory)
    answer = page.answer("What are the sub-areas of Assessment Before Deployment?")
    assert len(answer.citations) == 5 and all(c.heading.startswith("Assessment Before Deployment ›")
                                              for c in answer.citations)
    assert answer.text.startswith("**Assessment Before Deployment** has 5 sections under it:")


@pytest.mark.parametrize("question", ["Which cards on this page are not grouped under Incident Reporting?",
                                      "List the cards outside the Incident Reporting heading."])
def test_the_cards_outside_a_parent(third_page, question):
    answer = third_page.answer(question)  # before: the parent's own sub-areas, the opposite of what was asked
    assert not answer.refused and [c.title for c in answer.citations] == THIRD_CARDS[:3]
    assert answer.text.startswith("3 cards sit outside **Incident Reporting**:")
