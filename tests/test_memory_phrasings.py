"""Follow-ups as users phrase them, resolved from each answer's Turn: ordinals said many ways, steps and "the other
one", the cited sources when nothing was listed, questions back, refusals and their follow-ups, and one search per
follow-up. Through the Python API in every history shape, the web chat's callback, a real server's /chat and MCP."""

from __future__ import annotations

import pytest

from conftest import (HISTORY_SHAPES, SOURCE, CountingRetriever, api_picks, converse, evals_page_assistant, first_id,
                      history_as_pairs, history_as_state, mcp_chats, refused_follow_up)

from consensus_chat.app import chat, render
from consensus_chat.app.followup_context import points_back

IAISR = "Which sections cite IAISR?"
IAISR_LISTED = ["risk-assessment--audit-techniques-and-benchmarks", "risk-assessment--system-safety-assessment",
                "risk-assessment--metrology-for-ai-risk-assessment"]  # document order
CASPER = "Which sections cite Casper-B?"
CODED = "Which sections are coded 2.2.1?"
PRIDE = "Who wrote Pride and Prejudice?"


@HISTORY_SHAPES
@pytest.mark.parametrize("follow_up, place", [
    ("Tell me more about the 2nd", 1), ("number two", 1), ("tell me more about #3", 2), ("What about no. 1?", 0),
    ("the latter", 2), ("The former, please", 0), ("What does the last one say?", 2), ("and [2]?", 1)])
def test_an_ordinal_said_any_way_picks_from_the_list(assistant, shape, follow_up, place):
    first, answer = converse(assistant, [IAISR, follow_up], shape)
    assert first.turn.listed == tuple(IAISR_LISTED)
    assert not answer.refused and {c.id for c in answer.citations} == {IAISR_LISTED[place]}


@HISTORY_SHAPES
@pytest.mark.parametrize("questions, expected", [
    ([CODED, "What does the second say?"], "risk-assessment--downstream-impact-assessment-and-forecasting"),
    ([CASPER, "go with #1", "next one"], "risk-assessment--secure-evaluation-infrastructure"),
    (["Which sections are coded 2.4.1?", "second one", "and the other one?"], "mechanistic-interpretability")])
def test_a_looser_place_counts_when_nothing_else_is_asked(assistant, shape, questions, expected):
    *_, answer = converse(assistant, questions, shape)
    assert not answer.refused and {c.id for c in answer.citations} == {expected}


def test_two_places_answer_each_picked_section(assistant):
    _, both = converse(assistant, [IAISR, "compare the first and the last"])
    assert [c.id for c in both.citations] == [IAISR_LISTED[0], IAISR_LISTED[2]]
    assert both.resolved_question == "compare Audit techniques and benchmarks and Metrology for AI risk assessment"


def test_a_bare_follow_up_after_a_bare_one_continues_the_same_question(assistant):
    *_, again = converse(assistant, ["Which sections cite Turpin?", "more", "more?"])
    assert again.resolved_question == "more? — Which sections cite Turpin?"


@HISTORY_SHAPES
def test_the_next_the_previous_and_the_other_one_step_from_the_picked_section(assistant, shape):
    *_, previous = converse(assistant, [CODED, "the third one", "and the previous one?"], shape)
    assert first_id(previous) == "risk-assessment--downstream-impact-assessment-and-forecasting"
    *_, other = converse(assistant, [CASPER, "Tell me about the first one", "what about the other one?"], shape)
    assert first_id(other) == "risk-assessment--secure-evaluation-infrastructure"
    *_, past = converse(assistant, [CODED, "the third one", "the next one"], shape)
    assert past.refused and past.citations == [] and "Which do you mean?" in past.body


def test_an_ordinal_counts_the_cited_sources_when_nothing_was_listed(assistant):
    first, last, cites = converse(assistant, ["How can models be tested for harmful behaviours?", "the last one",
                                               "Who does it cite?"])
    assert first.turn.listed == () and len(first.turn.cited) == 2, "a free answer quoting two sections"
    assert first_id(last) == first.turn.cited[-1] and first_id(cites) == first.turn.cited[-1]


