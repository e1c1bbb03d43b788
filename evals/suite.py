"""`consensus-chat eval`: the development set and the blind test set, scored and reported apart.

The development set is the question file (evals/questions.jsonl unless --questions), the other pages
of evals/pages/, evals/conversations.jsonl, evals/conversations-dev2.jsonl (a second conversation set written
apart from the follow-up rules, reported as `conversations_dev2`), evals/conversations-dev3.jsonl (a third,
reported as `conversations_dev3`) and evals/conversations-dev4.jsonl (a fourth, `conversations_dev4`); the CI
thresholds gate it alone. The blind test set
(evals/blind43/) and the earlier ones (evals/blind42/, evals/blind41/, evals/blind40/, evals/blind39/, evals/blind38/, evals/blind37/, evals/blind36/, evals/blind35/, evals/blind34/, evals/blind33/, evals/blind32/, evals/blind31/, evals/blind30/, evals/blind29/, evals/blind28/, evals/blind27/, evals/blind26/, evals/blind25/, evals/blind24/, evals/blind23/, evals/blind22/, evals/blind21/, evals/blind20/, evals/blind19/, evals/blind18/, evals/blind17/, evals/blind16/, evals/blind15/, evals/blind14/, evals/blind13/, evals/blind12/, evals/blind11/, evals/blind10/, evals/blind9/, evals/blind8/, evals/blind7/, evals/blind6/, evals/blind5/, evals/blind4/, evals/blind3/, evals/blind2/, evals/blind/, whose
figures were read in the turns they measured) are scored after it when the development set is the shipped one. `--json`
prints `{"development": {...}, "blind_test": {...}, "earlier_blind_test": {...}, "forty_first_blind_test": {...}, "fortieth_blind_test": {...}, "thirty_ninth_blind_test": {...}, "thirty_eighth_blind_test": {...}, "thirty_seventh_blind_test": {...}, "thirty_sixth_blind_test": {...}, "thirty_fifth_blind_test": {...}, "thirty_fourth_blind_test": {...}, "thirty_third_blind_test": {...}, "thirty_second_blind_test": {...}, "thirty_first_blind_test": {...}, "thirtieth_blind_test": {...}, "twenty_ninth_blind_test": {...}, "twenty_eighth_blind_test": {...}, "twenty_seventh_blind_test": {...}, "twenty_sixth_blind_test": {...}, "twenty_fifth_blind_test": {...}, "twenty_fourth_blind_test": {...}, "twenty_third_blind_test": {...}, "twenty_second_blind_test": {...}, "twenty_first_blind_test": {...}, "twentieth_blind_test": {...}, "nineteenth_blind_test": {...}, "eighteenth_blind_test": {...}, "seventeenth_blind_test": {...}, "sixteenth_blind_test": {...}, "fifteenth_blind_test": {...}, "fourteenth_blind_test": {...}, "thirteenth_blind_test": {...}, "twelfth_blind_test": {...}, "eleventh_blind_test": {...}, "tenth_blind_test": {...}, "ninth_blind_test": {...}, "eighth_blind_test": {...}, "seventh_blind_test": {...}, "sixth_blind_test": {...}, "fifth_blind_test": {...}, "fourth_blind_test": {...},
"third_blind_test": {...}, "second_blind_test": {...}, "first_blind_test": {...}}`;
the tables and report.md head each part with its name.
"""

from __future__ import annotations

import json
from pathlib import Path

from .questions import DEFAULT_QUESTIONS
from .searches import MODES


def main(config, questions: Path | None = None, mode: str = "all", as_json: bool = False,
         out: Path | None = None, baseline: bool = True, retrievers=(), trec_out: Path | None = None,
         conversations: Path | None = None, blind: bool = True, pages: bool = True) -> dict:
    """Run the eval: print JSON or tables, optionally write report.md + modes.png; return the full report."""
    import sys

    from .runner import run

    progress = None
    if not as_json and sys.stderr.isatty():
        from rich.console import Console

        err = Console(stderr=True)
        progress = lambda msg: err.print(f"[dim]{msg}...[/dim]")  # noqa: E731
    modes = MODES if mode == "all" else (mode,)
    shipped = questions is None or Path(questions).resolve() == DEFAULT_QUESTIONS
    development = run(config, questions, modes, baseline=baseline, progress=progress, retrievers=retrievers,
                      trec_out=trec_out, conversations=conversations)
    development["set"] = "development"
    if shipped and conversations is None:
        from .conversations import DEV_SETS, score_conversation_file

        for key, path, name, _ in DEV_SETS:
            if progress is not None:
                progress(f"conversations, {name} development set")
            development[key] = score_conversation_file(config, path, progress)
    if shipped and pages:
        from .page_sets import score_dev_pages

        development["pages"] = score_dev_pages(config, progress=progress)
    from . import blind as blind_set

    report = {"development": development, **{key: None for key, *_ in blind_set.SETS}}
    for key, folder, kind, _heading in blind_set.SETS:
        if shipped and blind and blind_set.available(folder):
            report[key] = blind_set.score_blind(config, folder, progress=progress, kind=kind)
    if out is not None:
        from .chart import write_chart
        from .report import write_markdown

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        write_markdown(report, out / "report.md")
        write_chart(development, out / "modes.png")
    if as_json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        from .report import print_tables

        print_tables(report)
        if out is not None:
            print(f"Wrote {out / 'report.md'} and {out / 'modes.png'}")
        if trec_out is not None:
            print(f"Wrote TREC qrels and runs to {trec_out}")
    return report
