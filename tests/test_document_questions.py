"""Questions about the document itself and its layout, end to end on real indexes: where the page comes from ("What
report is this page drawn from?"), which of its authors ("Who is its first author?"), what sits under an area
("Which sub-areas sit under <area>?"), which areas share a code, and follow-ups that count in those lists."""

from __future__ import annotations

import pytest

from consensus_chat.app.ordinals import only_a_place, strict_places
from consensus_chat.ingest.lookups import Lookups
from consensus_chat.ingest.parser import parse_file
from conftest import DATA, HISTORY_SHAPES, converse, written_page_assistant


@pytest.mark.parametrize("question", [
    "Which report is this page based on?",
    "What paper is the material on this page derived from?",
    "What is the title of the report behind this page?",
])
def test_where_the_page_comes_from_is_the_source_record(assistant, question):
    answer = assistant.answer(question)
    assert not answer.refused
    assert answer.citations[0].title.startswith("The Singapore Consensus")
    assert "2025" in answer.text  # the report answer: title, year and authors


@HISTORY_SHAPES
def test_which_author_after_the_source_record_is_answered_from_it(third_page, shape):
    first, when, who = converse(third_page, ["Which review is this page drawn from?", "When?",
                                             "Who is its first author?"], shape)
    for answer in (first, when, who):
        assert not answer.refused and answer.citations[0].title.startswith("Learning from Failure")
    assert "2023" in when.text
    assert "Rivera" in who.text  # the record's first author


@HISTORY_SHAPES
def test_a_bare_who_after_the_source_record_asks_who_wrote_it(third_page, shape):
    """"Who?" after an answer from the record (a question about what the review does, not when or who) was the last
    question again with "who" before it, and quoted the review's abstract, naming none of its authors."""
    *_, who = converse(third_page, ["What does the review say software teams can learn from older industries?",
                                    "Who?"], shape)
    assert not who.refused and who.citations[0].title.startswith("Learning from Failure")
    assert "Rivera" in who.text and "Song" in who.text


def test_a_guess_at_who_wrote_the_pages_own_source_is_answered_from_its_record(second_page, third_page):
    """A name the document never mentions, offered as a guess at who made the page's own source ("the guide behind
    this page"), is no topic of its own: the record says who did. Before, the name was the topic and it was refused.
    Without the page's source ("Who wrote the EU AI Act?") the name is the topic, refused as before."""
    answer = second_page.answer("Was the field guide behind this page written by the Brookings Institution, or by whom?")
    assert not answer.refused and answer.citations[0].title == "Red Teaming in Practice: A Field Guide"
    assert "Doe, Jane" in answer.text
    assert third_page.answer("Who wrote the EU AI Act?").refused


def test_an_ordinal_before_a_noun_is_not_a_place_in_a_list(assistant):
    analyse = assistant.retriever.analyse
    assert not only_a_place("Who is its first author?", analyse)
    assert not only_a_place("Who is the first author?", analyse)
    assert not only_a_place("Who is listed first among its authors?", analyse)  # "among" is no topic word
    assert only_a_place("What does the second say?", analyse)
    assert only_a_place("the last one", analyse)
    assert strict_places("tell me about that first area")  # "that" as well as "the"


@HISTORY_SHAPES
def test_sub_areas_said_with_a_verb_of_containment_are_listed_and_counted(third_page, shape):
    listed, picked = converse(third_page, ["Which sub-areas sit under Incident Reporting?", "that first area"], shape)
    assert [c.title for c in listed.citations] == ["Near-miss reporting", "Whistleblower protections"]
    assert not picked.refused and picked.citations[0].title == "Near-miss reporting"


def test_areas_that_share_a_code_are_listed(third_page):
    answer = third_page.answer("Which two areas share the code 5.2.1?")
    assert not answer.refused
    assert {c.title for c in answer.citations} == {"Root cause analysis", "Near-miss reporting"}


def test_share_is_a_topic_word_without_a_code_or_label(third_page):
    topic = third_page.retriever.analyse("Why should labs share incident records?")
    assert "share" in topic.words