@HISTORY_SHAPES
def test_a_question_back_about_a_place_keeps_the_list_to_pick_again(assistant, shape):
    first, back, again = converse(assistant, [IAISR, "what about number 5?", "the second one then"], shape)
    assert back.refused and back.citations == [] and back.sources == []
    assert "listed 3 sections" in back.body and "Which do you mean?" in back.body
    assert back.turn.listed == tuple(IAISR_LISTED)
    assert not again.refused and first_id(again) == IAISR_LISTED[1]


@pytest.mark.parametrize("place", ["number two", "Tell me more about the second one", "#2"])
def test_a_place_with_nothing_to_count_in_is_asked_back(assistant, place):
    free, answer = converse(assistant, ["Tell me about explainability", place])
    assert len(free.turn.cited) == 1 and not free.turn.listed
    assert answer.refused and answer.citations == [] and "Which section do you mean?" in answer.body
    step = assistant.answer("What is the first step of a risk assessment?", [free])
    assert step.resolved_question == "What is the first step of a risk assessment?", "a topic of its own stands"


@HISTORY_SHAPES
@pytest.mark.parametrize("first, follow_up", [
    (PRIDE, "the second one"), (PRIDE, "Tell me more about the first one"), ("Who wrote Moby Dick?", "Who wrote it?"),
    ("How do I bake sourdough bread?", "and how long should it rise?"), ("What is the capital of France?", "Why?"),
    ("What is the best stock to buy in 2025?", "tell me more about #3")])
def test_a_follow_up_to_a_refusal_is_never_answered(assistant, shape, first, follow_up):
    refused_follow_up(assistant, first, follow_up, shape)


@HISTORY_SHAPES
def test_a_new_topic_after_a_refusal_is_answered_fresh(assistant, shape):
    *_, fresh = converse(assistant, [PRIDE, "When was it published?", "Tell me about explainability instead"], shape)
    assert not fresh.refused and first_id(fresh) == "explainability"
    assert fresh.resolved_question == "Tell me about explainability instead"


@HISTORY_SHAPES
@pytest.mark.parametrize("questions, expected", [(["Who wrote the report?", "When?"], "2025"),
                                                 (["When was the report published?", "Who?"], "Bengio"),
                                                 (["Who are the authors of the document?", "when was that?"], "2025")])
def test_a_bare_wh_word_after_a_question_about_the_report(assistant, shape, questions, expected):
    *_, answer = converse(assistant, questions, shape)
    assert first_id(answer) == SOURCE and expected in answer.body


def test_a_follow_up_with_state_costs_one_search(assistant):
    from consensus_chat.app.assistant import Assistant

    counting = CountingRetriever(assistant.retriever)
    counted = Assistant(counting, assistant.config)
    history = converse(assistant, ["What does the document say about explainability?", "Why?", "who is cited?"])
    for question in ["What does the document say about metrology?", "And its sources?", "When?", "the second one"]:
        counting.searches = 0
        counted.answer(question, history)
        assert counting.searches <= 1, question


def test_the_development_conversations_stay_right(assistant):
    """Every page-free development conversation, scored as `eval` scores it, with state and with text alone."""
    from consensus_chat.evals.conversations import load_conversations, score_turn

    conversations = [c for c in load_conversations() if "corpus" not in c]
    for shape in (history_as_state, history_as_pairs):
        right = total = 0
        for conversation in conversations:
            answers = []
            for turn in conversation["turns"]:
                answer = assistant.answer(turn["question"], shape(answers))
                right += score_turn(turn, answer, answers[-1] if answers else None)["right_all_checks"]
                total += 1
                answers.append(answer)
        # Three turns miss for reasons outside memory: two fresh questions rank the parent card or the overview
        # first, and "the second one" after that one-section answer is rightly asked back.
        assert total == 210 and right >= total - 3, shape.__name__


# ---------------------------------------------------------------------------------------------------------------
# The web chat, a real server's /chat, and MCP `chat`


