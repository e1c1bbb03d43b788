"""The parser follows the layout rules: the shipped page, a second page, and bad input."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import CLI, CORPUS, ROOT
from consensus_chat.ingest.errors import CorpusFormatError
from consensus_chat.ingest.parser import _citations, parse_file

EXPECTED_CARDS = [
    # (code, label, title, parent, citations)
    ("2.4.1", "Research & Foundations", "Mechanistic interpretability", None, ["Clymer", "Buhl", "Sharkey"]),
    ("1.2.9", "Other", "Explainability", None, ["Gryz", "Casper-B", "Bordt"]),
    ("1.1.2", "Learning Objectives", "LLM chain-of-thought faithfulness and legibility", None,
     ["Turpin", "Anthropic-D", "OpenAI-E"]),
    ("1.1.1", "Training Data", "Attributing model behaviours to training data", None,
     ["Grosse", "Anthropic-F", "Engstrom", "Ilyas"]),
    ("2.4.1", "Research & Foundations", "Studying goals in systems", None,
     ["Ngo", "Khan", "Mazeika", "MacDermott", "Marks"]),
    ("2.2.1", "Risk Assessment", "Risk Assessment", None, []),
    ("3.2.1", "Benchmarks & Evaluation", "Audit techniques and benchmarks", "Risk Assessment", ["IAISR", "Birhane-A"]),
    ("2.2.1", "Risk Assessment", "Downstream impact assessment and forecasting", "Risk Assessment", []),
    ("3.2.2", "Technical Standards", "Secure evaluation infrastructure", "Risk Assessment",
     ["Reuel", "Bucknall-A", "Casper-B"]),
    ("2.2.1", "Risk Assessment", "System safety assessment", "Risk Assessment",
     ["IAISR", "Hendrycks-B", "AISES", "Alaga"]),
    ("3.2.1", "Benchmarks & Evaluation", "Metrology for AI risk assessment", "Risk Assessment", ["IAISR", "Hobbhahn"]),
]


@pytest.fixture(scope="module")
def shipped():
    return parse_file(CORPUS)


def test_shipped_corpus_is_a_byte_copy_of_shared():
    shared = ROOT.parent / "shared" / "corpus" / "interpretability-singapore-consensus.txt"
    if not shared.exists():
        pytest.skip("../shared is not beside this clone")
    assert CORPUS.read_bytes() == shared.read_bytes()


def test_every_card_code_label_title_parent_citations(shipped):
    cards = [s for s in shipped if s.kind == "card"]
    got = [(s.code, s.label, s.title, s.parent, list(s.citations)) for s in cards]
    assert got == EXPECTED_CARDS


def test_kinds_and_order(shipped):
    assert [s.kind for s in shipped] == ["overview"] + ["card"] * 11 + ["source", "tags"]


def test_source_record(shipped):
    source = next(s for s in shipped if s.kind == "source")
    assert source.title == "The Singapore Consensus on Global AI Safety Research Priorities"
    assert source.year == 2025
    assert source.authors[0] == "Bengio, Yoshua" and source.authors[-1] == "Žikelić, Djordje"
    assert "first International AI Safety Report" in source.text
    # "(AI)", "(OECD)", "(EU)", "(UN)" define acronyms; they are not citations.
    assert source.citations == ()


def test_overview_and_tags(shipped):
    overview = shipped[0]
    assert overview.text.startswith("This page is still being polished.")
    assert overview.text.endswith("insights into system behavior and trustworthiness.")
    tags = shipped[-1]
    assert tags.tags == (
        ("Build and Use Model", "Training, fine-tuning, and integrating the AI model"),
        ("Developer", "Entity that creates, trains, or modifies the AI system"),
        ("Measure", "Quantifying, testing, and monitoring identified AI risks"),
    )


def test_ids_are_stable_unique_slugs(shipped):
    ids = [s.id for s in shipped]
    assert len(set(ids)) == len(ids)
    assert "risk-assessment--metrology-for-ai-risk-assessment" in ids
    assert "risk-assessment" in ids


def test_cross_references_are_not_citations(shipped):
    mech = shipped[1]
    assert "(see above)" in mech.text and "above" not in mech.citations
    cot = shipped[3]
    assert "OpenAI-E" in cot.citations and not any("2.1.1" in c for c in cot.citations)


def test_line_spans_point_at_the_card(shipped):
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    metrology = next(s for s in shipped if s.title == "Metrology for AI risk assessment")
    assert "Metrology for AI risk assessment" in lines[metrology.line_start - 1]
    assert lines[metrology.line_end - 1].startswith("3.2.1 Benchmarks & Evaluation")


def test_second_document_in_the_same_layout():
    sections = parse_file(ROOT / "tests" / "data" / "second-page.txt")
    cards = [(s.code, s.label, s.title, s.parent, list(s.citations)) for s in sections if s.kind == "card"]
    assert cards == [
        ("4.1.2", "Security Engineering", "Adversarial robustness testing", None, ["Goodfellow", "Madry-A", "Carlini"]),
        ("10.3.12", "Governance & Policy Processes", "Jailbreak evaluations", None, ["Wei-B", "Zou"]),
        ("4.1.2", "Security Engineering", "Third-party red teaming", "Red Teaming", ["Ganguli", "OECD-AI"]),
        ("2.3", "Other", "Reporting and disclosure", "Red Teaming", ["Householder"]),
        ("10.3.12", "Governance & Policy Processes", "AI-assisted red teaming", None, ["Perez", "Ganguli"]),
    ]
    source = next(s for s in sections if s.kind == "source")
    assert (source.title, source.year, source.authors) == (
        "Red Teaming in Practice: A Field Guide", 2024, ("Doe, Jane", "Roe, Richard", "Nguyen, Thi"))
    assert source.citations == ()  # "(WHO)" defines an acronym
    assert [t for t, _ in next(s for s in sections if s.kind == "tags").tags] == ["Evaluate Model", "Auditor"]


def test_crlf_bom_and_trailing_spaces_parse_the_same(tmp_path, shipped):
    text = CORPUS.read_text(encoding="utf-8")
    odd = "\ufeff" + "\r\n".join(line + "   " for line in text.split("\n"))
    path = tmp_path / CORPUS.name
    path.write_bytes(odd.encode("utf-8"))
    assert [s.to_dict() for s in parse_file(path)] == [s.to_dict() for s in shipped]


BAD_INPUTS = {
    "missing": (None, "file not found"),
    "not-utf8": (b"Title\n\xff\xfe bad bytes\n2.2.1 Risk AssessmentNext\n", "not valid UTF-8"),
    "empty": (b"\n  \n", "empty"),
    "no-card": (b"Just a heading\nSome prose without any code line.\n", "no research-area card"),
}


def _bad_file(tmp_path, case: str) -> tuple[Path, str]:
    """The bad input `case` written to a file (or no file, for "missing"), and the words its error must hold."""
    content, needle = BAD_INPUTS[case]
    path = tmp_path / f"{case}.txt"
    if content is not None:
        path.write_bytes(content)
    return path, needle


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_raises_a_clear_error(tmp_path, case):
    path, needle = _bad_file(tmp_path, case)
    with pytest.raises(CorpusFormatError) as info:
        parse_file(path)
    assert needle in str(info.value) and str(path) in str(info.value)


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_on_the_command_line_exits_2_and_keeps_the_index(tmp_path, case, config):
    path, needle = _bad_file(tmp_path, case)
    manifest = (config.index_dir / "manifest.json").read_bytes()
    proc = subprocess.run([CLI, "ingest", "--corpus", str(path), "--index-dir", str(config.index_dir)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and needle in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert (config.index_dir / "manifest.json").read_bytes() == manifest


def test_sections_json_lists_the_eleven_cards():
    proc = subprocess.run([CLI, "sections", "--json"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    cards = [d for d in data if d["kind"] == "card"]
    assert [c["code"] for c in cards] == [c[0] for c in EXPECTED_CARDS]
    assert set(data[0]) >= {"id", "kind", "code", "label", "title", "parent", "text", "citations",
                            "source_file", "line_start", "line_end"}


def test_a_section_read_back_from_its_dict_is_the_same_section():
    """Section.from_dict sets the fields on a bare instance (faster than the frozen __init__ at 100,000 sections):
    every field comes back, equal and hashing alike, for every kind of section on two pages."""
    from dataclasses import fields

    from consensus_chat.ingest.section import Section

    sections = parse_file(CORPUS) + parse_file(ROOT / "tests" / "data" / "second-page.txt")
    assert {s.kind for s in sections} >= {"card", "source", "overview"}
    names = {f.name for f in fields(Section)}
    for section in sections:
        back = Section.from_dict(json.loads(json.dumps(section.to_dict())))
        assert back == section and hash(back) == hash(section) and back.content_hash == section.content_hash
        assert set(vars(back)) - {"content_hash"} == names  # no field left to a default it would have had
        assert all(type(getattr(back, n)) is type(getattr(section, n)) for n in names)


@pytest.mark.parametrize("paren, keys", [
    ("(Di Lorenzo)", ["Di Lorenzo"]),
    ("(van der Berg, Turpin)", ["van der Berg", "Turpin"]),
    ("(De Vries-B)", ["De Vries-B"]),
    ("(e.g. Le Roux)", ["Le Roux"]),
    ("(VON Neumann-A; see above)", ["VON Neumann-A"]),
    ("(St. John, al Hassan)", ["St. John", "al Hassan"]),
    ("(Di\nLorenzo)", ["Di Lorenzo"]),  # a key broken across lines is still one key
    ("(Kaboré, Sunderland)", ["Kaboré", "Sunderland"]),  # keys in any script
    ("(Øvergaard-B, Żuk, O'Neil)", ["Øvergaard-B", "Żuk", "O'Neil"]),
    ("(de Hénaff)", ["de Hénaff"]),
    ("(Ó Dálaigh, Ní Bhriain-B)", ["Ó Dálaigh", "Ní Bhriain-B"]),  # Irish particles
    ("(Nic Giolla; uí Néill)", ["Nic Giolla", "uí Néill"]),
    ("(d'Almeida, l’Hôpital-B; dell'Acqua)", ["d'Almeida", "l’Hôpital-B", "dell'Acqua"]),  # an elided particle
    ("(don't)", []),  # an apostrophe alone makes no key
])
def test_surname_keys_with_particles_are_citations(paren, keys):
    assert list(_citations(f"Watermarks survive paraphrasing {paren}.")) == keys


@pytest.mark.parametrize("paren", [
    "(see above)", "(for example, audits)", "(Figure 2)", "(New York)", "(de facto)", "(in Europe)",
    "(the Guardian)", "(van der)", "(la liga)", "(Open Philanthropy)", "(van der Berg et al.)",
    "(été)", "(2024)", "(µg)", "(_Private)", "(e.g.)", "(cf.)", "(i.e.)", "(ní hea)", "(ó and Ní)",
])
def test_ordinary_parentheses_are_not_surname_keys(paren):
    assert _citations(f"Watermarks survive paraphrasing {paren}.") == ()


def test_a_page_citing_surnames_with_particles(tmp_path):
    page = tmp_path / "page.txt"
    text = (ROOT / "tests" / "data" / "second-page.txt").read_text(encoding="utf-8")
    first = next(line for line in text.splitlines() if line.rstrip().endswith(")."))
    page.write_text(text.replace(first, first[:-1] + " (van der Berg, Di Lorenzo-B)."), encoding="utf-8")
    cards = [s for s in parse_file(page) if s.kind == "card"]
    assert cards[0].citations == ("Goodfellow", "Madry-A", "Carlini", "van der Berg", "Di Lorenzo-B")
