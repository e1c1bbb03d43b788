"""Source keys of surnames with particles ("Di Lorenzo", "van der Berg", "De Vries-B"), end to end on a real index."""

from __future__ import annotations

import pytest

from consensus_chat.retriever.keyphrases import find_key_phrases, phrase_table
from consensus_chat.ingest.words import tokens
from conftest import written_page_assistant

PAGE = """\
This page is still being polished. If you have thoughts, please share them via the feedback form.
Practices for showing where a piece of generated media came from.
Also in Governance
Content provenance records the origin and edit history of images, audio and text.
Reasoning
Provenance lets people check whether media was produced by a model.
Invisible watermarks
Statistical watermarks hide a signal in the token choices of a language model so that a detector can later recognise its text (Di Lorenzo). Paraphrasing weakens the signal (see below).
4.1.1 Detection & AttributionMetadata manifests
Signed manifests attach the capture device and every later edit to a file (van der Berg, Turpin). Stripping the manifest is easy (for example, audits found most platforms drop it).
4.1.2 Standards & InteroperabilityDetector robustness
Detectors of synthetic images fail on compressed or cropped copies (De Vries-B). Ensembles of detectors recover part of the loss (Figure 2).
4.2.1 Benchmarks & EvaluationPublic disclosure labels
Labels that tell viewers an image is synthetic change how much they trust it, though the effect fades with repeated exposure (e.g. Le Roux, see above).
4.3.1 Governance & OversightTracing Synthetic Media: A Review of Provenance Methods
Okafor, Chidi; Lindqvist, Maja (2024)
This review compares watermarking, signed metadata and detection as ways to trace generated media.
Deploy Model
Releasing the system to its users
Developer
The organisation that builds the model
"""


@pytest.fixture(scope="module")
def page_assistant(tmp_path_factory):
    """The page's Assistant, in a new index of its own."""
    return written_page_assistant(PAGE, "provenance.txt", tmp_path_factory)


@pytest.fixture(scope="module")
def page_retriever(page_assistant):
    """The module's one retriever: the page's Assistant's own."""
    return page_assistant.retriever


def test_the_page_cites_the_keys_whole(page_retriever):
    cited = {s.title: s.citations for s in page_retriever.sections() if s.kind == "card"}
    assert cited == {"Invisible watermarks": ("Di Lorenzo",), "Metadata manifests": ("van der Berg", "Turpin"),
                     "Detector robustness": ("De Vries-B",), "Public disclosure labels": ("Le Roux",)}


NAMED = [
    ("What does Di Lorenzo's work show?", "Di Lorenzo", "invisible-watermarks"),
    ("What does di lorenzo's work show?", "di lorenzo", "invisible-watermarks"),
    ("which section cites di lorenzo", "di lorenzo", "invisible-watermarks"),
    ("What does DI LORENZO find about watermarks?", "DI LORENZO", "invisible-watermarks"),
    ("What did van der Berg find?", "van der Berg", "metadata-manifests"),
    ("Van der Berg's findings on manifests?", "Van der Berg", "metadata-manifests"),
    ("What does De Vries show?", "De Vries", "detector-robustness"),  # the key without its suffix
    ("What does De Vries-B's work show?", "De Vries-B", "detector-robustness"),
    ("which sections cite de vries-b", "de vries-b", "detector-robustness"),
    ("What does Le  Roux say about labels?", "Le Roux", "public-disclosure-labels"),
]


@pytest.mark.parametrize("question, text, section", NAMED)
def test_a_key_of_several_words_is_found_as_people_write_it(page_retriever, question, text, section):
    topic = page_retriever.analyse(question)
    keys = [(e.text, e.ids) for e in topic.entities if e.kind == "source-key"]
    assert keys == [(text, (section,))]
    assert not {"lorenzo", "berg", "vries", "roux", "di", "der", "le"} & set(topic.words)


@pytest.mark.parametrize("question, section", [
    ("What does Di Lorenzo's work show?", "Invisible watermarks"),
    ("What does di lorenzo's work show?", "Invisible watermarks"),
    ("What did van der Berg find?", "Metadata manifests"),
    ("What does De Vries show?", "Detector robustness"),
    ("What does De Vries-B's work show?", "Detector robustness"),
    ("Le Roux", "Public disclosure labels"),
])
def test_a_question_naming_the_source_is_answered_from_the_section_citing_it(page_retriever, page_assistant,
                                                                           question, section):
    result = page_retriever.search(question, k=3)
    assert result.in_scope and result.hits[0].title == section
    answer = page_assistant.answer(question)
    assert not answer.refused and answer.citations[0].title == section


def test_which_section_cites_a_key_of_several_words(page_assistant):
    answer = page_assistant.answer("which section cites di lorenzo")
    assert not answer.refused
    assert [c.title for c in answer.citations] == ["Invisible watermarks"]
    assert "(Di Lorenzo)" in answer.citations[0].sentence


