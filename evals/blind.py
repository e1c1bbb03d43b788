"""The blind test sets, scored apart from the development set and never read for ideas.

A blind set (format: pages.json, one question file per page, conversations.jsonl) is written and
committed before the changes it measures. `evals/blind43/` is the current one ("blind_test" in
`eval --json`). `evals/blind42/` ("earlier_blind_test"), `evals/blind41/` ("forty_first_blind_test"), `evals/blind40/` ("fortieth_blind_test"), `evals/blind39/` ("thirty_ninth_blind_test"), `evals/blind38/` ("thirty_eighth_blind_test"), `evals/blind37/` ("thirty_seventh_blind_test"), `evals/blind36/` ("thirty_sixth_blind_test"), `evals/blind35/` ("thirty_fifth_blind_test"), `evals/blind34/` ("thirty_fourth_blind_test"), `evals/blind33/` ("thirty_third_blind_test"), `evals/blind32/` ("thirty_second_blind_test"), `evals/blind31/` ("thirty_first_blind_test"), `evals/blind30/` ("thirtieth_blind_test"), `evals/blind29/` ("twenty_ninth_blind_test"), `evals/blind28/` ("twenty_eighth_blind_test"), `evals/blind27/` ("twenty_seventh_blind_test"), `evals/blind26/` ("twenty_sixth_blind_test"), `evals/blind25/` ("twenty_fifth_blind_test"), `evals/blind24/` ("twenty_fourth_blind_test"), `evals/blind23/` ("twenty_third_blind_test"), `evals/blind22/` ("twenty_second_blind_test"), `evals/blind21/` ("twenty_first_blind_test"), `evals/blind20/` ("twentieth_blind_test"), `evals/blind19/` ("nineteenth_blind_test"), `evals/blind18/` ("eighteenth_blind_test"), `evals/blind17/` ("seventeenth_blind_test"), `evals/blind16/` ("sixteenth_blind_test"), `evals/blind15/` ("fifteenth_blind_test"), `evals/blind14/` ("fourteenth_blind_test"), `evals/blind13/` ("thirteenth_blind_test"), `evals/blind12/` ("twelfth_blind_test"), `evals/blind11/` ("eleventh_blind_test"), `evals/blind10/` ("tenth_blind_test"), `evals/blind9/` ("ninth_blind_test"), `evals/blind8/` ("eighth_blind_test"), `evals/blind7/` ("seventh_blind_test"), `evals/blind6/` ("sixth_blind_test"), `evals/blind5/` ("fifth_blind_test"), `evals/blind4/` ("fourth_blind_test"),
`evals/blind3/` ("third_blind_test"), `evals/blind2/` ("second_blind_test") and `evals/blind/`
("first_blind_test") measured earlier turns; their figures were read then, so they no longer count as unseen. Each page is ingested into its own temporary index and its questions
asked there; no scope rule was ever fitted on them, so every scope figure here is of the kind
"blind test". The report gives aggregates only (per page, per slice, overall), never the questions.
"""

from __future__ import annotations

from pathlib import Path

from .page_sets import ROOT, SHIPPED_CORPUS, PageIndexes, by_slice, load_pages, search_questions, summary