def test_another_documents_section_is_still_refused(assistant):
    assert assistant.answer("What is section 3.2.2 of the building code about?").refused


@HISTORY_SHAPES
def test_what_about_last_year_after_a_refusal_is_refused_again(assistant, shape):
    refused, follow_up = converse(assistant, ["What fines does GDPR set for data breaches?",
                                              "What about last year?"], shape)
    assert refused.refused and follow_up.refused


@pytest.fixture(scope="module")
def fourth_page(tmp_path_factory):
    """evals/pages/fourth-page.txt, whose parent area "Provenance" is also a word of the document's own name."""
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "evals" / "pages" / "fourth-page.txt").read_text(encoding="utf-8")
    return written_page_assistant(text, "fourth-page.txt", tmp_path_factory)


@pytest.mark.parametrize("question", ["list the Provenance sub-areas", "Enumerate the subsections of Provenance."])
def test_list_words_ask_for_the_sub_areas_even_of_a_parent_named_like_the_document(fourth_page, question):
    topic = fourth_page.retriever.analyse(question)
    assert not topic.words  # "list" and "sub-areas" say what shape of answer, not what about
    answer = fourth_page.answer(question)
    assert not answer.refused
    assert [c.title for c in answer.citations] == ["Dataset documentation", "Model cards and disclosure"]


@HISTORY_SHAPES
def test_a_date_asked_of_it_after_a_name_the_document_never_mentions_is_refused(assistant, shape):
    first, follow_up = converse(assistant, ["Under the EU AI Act, how should high-risk systems be assessed?",
                                            "When did it come into force?"], shape)
    assert not first.refused  # answered for the covered rest, with the name noted
    assert follow_up.refused and "EU AI Act" in follow_up.text and not follow_up.citations


@HISTORY_SHAPES
def test_the_covered_rest_of_a_question_with_an_unknown_name_is_still_followed_up(assistant, shape):
    answers = converse(assistant, ["How could Meta detect that Llama is hiding its true reasoning in its chain of "
                                   "thought?", "Why does it matter?", "Who has studied it?"], shape)
    for answer in answers:
        assert not answer.refused
        assert answer.citations[0].title == "LLM chain-of-thought faithfulness and legibility"


@HISTORY_SHAPES
def test_a_clause_with_that_after_a_refusal_is_a_question_of_its_own(assistant, shape):
    refused, answer = converse(assistant, ["Tell me about the plot of the film Ex Machina.",
                                           "Could inspecting a model's internals confirm that unlearning of "
                                           "dangerous capabilities worked?"], shape)
    assert refused.refused
    assert not answer.refused and answer.citations[0].title == "Mechanistic interpretability"


@HISTORY_SHAPES
def test_that_standing_alone_after_a_refusal_still_leans_on_it(assistant, shape):
    refused, answer = converse(assistant, ["Tell me about the plot of the film Ex Machina.",
                                           "Who is cited for that?"], shape)
    assert refused.refused and answer.refused and not answer.citations


@HISTORY_SHAPES
def test_a_follow_up_quotes_what_it_asks_of_the_section_not_what_repeats_its_title(third_page, shape):
    first, follow_up = converse(third_page, ["When was the incident reporting review published?",
                                             "Which industries does it compare?"], shape)
    assert follow_up.citations[0].title.startswith("Learning from Failure")
    assert "aviation" in follow_up.text


@HISTORY_SHAPES
@pytest.mark.parametrize("page, first, then, expected", [
    ("second_page", "How can a language model write attack prompts?",
     "Should the testers be independent from the developer?", "Third-party red teaming"),
    ("third_page", "What is near-miss reporting?", "Do anonymous channels have drawbacks?",
     "Whistleblower protections"),
])
def test_a_question_whose_words_the_shown_section_never_uses_is_a_new_topic(request, page, first, then, expected,
                                                                              shape):
    # Joined with the shown section's title, these questions still led to it: the title outweighed their words.
    shown, asked = converse(request.getfixturevalue(page), [first, then], shape)
    assert not shown.refused and not asked.refused
    assert asked.citations[0].title == expected
    assert " — " not in asked.resolved_question  # not joined with the shown section's title


