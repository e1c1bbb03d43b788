"""The `search` and `ask` commands: ranked sections and cited answers from an existing index."""

from __future__ import annotations

import click

from .cli_common import echo_json, handle_errors, index_options, make_config


def _notes(notices) -> None:
    for notice in notices:
        click.echo(f"Note: {notice}", err=True)


def _cleaned(text: str) -> str:
    """The query cleaned at the edge (its notices on stderr); QueryError when nothing usable is left.

    It is a CleanQuestion, so the assistant and the search below take it as it is instead of cleaning it again."""
    from consensus_chat.retriever.clean import clean_query

    text, notices = clean_query(text, limit=None)
    _notes(notices)
    return text


def _noted(result, as_json: bool) -> bool:
    """Print a result's notices, and the result itself as JSON when asked; True when that was all to print."""
    _notes(result.notices)
    if as_json:
        echo_json(result.to_dict())
    return as_json


def _open_retriever(config):
    from consensus_chat.retriever import open_retriever

    return open_retriever(config.index_dir, chroma_host=config.chroma_host, chroma_port=config.chroma_port,
                          model=config.model)


@click.command(epilog="""\b
Examples:
  consensus-chat search "how do we check what a model really computes?"
  consensus-chat search 3.2.2 --json
  consensus-chat search "risk" --code 2.2 -k 3
  consensus-chat search "Turpin" --mode lexical
""")
@click.argument("query")
@click.option("-k", type=int, default=5, show_default=True, help="Number of hits (1-50).")
@click.option("--mode", type=click.Choice(["hybrid", "dense", "lexical"]), default="hybrid", show_default=True)
@click.option("--code", "code_prefix", default=None, metavar="PREFIX", help="Only sections whose code starts with this, e.g. 2.2.")
@click.option("--label", default=None, help="Only sections with this label, e.g. 'Risk Assessment'.")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(["card", "source", "overview", "tags"]), help="Only these kinds.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@index_options
@handle_errors
def search(query, k, mode, code_prefix, label, kinds, as_json, index_dir, chroma_host, chroma_port, model):
    """Find the research areas that speak to a query. Needs an index: run `consensus-chat ingest` first."""
    query = _cleaned(query)  # refuse an unusable query before the model loads
    config = make_config(index_dir, chroma_host, chroma_port, model)
    retriever = _open_retriever(config)
    result = retriever.search(query, k=k, mode=mode, codes=[code_prefix] if code_prefix else None,
                              labels=[label] if label else None, kinds=list(kinds) or None)
    if _noted(result, as_json):
        return
    from rich.console import Console
    from rich.table import Table

    scope = "in scope" if result.in_scope else "OUT OF SCOPE: the document may not cover this; nearest sections:"
    table = Table(title=f"{result.query!r} ({mode}, {scope})")
    for col, just in (("#", "right"), ("code", "left"), ("title", "left"), ("score", "right")):
        table.add_column(col, justify=just)
    for rank, hit in enumerate(result.hits, 1):
        table.add_row(str(rank), hit.code or f"({hit.kind})", hit.heading, f"{hit.score:.3f}")
    Console().print(table)


@click.command(epilog="""\b
Examples:
  consensus-chat ask "Which sections cite Turpin?"
  consensus-chat ask "What is the code of the metrology section?" --json
  CONSENSUS_CHAT_LLM_BASE_URL=http://127.0.0.1:8080/v1 consensus-chat ask "..." --llm openai
""")
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@click.option("--llm", type=click.Choice(["extractive", "openai"]), default=None,
              help="Answer backend [env CONSENSUS_CHAT_LLM; default extractive].")
@index_options
@handle_errors
def ask(question, as_json, llm, index_dir, chroma_host, chroma_port, model):
    """Answer a question with inline [n] markers and a numbered source list."""
    from consensus_chat.app import open_assistant

    question = _cleaned(question)  # refuse an unusable question before the model loads
    config = make_config(index_dir, chroma_host, chroma_port, model, llm=llm)
    assistant = open_assistant(config=config)
    answer = assistant.answer(question)
    if _noted(answer, as_json):
        return
    from rich.console import Console
    from rich.markdown import Markdown

    Console().print(Markdown(answer.text))