def test_the_web_chat_picks_the_latter_and_refuses_after_a_refusal(assistant):
    memory: dict = {}
    first = list(chat.respond(IAISR, [], {}, memory, assistant=assistant))[-1]
    latter = list(chat.respond("the latter", first, {}, memory, assistant=assistant))[-1]
    assert "Metrology for AI risk assessment" in latter[-1]["content"]
    assert "System safety assessment" not in latter[-1]["content"]
    refused = list(chat.respond(PRIDE, [], {}, memory, assistant=assistant))[-1]
    for remembered in (memory, None):
        again = list(chat.respond("the second one", refused, {}, remembered, assistant=assistant))[-1]
        assert render.unescape_text(again[-1]["content"]).startswith(render.REFUSAL_LINE)


@pytest.mark.slow
def test_api_chat_resolves_new_phrasings_with_the_turn_or_the_text(chat_client):
    first = api_picks(chat_client, IAISR, IAISR_LISTED, "number two", 1)
    back = chat_client.predict("what about number 5?", [first], api_name="/chat")
    assert back["refused"] and back["turn"]["listed"] == IAISR_LISTED
    again = chat_client.predict("the second one then", [first, back], api_name="/chat")
    assert again["citations"][0]["id"] == IAISR_LISTED[1]
    latter = chat_client.predict("the latter", [first], api_name="/chat")
    pairs = [[IAISR, first["answer"]], ["the latter", latter["answer"]]]
    previous = chat_client.predict("and the previous one?", pairs, api_name="/chat")
    assert previous["citations"][0]["id"] == IAISR_LISTED[1]
    refused = chat_client.predict(PRIDE, [], api_name="/chat")
    for follow_up in ("the second one", "When was it published?"):
        answer = chat_client.predict(follow_up, [refused], api_name="/chat")
        assert answer["refused"] and answer["citations"] == [] and answer["sources"] == []


@pytest.mark.slow
def test_mcp_chat_resolves_new_phrasings_and_refuses_after_a_refusal(served):
    _, [[_, third], [_, after]] = mcp_chats(served, [IAISR, "tell me more about #3"], [PRIDE, "When was it published?"])
    assert not third.isError and third.structuredContent["citations"][0]["id"] == IAISR_LISTED[2]
    assert after.structuredContent["refused"] and after.structuredContent["citations"] == []


@HISTORY_SHAPES
def test_a_place_then_a_question_of_its_own_asks_that_question_of_the_picked_section(assistant, shape):
    """"And the last one, what does it say current approaches lack?": the clause after the place is a question of its
    own; it was put into the last question's frame ("Which research areas cite <the picked title>, what does …")."""
    _, answer = converse(assistant, [IAISR, "And the last one, what does it say current approaches lack?"], shape)
    assert answer.citations[0].title == "Metrology for AI risk assessment"
    assert "standardisation, repeatability, and precision" in answer.text
    _, again = converse(assistant, [IAISR, "and the second one?"], shape)  # no clause: the last question again
    assert again.citations[0].title == "System safety assessment" and "IAISR" in again.text


@HISTORY_SHAPES
def test_this_weekend_is_a_time_not_a_pointer_back(third_page, shape):
    """"this weekend", "this season": a time counted from now. Read as a pronoun, it joined an off-topic question to
    the card the last answer was about, which then answered it."""
    *_, answer = converse(third_page, ["What are near misses?", "How cold will Oslo get this weekend?"], shape)
    assert answer.refused and not answer.citations
    assert points_back("What does this say?") and not points_back("Who won the cup this season?")


@HISTORY_SHAPES
def test_thanks_then_a_question_about_a_name_the_page_never_uses_starts_anew(third_page, shape):
    """"Thanks." closes the last answer, so the "it" of "Is it going to rain …?" points back to nothing: the question
    is judged alone and refused. Before, it was joined with the review's title and answered from it. Without a name
    the document never uses, a pronoun after "Thanks." still continues."""
    review = "Learning from Failure: Incident Reporting for Deployed Systems"
    first = "Who are the authors of the incident reporting review?"
    *_, rain = converse(third_page, [first, "Which industries are compared in it?",
                                     "Thanks. Is it going to rain in Manchester tomorrow?"], shape)
    assert rain.refused and not rain.citations
    _, compared = converse(third_page, [first, "Thanks. Which industries are compared in it?"], shape)
    assert not compared.refused and compared.citations[0].title == review
    _, boeing = converse(third_page, [first, "Thanks. Does Boeing use it?"], shape)  # the cost (docs/scope.md)
    assert boeing.refused


