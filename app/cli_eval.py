"""The `eval` command: score the development set and the blind test set apart.

It is the one command that imports `evals`, the package above `app`: the CLI is the one place that reaches every
package, and it imports the scorer lazily, inside the command, so no other command pays for it.
"""

from __future__ import annotations

from pathlib import Path

import click

from .cli_common import handle_errors, index_options, make_config


@click.command(name="eval", epilog="""\b
Examples:
  consensus-chat eval
  consensus-chat eval --json > scores.json
  consensus-chat eval --questions my-questions.jsonl --mode hybrid
  consensus-chat eval --out reports/            # Markdown report + PNG chart
  consensus-chat eval --no-blind --no-pages     # the development question set and conversations only
  consensus-chat eval --questions beir-dir/ --trec-out runs/   # BEIR-style in, TREC run + qrels out
  consensus-chat eval --retriever mypkg.rag:make_retriever     # any llama-index BaseRetriever beside ours
""")
@click.option("--questions", type=click.Path(path_type=Path), default=None,
              help="A JSONL question file, or a BEIR-style directory (queries.jsonl + qrels/test.tsv) "
                   "[default: evals/questions.jsonl].")
@click.option("--conversations", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A JSONL file of multi-turn conversations [default: evals/conversations.jsonl].")
@click.option("--retriever", "retrievers", multiple=True, metavar="MODULE:FACTORY",
              help="Also score this llama-index BaseRetriever (a factory called with no arguments); repeatable.")
@click.option("--trec-out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write qrels.txt and run.<mode>.txt in TREC format here.")
@click.option("--mode", type=click.Choice(["hybrid", "dense", "lexical", "all"]), default=None,
              help="Retrieval mode(s) to score [default: all].")
@click.option("--json", "as_json", is_flag=True, help="Print the scores as one JSON object.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write report.md and modes.png here.")
@click.option("--no-baseline", is_flag=True, help="Skip the llama-index SentenceSplitter baseline.")
@click.option("--no-pages", is_flag=True, help="Skip the development set's other pages (evals/pages/).")
@click.option("--no-blind", is_flag=True, help="Skip the blind test sets (evals/blind43/ and the earlier evals/blind42/, evals/blind41/, evals/blind40/, evals/blind39/, evals/blind38/, evals/blind37/, evals/blind36/, evals/blind35/, evals/blind34/, evals/blind33/, evals/blind32/, evals/blind31/, evals/blind30/, evals/blind29/, evals/blind28/, evals/blind27/, evals/blind26/, evals/blind25/, evals/blind24/, evals/blind23/, evals/blind22/, evals/blind21/, evals/blind20/, evals/blind19/, evals/blind18/, evals/blind17/, evals/blind16/, evals/blind15/, evals/blind14/, evals/blind13/, evals/blind12/, evals/blind11/, evals/blind10/, evals/blind9/, evals/blind8/, evals/blind7/, evals/blind6/, evals/blind5/, evals/blind4/, evals/blind3/, evals/blind2/, evals/blind/).")
@index_options
@handle_errors
def eval_(questions, conversations, retrievers, trec_out, mode, as_json, out, no_baseline, no_pages, no_blind,
          index_dir, chroma_host, chroma_port, model):
    """Score the development set and the blind test set apart: retrieval, refusals, answers, conversations.

    The other pages and the blind test set are scored only with the shipped question set (no --questions)."""
    # The one upward import (app -> evals): the CLI reaches every package, and only this command needs the scorer.
    from consensus_chat.evals.suite import main as run_eval

    config = make_config(index_dir, chroma_host, chroma_port, model)
    run_eval(config, questions=questions, mode=mode or "all", as_json=as_json, out=out, baseline=not no_baseline,
             retrievers=retrievers, trec_out=trec_out, conversations=conversations, blind=not no_blind,
             pages=not no_pages)