@HISTORY_SHAPES
@pytest.mark.parametrize("follow_up", ["What is the overview about?", "What does the overview say?"])
def test_the_overview_named_after_another_answer_is_the_overview(assistant, shape, follow_up):
    # "the overview" names a part of the document: it was joined with the section just shown and quoted that.
    _, answer = converse(assistant, ["What is explainability?", follow_up], shape)
    assert not answer.refused and answer.citations[0].title == "Overview"


@pytest.mark.parametrize("question", ["Who is the review's first author?", "Who is the first author?"])
def test_which_author_of_the_document_is_its_source_record(third_page, question):
    # "first" beside the authors says which of them, not a topic: before, it was searched and found another section.
    answer = third_page.answer(question)
    assert not answer.refused and answer.citations[0].title.startswith("Learning from Failure")


@pytest.mark.parametrize("question", ["Who is the lead author of the source document?",
                                      "Who is the senior author of the report?", "Who are the lead authors?",
                                      "When was the report released?", "When did the paper come out?",
                                      # two everyday words beside a noun for the document say how it is asked
                                      # ("lead", "names", "evidence", "taken"); "publication" names the document too
                                      "Who were the lead names on the report, and what year did it come out?",
                                      "Which publication is this page's evidence taken from, and who were its main authors?"])
def test_a_word_before_author_says_which_author_not_what_about(assistant, question):
    # "lead" (everyday English) was a topic word the page never uses, so the question was refused; "senior" is one it
    # uses ("senior leadership"), so its card was found instead of the source record; "When was the report released?"
    # asked nothing about authorship ("released" is no word for publishing) and was refused.
    answer = assistant.answer(question)
    assert not answer.refused and answer.citations[0].title.startswith("The Singapore Consensus")


@pytest.mark.parametrize("question", ["Who wrote the report on climate?", "Who is the president of the document?",
                                      "When was the report on bread written?", "Who wrote the report on climate change?",
                                      "Who published the report on football transfers?"])
def test_authorship_beside_a_topic_the_document_never_uses_is_still_refused(assistant, question):
    assert assistant.answer(question).refused


@pytest.mark.parametrize("question", ["What does the underlying report knowingly leave out?",
                                      "Which readers was the source report mostly written for?",
                                      "Which year did the report come out, and whose name is among its authors?"])
def test_what_the_source_work_says_of_itself_in_everyday_words_is_its_source_record(assistant, question):
    # Its scope, readers or goal (`Topic.about_work`) or its authors, with everyday words saying how ("mostly",
    # "outside"), was judged by the scope rule on those words alone and refused; "whose" and "among" were topic words.
    answer = assistant.answer(question)
    assert not answer.refused and answer.citations[0].title.startswith("The Singapore Consensus")


@pytest.mark.parametrize("question", ["What does the source report leave out about knitting patterns?",
                                      "Who is the lead author of the report on rainfall statistics?"])
def test_the_source_work_beside_a_topic_of_its_own_is_still_refused(assistant, question):
    assert assistant.answer(question).refused


def test_what_a_named_source_recommends_is_asked_of_it(second_page):
    # "recommend" is what is asked of the work, like "say" or "find": before, it was a topic word the page never uses.
    answer = second_page.answer("What does Householder's work recommend?")
    assert not answer.refused and answer.citations[0].title == "Reporting and disclosure"


@pytest.mark.parametrize("question", ["List the research areas", "What research areas does the document cover?"])
def test_the_research_areas_are_the_documents_list_of_areas(assistant, question):
    # "research" before "areas" is the layout's name for a card: it was a topic word, and the question was searched
    # as "research" and answered with two cards that happen to use it. The areas are listed, each cited in the page's
    # order (retriever/listing.py; before, the overview answered and named them uncited).
    answer = assistant.answer(question)
    assert not answer.refused and answer.citations[0].title == "Mechanistic interpretability"
    assert len(answer.citations) == 11 and answer.citations[-1].title == "Metrology for AI risk assessment"
    assert answer.text.startswith("The page has 11 research areas:")


