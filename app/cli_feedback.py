"""The `feedback export` command: the web chat's disliked answers as question-file lines to label."""

from __future__ import annotations

from pathlib import Path

import click

from .cli_common import CLIError, handle_errors, index_options, make_config


@click.group(epilog="""\b
Examples:
  consensus-chat feedback export > to-label.jsonl     # the disliked answers, one eval line each
  consensus-chat feedback export --out to-label.jsonl --index-dir ./idx
""")
def feedback():
    """Thumbs up/down from the web chat, stored in the index home (feedback.sqlite3)."""


@feedback.command(name="export")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the lines to this file instead of standard output.")
@index_options
@handle_errors
def feedback_export(out, index_dir, chroma_host, chroma_port, model):
    """Write the disliked answers as evals/questions.jsonl lines for a person to label."""
    from consensus_chat.app.feedback import FeedbackStore
    from consensus_chat.ingest.jsonl import dumps_line

    config = make_config(index_dir, chroma_host, chroma_port, model)
    store = FeedbackStore(config.index_dir)
    lines = [dumps_line(vote.eval_line()) for vote in store.votes(liked=False)]
    text = "".join(line + "\n" for line in lines)
    if out is None:
        click.echo(text, nl=False)
    else:
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CLIError(f"Cannot write {out}: {exc.strerror or exc}. Pick a writable path with --out.") from exc
    click.echo(f"{len(lines)} disliked answer(s) from {store.path}; label each line's kind, relevant_titles and "
               "relevant_codes, then add them to your question file.", err=True)