def test_the_surname_alone_with_a_possessive_names_the_source(page_retriever):
    topic = page_retriever.analyse("What does Lorenzo's work show?")
    assert [(e.kind, e.ids) for e in topic.entities] == [("source-key", ("invisible-watermarks",))]


@pytest.mark.parametrize("question", ["What does the der of a detector mean?", "Is di the plural of de?",
                                      "Who is Berg Lorenzo di?"])
def test_particles_and_surnames_out_of_order_name_no_key(page_retriever, question):
    assert not [e for e in page_retriever.analyse(question).entities if e.kind == "source-key" and " " in e.text]


def test_one_word_keys_make_no_phrase_table():
    """A page without keys of several words or hyphens reads questions exactly as before (the table is empty)."""
    table = phrase_table({"turpin": ["a"], "o'neil": ["c"]}, {"turpin": ["a"]})
    assert table == {}
    question = "What does Turpin's work show?"
    assert find_key_phrases(question, tokens(question), table) == []


@pytest.mark.parametrize("question", ["Which section cites Casper B?", "what does bloch wehba say?",
                                      "Which section references Bloch Wehba?", "What did bloch wehba's study show?"])
def test_a_hyphenated_key_written_with_a_space_is_the_key(question):
    """People write "Bloch-Wehba" as "Bloch Wehba" and "Casper-B" as "Casper B"; without the spaced form the second
    word was a name the document never mentions, and the question was refused."""
    table = phrase_table({"casper-b": ["b"], "bloch-wehba": ["w"]}, {"casper": ["b"], "bloch": ["w"]})
    found = find_key_phrases(question, tokens(question), table)
    assert [(p.ids, p.full) for p in found] == [(("b",) if "asper" in question else ("w",), True)]


def test_a_one_letter_suffix_written_apart_needs_its_capital():
    """"Casper a year ago": the article, not the key Casper-A."""
    table = phrase_table({"casper-a": ["b"]}, {"casper": ["b"]})
    question = "What did Casper a year ago find?"
    assert find_key_phrases(question, tokens(question), table) == []


@pytest.mark.parametrize("question", ["where does casper b come up", "casper b: what claim is that source supporting?",
                                      "What did Casper b show?"])
def test_a_one_letter_suffix_typed_in_lower_case_is_the_key(question):
    """People type names in lower case: "casper b" is Casper-B; only "a" and "i", which are words, need the capital."""
    table = phrase_table({"casper-b": ["b"]}, {"casper": ["b"]})
    found = find_key_phrases(question, tokens(question), table)
    assert [(p.ids, p.full) for p in found] == [(("b",), True)]


def test_a_lower_case_key_with_its_suffix_is_answered_from_its_section(page_retriever, page_assistant):
    question = "de vries b: what claim is that source supporting?"
    assert [e.text for e in page_retriever.analyse(question).entities if e.kind == "source-key"] == ["de vries b"]
    answer = page_assistant.answer(question)
    assert not answer.refused and answer.citations[0].title == "Detector robustness"


def test_a_spaced_key_is_answered_from_its_section(page_assistant):
    answer = page_assistant.answer("What did De Vries B find?")
    assert answer.citations and answer.citations[0].title == "Detector robustness"


def test_keys_of_one_and_several_words_keep_the_question_order(page_retriever):
    topic = page_retriever.analyse("Compare Turpin and Di Lorenzo's findings")
    assert [e.text for e in topic.entities if e.kind == "source-key"] == ["Turpin", "Di Lorenzo"]


@pytest.fixture(scope="module")
def apostrophe_page(tmp_path_factory):
    """The page with keys written with a straight apostrophe (O'Hara) and a curly one (O’Brien)."""
    page = PAGE.replace("(Di Lorenzo)", "(O'Hara)").replace("(De Vries-B)", "(O’Brien)")
    return written_page_assistant(page, "apostrophes.txt", tmp_path_factory)


@pytest.mark.parametrize("question, title", [
    ("What does O’Hara contribute on this page?", "Invisible watermarks"),  # typed curly, written straight
    ("What does O'Brien contribute here?", "Detector robustness"),  # typed straight, written curly
    ("What does Turpin contribute?", "Metadata manifests"),
])
def test_a_key_is_the_same_key_with_either_apostrophe_and_contribute_asks_for_its_work(apostrophe_page, question,
                                                                                        title):
    """A phone types "’" where the page has "'"; before, "O’Hara" was no key and the question was refused. "contribute"
    beside a named source says which work, as "contribution" did: before, on a page that never uses the verb, the
    question was refused for it."""
    topic = apostrophe_page.retriever.analyse(question)
    assert [e.kind for e in topic.entities] == ["source-key"] and topic.words == ()
    answer = apostrophe_page.answer(question)
    assert not answer.refused and answer.citations[0].title == title