def test_research_beside_another_word_is_still_a_topic(assistant):
    analysed = assistant.retriever.analyse("What research is there on metrology?")
    assert "research" in analysed.words


@HISTORY_SHAPES
def test_the_codes_of_two_topics_are_each_topics_code(third_page, shape):
    # One code was given, for the first part's card; the second part was dropped without a word.
    asked, picked = converse(third_page, ["What are the codes for near misses and whistleblowers?", "the second one"],
                             shape)
    assert [c.title for c in asked.citations][:2] == ["Near-miss reporting", "Whistleblower protections"]
    assert "5.2.1" in asked.text and "6.3" in asked.text
    assert picked.citations[0].title == "Whistleblower protections"


def test_the_code_of_one_topic_is_still_its_cards_code(third_page):
    answer = third_page.answer("What is the code for near misses?")
    assert "is coded **5.2.1" in answer.text and len(answer.citations) == 1


@pytest.mark.parametrize("question, first", [("Summarise the page in two sentences", "Overview"),
                                             ("Summarize the guide in three bullet points", "Overview"),
                                             ("List the areas as a table", "Incident databases")])
def test_how_the_answer_should_look_is_no_topic(third_page, question, first):
    # "sentences", "bullet points", "table" were topic words the page never uses: the questions were refused. The
    # areas asked for are listed, each cited (retriever/listing.py); the summaries are the overview's.
    answer = third_page.answer(question)
    assert not answer.refused and answer.citations[0].title == first


def test_a_form_word_outside_a_form_phrase_is_still_a_topic(third_page):
    assert third_page.answer("How do I format bullet points in a table?").refused
    assert third_page.retriever.analyse("Briefly, what is root cause analysis?").words == ()


@pytest.mark.parametrize("question", ["Switching topics: which tags does this page carry?",
                                      "Moving on: which tags does this page carry?"])
def test_how_a_turn_opens_is_no_topic(second_page, question):
    # "switching", "topics", "moving" were topic words the page never uses: the question was refused.
    answer = second_page.answer(question)
    assert not answer.refused and answer.citations[0].title == "Tags"


def test_an_opening_word_is_no_topic_only_before_a_pause_or_the_question(third_page):
    analyse = third_page.retriever.analyse
    assert "mind" not in analyse("Never mind. How do incident databases work?").words
    assert "thanks" not in analyse("OK, thanks. Now, what is root cause analysis?").words
    # Guard: the same words inside a question are its topic.
    assert "next" in analyse("What are the next steps after a near miss?").words
    assert "steps" in analyse("Next steps for incident databases?").words


@pytest.mark.parametrize("question", ["Tell me more about root cause analysis.", "Summarise root cause analysis"])
def test_asking_for_more_about_a_titled_section_quotes_the_whole_card(third_page, question):
    # Before, one best sentence: "Blame-free reviews …", the card's second sentence, was never shown.
    answer = third_page.answer(question)
    assert [c.title for c in answer.citations] == ["Root cause analysis"] * 2
    assert "Blame-free reviews make staff more willing to come forward." in answer.text
    assert len(third_page.answer("Tell me more about incident databases").citations) == 3
    # A question about one thing in a card is answered first by the sentence that answers it; the rest of the (short)
    # card follows as its context.
    answer = third_page.answer("Why is coverage of incident databases uneven?")
    assert "voluntary" in answer.citations[0].sentence and answer.body.startswith("Coverage is uneven")


def test_codes_of_a_kind_named_before_them_are_a_topic_not_the_pages_codes(third_page):
    # "building codes" asked for the card's code ("is coded 3.1.2") instead of what the card says about them.
    analyse = third_page.retriever.analyse
    assert "codes" in analyse("What does the page say about building codes?").words
    # Guards: the page's own codes, however they are asked for.
    for question in ("Which areas share codes?", "What are the section codes?", "What is the near-miss code?"):
        assert "codes" not in analyse(question).words and "code" not in analyse(question).words