@HISTORY_SHAPES
def test_it_beside_a_layout_word_is_the_card_just_shown_when_that_card_uses_the_words(assistant, shape):
    """"What are the three research directions it lists?" after the Risk Assessment card: the card uses "research", so
    "it" may be that card, and the follow-up is decided as one (it continues). Before, a layout word beside covered
    words made "it" the document's, and the answer was another card. "What does it say about metrology?" still
    leaves for the card titled with its word."""
    first = "Is there a card for risk assessment as a whole?"
    *_, lists = converse(assistant, [first, "What code does it have?",
                                     "What are the three research directions it lists?"], shape)
    assert lists.citations[0].title == "Risk Assessment" and "metrology" in lists.text
    _, metrology = converse(assistant, [first, "What does it say about metrology?"], shape)
    assert metrology.citations[0].title == "Metrology for AI risk assessment"


@pytest.fixture(scope="module")
def sixteenth_page(tmp_path_factory):
    """Blind set 12's sixteenth page (now development data), on drowning in homes and villages."""
    return evals_page_assistant("blind12/sixteenth-page.txt", tmp_path_factory)


@HISTORY_SHAPES
def test_a_bare_who_after_a_card_asks_whom_it_cites(sixteenth_page, shape):
    """"Who?" after a card is "Who is cited?" of that card. Before, it was the last question again with "Who?" before
    it ("Who? — Which card talks about covers for wells?"), which the page does not cover, and it was refused."""
    card, who = converse(sixteenth_page, ["Which card talks about covers for wells?", "Who?"], shape)
    assert not who.refused
    assert who.citations[0].title == card.citations[0].title == "Covers for wells and water containers"
    assert "Linnan" in who.text


@pytest.fixture(scope="module")
def seventeenth_page(tmp_path_factory):
    """Blind set 13's seventeenth page (now development data), on snakebite."""
    return evals_page_assistant("blind13/seventeenth-page.txt", tmp_path_factory)


@HISTORY_SHAPES
def test_a_question_the_user_calls_unrelated_is_refused_unless_it_names_the_page(seventeenth_page, shape):
    """"Unrelated, but how do I clean leather boots?" says itself that it is not about the document: refused, with a
    question back, and the turn after it is refused as after any refusal. Before, on this page (which has a card on
    boots), it was judged as a new question and answered from that card. Naming the document keeps the question the
    page's own ("Off topic: who wrote this report?")."""
    first = "Do boots prevent bites?"
    *_, boots, why = converse(seventeenth_page, [first, "Unrelated, but how do I clean leather boots?", "Why?"], shape)
    assert boots.refused and not boots.citations and "unrelated to the document" in boots.text
    assert why.refused and not why.citations
    _, report = converse(seventeenth_page, [first, "Off topic: who wrote this report?"], shape)
    assert not report.refused and report.citations[0].kind == "source"


@HISTORY_SHAPES
def test_a_question_led_by_a_preposition_after_a_refusal_is_refused_again(tmp_path_factory, shape):
    """"In how many weeks?" hangs on the refused question as "And in France?" does. Before, it was searched alone and,
    on a page that speaks of weeks (blind set 28's avalanche page, now development data), answered from a card. A
    question of several clauses led by a preposition ("About snowpack tests: what does the page say?") still stands
    alone."""
    page = evals_page_assistant("blind28/thirty-second-page.txt", tmp_path_factory)
    refused, weeks = converse(page, ["What is the capital of Peru?", "In how many weeks?"], shape)
    assert refused.refused and weeks.refused and not weeks.citations
    _, about = converse(page, ["What is the capital of Peru?", "About snowpack tests: what does the page say?"], shape)
    assert not about.refused and about.citations[0].title == "Snowpack tests and weak layers"