BLIND_DIR = ROOT / "evals" / "blind43"
KIND = "blind test"
# Every blind set, newest first: (key in `eval --json`, folder, kind, heading of its part of the report).
_EARLIER = (  # (key, folder, ordinal): the sets that measured earlier turns; their figures were read then
    ("earlier_blind_test", "blind42", "earlier"),
    ("forty_first_blind_test", "blind41", "forty-first"),
    ("fortieth_blind_test", "blind40", "fortieth"),
    ("thirty_ninth_blind_test", "blind39", "thirty-ninth"),
    ("thirty_eighth_blind_test", "blind38", "thirty-eighth"),
    ("thirty_seventh_blind_test", "blind37", "thirty-seventh"),
    ("thirty_sixth_blind_test", "blind36", "thirty-sixth"),
    ("thirty_fifth_blind_test", "blind35", "thirty-fifth"),
    ("thirty_fourth_blind_test", "blind34", "thirty-fourth"),
    ("thirty_third_blind_test", "blind33", "thirty-third"),
    ("thirty_second_blind_test", "blind32", "thirty-second"),
    ("thirty_first_blind_test", "blind31", "thirty-first"),
    ("thirtieth_blind_test", "blind30", "thirtieth"),
    ("twenty_ninth_blind_test", "blind29", "twenty-ninth"),
    ("twenty_eighth_blind_test", "blind28", "twenty-eighth"),
    ("twenty_seventh_blind_test", "blind27", "twenty-seventh"),
    ("twenty_sixth_blind_test", "blind26", "twenty-sixth"),
    ("twenty_fifth_blind_test", "blind25", "twenty-fifth"),
    ("twenty_fourth_blind_test", "blind24", "twenty-fourth"),
    ("twenty_third_blind_test", "blind23", "twenty-third"),
    ("twenty_second_blind_test", "blind22", "twenty-second"),
    ("twenty_first_blind_test", "blind21", "twenty-first"),
    ("twentieth_blind_test", "blind20", "twentieth"),
    ("nineteenth_blind_test", "blind19", "nineteenth"),
    ("eighteenth_blind_test", "blind18", "eighteenth"),
    ("seventeenth_blind_test", "blind17", "seventeenth"),
    ("sixteenth_blind_test", "blind16", "sixteenth"),
    ("fifteenth_blind_test", "blind15", "fifteenth"),
    ("fourteenth_blind_test", "blind14", "fourteenth"),
    ("thirteenth_blind_test", "blind13", "thirteenth"),
    ("twelfth_blind_test", "blind12", "twelfth"),
    ("eleventh_blind_test", "blind11", "eleventh"),
    ("tenth_blind_test", "blind10", "tenth"),
    ("ninth_blind_test", "blind9", "ninth"),
    ("eighth_blind_test", "blind8", "eighth"),
    ("seventh_blind_test", "blind7", "seventh"),
    ("sixth_blind_test", "blind6", "sixth"),
    ("fifth_blind_test", "blind5", "fifth"),
    ("fourth_blind_test", "blind4", "fourth"),
    ("third_blind_test", "blind3", "third"), ("second_blind_test", "blind2", "second"),
    ("first_blind_test", "blind", "first"),
)
SETS = (
    ("blind_test", BLIND_DIR, KIND,
     "Blind test set (evals/blind43/: written before the changes it measures; scored, never read)"),
    *((key, ROOT / "evals" / folder, f"{ordinal} blind test (figures read)",
       f"{ordinal.capitalize()} blind test set (evals/{folder}/: its figures were read in the turn it measured, "
       "so it is no longer unseen)") for key, folder, ordinal in _EARLIER),
)
# Issue 18's targets: (metric, at least / at most, value).
TARGETS = (
    ("refusal_rate", ">=", 0.95), ("near_domain_refusal_rate", ">=", 0.90), ("false_refusal_rate", "<=", 0.03),
    ("hit@1", ">=", 0.92), ("mrr", ">=", 0.95), ("unknown_org_first_citation_relevant", ">=", 0.90),
    ("conversation_turns_right", ">=", 0.95), ("after_refusal_right", ">=", 1.0),
)


def available(blind_dir: Path = BLIND_DIR) -> bool:
    """Is there a blind test set to score?"""
    return (Path(blind_dir) / "pages.json").is_file()


def score_blind(config, blind_dir: Path | str = BLIND_DIR, root: Path = ROOT, progress=None, kind: str = KIND) -> dict:
    """Per-page, per-slice and overall figures of the blind set, and its conversations, each index built apart."""
    from .conversations import load_conversations, score_conversations

    blind_dir = Path(blind_dir)
    pages = load_pages(blind_dir / "pages.json", root)
    say = progress or (lambda msg: None)
    per_page, every = {}, []
    with PageIndexes(config, root, progress) as indexes:
        for page in pages:
            retriever, questions = indexes.questions(page)
            say(f"{kind}: {page['questions']}")
            rows = search_questions(retriever, questions, assistant=indexes.assistant(page["corpus"]))
            per_page[page["corpus"]] = {"questions": page["questions"], **_figures(rows), "kind": kind}
            every += rows
        conversations = None
        if (blind_dir / "conversations.jsonl").is_file():
            say(f"{kind}: conversations")
            convs = [{"corpus": SHIPPED_CORPUS, **c} for c in load_conversations(blind_dir / "conversations.jsonl")]
            conversations = score_conversations(None, convs, assistant_for=indexes.assistant)
            conversations["kind"] = kind
    overall = _figures(every)
    if conversations is not None:
        overall["conversation_turns_right"] = conversations["turn_accuracy_all_checks"]
        overall["after_refusal_right"] = conversations["after_refusal_right"]
    overall["kind"] = kind
    return {"set": kind, "dir": str(blind_dir), "kind": kind, "overall": overall,
            "targets": _targets(overall), "pages": per_page,
            "slices": {tag: {**row, "kind": kind} for tag, row in by_slice(every).items()},
            "conversations": _without_questions(conversations)}


def _figures(rows: list[dict]) -> dict:
    """`summary` plus the near-domain refusal rate and the unknown-organisation first-citation rate."""
    out = summary(rows)
    near = summary([r for r in rows if r["slice"] == "near_domain"])
    unknown = summary([r for r in rows if r["slice"] == "unknown_org"])
    out["near_domain_refusal_rate"] = near["refusal_rate"]
    out["unknown_org_first_citation_relevant"] = unknown.get("first_citation_relevant")
    return out


def _targets(overall: dict) -> list[dict]:
    """Each target with the measured figure and whether it is met (None when the set lacks the figure)."""
    out = []
    for name, op, value in TARGETS:
        got = overall.get(name)
        met = None if got is None else (got >= value if op == ">=" else got <= value)
        out.append({"metric": name, "target": f"{op} {value}", "value": got, "met": met})
    return out


def _without_questions(conversations: dict | None) -> dict | None:
    """The conversation scores without their turns' text: the blind set is scored, not read."""
    if conversations is None:
        return None
    rows = [{"id": c["id"], "turns_right": [t["right_all_checks"] for t in c["turns"]]}
            for c in conversations["conversations"]]
    return {**{k: v for k, v in conversations.items() if k != "conversations"}, "conversations": rows}