@pytest.mark.parametrize("question, line", [
    ("Which category is this page also in?", "Also in Security [1]"),
    ("What is the parent category?", "Also in Security [1]"),
    ("Why was this classified as it is?", "Red teaming is an evaluation practice that exposes hidden failure modes. [1]"),
    ("What is the reasoning for the classification?",
     "Red teaming is an evaluation practice that exposes hidden failure modes. [1]"),
])
def test_the_overviews_layout_lines_answer_questions_about_the_category_and_its_reasoning(second_page, question, line):
    # Before: the page notice ("This page is still being polished.") for the category, the bare heading "Reasoning"
    # quoted as a sentence for the reasoning, and "What is the parent category?" was refused ("parent").
    answer = second_page.answer(question)
    assert not answer.refused and line in answer.text
    assert "Reasoning [1]" not in answer.text and "still being polished" not in answer.text


def test_the_bare_reasoning_heading_is_never_quoted_alone(second_page):
    # Guard: a free question on the overview quotes its sentences, never the heading line.
    sentences, _ = second_page.retriever.sentences(next(s for s in second_page.retriever.sections()
                                                        if s.kind == "overview"))
    assert "Reasoning" not in sentences and "Also in Security" in sentences


def test_other_in_lower_case_before_category_is_no_label(assistant):
    # The shipped page labels a card "Other"; "Which other category …?" listed that card instead of the category.
    answer = assistant.answer("Which other category is this mitigation also listed in?")
    assert "Also in Organisation [1]" in answer.text
    # Guard: the label as the page writes it still lists its cards.
    assert [c.title for c in assistant.answer("Which cards are labelled Other?").citations] == ["Explainability"]


def test_the_source_of_the_page_is_its_source_record(third_page):
    # "What is the source of this page?" quoted the overview; the source record says where the page comes from.
    answer = third_page.answer("What is the source of this page?")
    assert answer.citations[0].title == "Learning from Failure: Incident Reporting for Deployed Systems"
    # Guard: the sources the page cites are not its source record.
    assert third_page.answer("Which sources does the near-miss card cite?").citations[0].title == "Near-miss reporting"


@pytest.mark.parametrize("question, line", [
    ("Which category is red teaming also part of?", "Also in Security [1]"),
    ("Why was red teaming classified the way it is on this page?",
     "Red teaming is an evaluation practice that exposes hidden failure modes. [1]"),
    ("What reasoning is given for how it was classified?",
     "Red teaming is an evaluation practice that exposes hidden failure modes. [1]"),
])
def test_the_mitigation_named_by_its_own_words_asks_the_overviews_layout_lines(second_page, question, line):
    # "red teaming" is the mitigation's own name (its description: "Red teaming exercises …"), but the cards use it
    # too and ranked first: the answer quoted a card. "reasoning" beside "classified" is the `Reasoning` line, and
    # "given" asks with a light verb: the question was refused.
    answer = second_page.answer(question)
    assert not answer.refused and answer.citations[0].title == "Overview" and line in answer.text


def test_a_cards_own_words_beside_category_stay_the_cards(assistant):
    # Guard: words the mitigation's description does not use ("chain-of-thought") are a card's topic.
    answer = assistant.answer("Which category does chain-of-thought reasoning fall under?")
    assert answer.citations[0].title == "LLM chain-of-thought faithfulness and legibility"


def test_a_count_of_the_answers_parts_is_its_form_not_its_topic(third_page):
    # "Give three bullet points on …": without "in" or "as" before it, the count and the form noun were topic words.
    assert third_page.retriever.analyse("Give three bullet points on near-miss reporting.").words == ()
    assert "points" in third_page.retriever.analyse("How many points does an incident report score?").words  # guard


@HISTORY_SHAPES
def test_the_report_named_by_its_title_is_answered_from_its_record_first(assistant, shape):
    # "What is the Singapore Consensus report about?" quoted the page's overview first; the record's abstract says.
    about, when = converse(assistant, ["What is the Singapore Consensus report about?", "When?"], shape)
    assert about.citations[0].title == "The Singapore Consensus on Global AI Safety Research Priorities"
    assert "2025" in when.text  # a bare "When?" after the record asks the document's date
    # Guard: the page itself, not named by its report's title, is its overview.
    assert assistant.answer("What is this page about?").citations[0].title == "Overview"


