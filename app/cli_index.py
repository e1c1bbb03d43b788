"""The `sections` and `ingest` commands: parse a document and build or update its index."""

from __future__ import annotations

from pathlib import Path

import click

from .cli_common import echo_json, handle_errors, index_options, make_config


@click.command(epilog="""\b
Examples:
  consensus-chat sections
  consensus-chat sections --json | jq '.[] | select(.kind=="card") | .code'
  consensus-chat sections --corpus my-page.txt
""")
@click.option("--corpus", type=click.Path(path_type=Path), default=None, help="Corpus file (default: the shipped document).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of sections.")
@handle_errors
def sections(corpus, as_json):
    """Print the sections the parser finds in a document."""
    from consensus_chat.ingest.config import default_corpus
    from consensus_chat.ingest.parser import parse_file

    found = parse_file(corpus or default_corpus())
    if as_json:
        echo_json([s.to_dict() for s in found])
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(found)} sections", show_lines=False)
    for col in ("kind", "code", "label", "title", "citations", "lines"):
        table.add_column(col)
    for s in found:
        table.add_row(s.kind, s.code or "", s.label or "", s.heading, ", ".join(s.citations),
                      f"{s.line_start}-{s.line_end}")
    Console().print(table)


@click.command(epilog="""\b
Examples:
  consensus-chat ingest
  consensus-chat ingest --corpus a.txt --corpus b.txt --index-dir ./idx
  consensus-chat ingest --rebuild --json
  consensus-chat ingest --chroma-host localhost --chroma-port 8000
""")
@click.option("--corpus", type=click.Path(path_type=Path), multiple=True, help="Corpus file(s); repeat for several.")
@index_options
@click.option("--rebuild", is_flag=True, help="Re-embed everything (needed after changing the model).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@handle_errors
def ingest(corpus, index_dir, chroma_host, chroma_port, model, rebuild, quiet, as_json):
    """Index a document; re-running on unchanged input embeds nothing."""
    from consensus_chat.ingest.pipeline import ingest as run_ingest

    config = make_config(index_dir, chroma_host, chroma_port, model)
    report = run_ingest(list(corpus) or None, config, rebuild=rebuild, quiet=quiet or as_json)
    if report.repaired:
        click.echo(f"Note: the index was rebuilt: {report.repaired}.", err=True)
    if as_json:
        echo_json({k: report.to_dict()[k] for k in ("sections", "added", "updated", "unchanged", "removed", "seconds")})
        return
    click.echo(
        f"{report.sections} sections: {report.added} added, {report.updated} updated, "
        f"{report.unchanged} unchanged, {report.removed} removed "
        f"({report.embedded_chunks} chunks embedded) in {report.seconds:.2f}s -> {report.index}"
    )