def test_a_category_named_by_its_title_is_that_section_not_the_overview(assistant):
    # Guard for the layout lines: "category" beside a section's title asks about that section ("What code does …
    # itself have?"), not about the page's category.
    answer = assistant.answer("What code does the Risk Assessment category itself have?")
    assert answer.citations[0].title == "Risk Assessment" and "2.2.1" in answer.text


def test_where_picks_the_sentence_naming_places():
    from consensus_chat.app.overview import place_sentence

    sentences = ["Authors: Okafor, Ada; Lindqvist, Per (2021)",
                 "It was prepared with nurses and engineers (Smith, Jones, Brown).",
                 "It covers hospitals in Kenya, Peru and Viet Nam, and clinics in Wales."]
    assert place_sentence("Where?", sentences, ("Okafor, Ada", "Lindqvist, Per")) == sentences[2]
    assert place_sentence("And where? — When was the document published?", sentences) == sentences[2]
    assert place_sentence("When?", sentences) is None
    assert place_sentence("Where?", sentences[:2], ("Okafor, Ada", "Lindqvist, Per")) is None  # no sentence names two


@HISTORY_SHAPES
def test_a_bare_where_after_the_source_record_quotes_where_it_looks(assistant, shape):
    # It quoted the same sentence as "When?" ("The report aims to provide scientific information …").
    *_, answer = converse(assistant, ["Who wrote the report?", "When?", "Where?"], shape)
    assert not answer.refused and answer.citations[0].title.startswith("The Singapore Consensus")
    assert "European Union" in answer.text



LEARNING = "Learning from Failure: Incident Reporting for Deployed Systems"


@pytest.mark.parametrize("question", ["Who are the first and last authors of Learning from Failure?",
                                      "When was Learning from Failure published, and who was first author?"])
def test_the_source_named_by_its_main_title_is_the_source_record(third_page, question):
    """A work is named by its title before the subtitle, as the page writes it (ingest/lookups.work_titles): those words
    name the document, and the source record answers. Before, "learning" and "failure" (words of a card too) stayed
    topic words, and a card answered."""
    answer = third_page.answer(question)
    assert not answer.refused and answer.citations[0].title == LEARNING


def test_the_main_titles_words_in_lower_case_are_everyday_words(third_page):
    answer = third_page.answer("what can we learn from failure in incident databases?")
    assert answer.citations[0].title == "Incident databases"


def test_saved_tables_written_before_work_titles_were_looked_up_still_load():
    lookups = Lookups(parse_file(DATA / "third-page.txt"))
    source = "learning-from-failure-incident-reporting-for-deployed-systems"
    assert lookups.work_titles == {"Learning from Failure": [source]}
    data = lookups.to_dict()
    del data["work_titles"]
    assert Lookups.from_dict(data).work_titles_in("Who wrote Learning from Failure?") == []
    assert [t for t, *_ in lookups.work_titles_in("What is Learning from Failure's aim?")] == ["Learning from Failure"]
    assert lookups.work_titles_in("What Is Learning From Failure's Aim?") == []  # Title Case: capitals name nothing


def test_the_label_a_parent_shares_is_listed_when_the_question_says_label(assistant):
    # "Risk Assessment" is a card's title, a parent's name and a label. Said as a label, its cards are listed (before:
    # the parent's five sub-areas, which the label's own card is not among); asked with other words, the parent's.
    labelled = assistant.answer("Which cards carry the label Risk Assessment?")
    assert [c.title for c in labelled.citations] == ["Risk Assessment", "Downstream impact assessment and forecasting",
                                                     "System safety assessment"]
    under = assistant.answer("Which cards fall under Risk Assessment?")
    assert [c.title for c in under.citations] == ["Audit techniques and benchmarks", "Downstream impact assessment and "
                                                  "forecasting", "Secure evaluation infrastructure",
                                                  "System safety assessment", "Metrology for AI risk assessment"]
