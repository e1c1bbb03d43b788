"""The `consensus-chat` command. It is the one place that reaches every package; it imports lazily."""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path

import click

EPILOG_MAIN = """\b
Examples:
  consensus-chat ingest                      # index the shipped document
  consensus-chat search "chain-of-thought faithfulness"
  consensus-chat ask "Which sections cite Turpin?"
  consensus-chat serve --port 7860           # the web chat
  consensus-chat eval --json                 # score retrieval
"""


class CLIError(click.ClickException):
    """A one-line error with exit code 2 and no traceback."""

    exit_code = 2

    def show(self, file=None):
        click.echo(f"Error: {self.format_message()}", err=True)


def handle_errors(fn):
    """Turn library errors into one clear line and exit code 2; never print a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from consensus_chat.ingest.errors import ConsensusChatError

        try:
            return fn(*args, **kwargs)
        except ConsensusChatError as exc:
            raise CLIError(str(exc)) from None
        except ValueError as exc:
            raise CLIError(str(exc)) from None
        except OSError as exc:
            # The disk said no (full, read-only, permissions): the user can fix that, so no "unexpected".
            where = f" ({exc.filename})" if exc.filename else ""
            raise CLIError(f"{exc.strerror or exc}{where}. Check that the path exists, is writable and "
                           "that the disk has space.") from None
        except KeyboardInterrupt:
            click.echo("Interrupted; the index is unchanged unless the ingest had finished.", err=True)
            sys.exit(130)
        except click.ClickException:
            raise
        except Exception as exc:  # noqa: BLE001 - the edge of the program: one line, not a traceback
            if os.environ.get("CONSENSUS_CHAT_DEBUG"):
                raise
            raise click.ClickException(
                f"unexpected {type(exc).__name__}: {exc}. Set CONSENSUS_CHAT_DEBUG=1 to see the traceback."
            ) from None

    return wrapper


def _config(index_dir=None, chroma_host=None, chroma_port=None, model=None, **extra):
    from consensus_chat.ingest.config import Config

    return Config.from_env(index_dir=index_dir, chroma_host=chroma_host, chroma_port=chroma_port, model=model, **extra)


def index_options(fn):
    """--index-dir, --chroma-host, --chroma-port, --model."""
    fn = click.option("--model", default=None, metavar="PATH",
                      help="A local sentence-transformers model directory [env CONSENSUS_CHAT_MODEL].")(fn)
    fn = click.option("--chroma-port", type=click.IntRange(1, 65535), default=None,
                      help="Port of the Chroma server [env CONSENSUS_CHAT_CHROMA_PORT].")(fn)
    fn = click.option("--chroma-host", default=None,
                      help="Use a Chroma server (`chroma run`) at this host [env CONSENSUS_CHAT_CHROMA_HOST].")(fn)
    fn = click.option("--index-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                      help="Index directory [env CONSENSUS_CHAT_HOME; default: per-user data dir].")(fn)
    return fn


def _echo_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@click.group(epilog=EPILOG_MAIN, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="consensus-chat")
def main():
    """Ask a research-priorities document questions; get answers with section codes and verified citations."""
    from consensus_chat.ingest.telemetry import disable_telemetry

    # Chroma, Gradio and onnxruntime phone home unless told not to; this tool never does.
    disable_telemetry()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


@main.command(epilog="""\b
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
        _echo_json([s.to_dict() for s in found])
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


@main.command(epilog="""\b
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

    config = _config(index_dir, chroma_host, chroma_port, model)
    report = run_ingest(list(corpus) or None, config, rebuild=rebuild, quiet=quiet or as_json)
    if report.repaired:
        click.echo(f"Note: the index was rebuilt: {report.repaired}.", err=True)
    if as_json:
        _echo_json({k: report.to_dict()[k] for k in ("sections", "added", "updated", "unchanged", "removed", "seconds")})
        return
    click.echo(
        f"{report.sections} sections: {report.added} added, {report.updated} updated, "
        f"{report.unchanged} unchanged, {report.removed} removed "
        f"({report.embedded_chunks} chunks embedded) in {report.seconds:.2f}s -> {report.index}"
    )


def _open_retriever(config, ensure_index: bool = False, quiet: bool = True):
    from consensus_chat.retriever import open_retriever

    if ensure_index:
        _ensure_index(config, quiet=quiet)
    return open_retriever(config.index_dir, chroma_host=config.chroma_host, chroma_port=config.chroma_port,
                          model=config.model)


def _ensure_index(config, quiet: bool = True) -> None:
    """Ingest the default corpus when no index exists yet (serve does this)."""
    from consensus_chat.ingest.store import open_store

    if open_store(config).read_manifest() is None:
        from consensus_chat.ingest.pipeline import ingest as run_ingest

        click.echo(f"No index at {config.index_dir}; ingesting the default corpus first...", err=True)
        run_ingest(None, config, quiet=quiet)


@main.command(epilog="""\b
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
    from consensus_chat.retriever.clean import clean_query

    query, cleaned = clean_query(query, limit=None)  # refuse an unusable query before the model loads
    for notice in cleaned:
        click.echo(f"Note: {notice}", err=True)
    config = _config(index_dir, chroma_host, chroma_port, model)
    retriever = _open_retriever(config)
    result = retriever.search(query, k=k, mode=mode, codes=[code_prefix] if code_prefix else None,
                              labels=[label] if label else None, kinds=list(kinds) or None)
    for notice in result.notices:
        click.echo(f"Note: {notice}", err=True)
    if as_json:
        _echo_json(result.to_dict())
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


@main.command(epilog="""\b
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
    from consensus_chat.retriever.clean import clean_query

    question, cleaned = clean_query(question, limit=None)  # refuse an unusable question before the model loads
    for notice in cleaned:
        click.echo(f"Note: {notice}", err=True)
    config = _config(index_dir, chroma_host, chroma_port, model, llm=llm)
    assistant = open_assistant(config=config)
    answer = assistant.answer(question)
    for notice in answer.notices:
        click.echo(f"Note: {notice}", err=True)
    if as_json:
        _echo_json(answer.to_dict())
        return
    from rich.console import Console
    from rich.markdown import Markdown

    Console().print(Markdown(answer.text))


def _forwarded_ips(ctx, param, value):
    """Check --forwarded-allow-ips: IP addresses or networks (uvicorn would take a typo as a host name)."""
    if value is None:
        return None
    import ipaddress

    items = [item.strip() for item in value.split(",") if item.strip()]
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise click.BadParameter(f"{item!r} is not an IP address or network (e.g. 10.0.0.5 or 10.0.0.0/24).")
    return ",".join(items)


@main.command(epilog="""\b
Examples:
  consensus-chat serve                       # http://127.0.0.1:7860
  consensus-chat serve --port 8080 --llm openai
  consensus-chat serve --host 0.0.0.0 --auth-file users.txt
  consensus-chat serve --auth-file users.txt --forwarded-allow-ips 127.0.0.1   # behind nginx on this host
""")
@click.option("--host", default="127.0.0.1", show_default=True, help="Bind address; 0.0.0.0 must be asked for.")
@click.option("--port", type=click.IntRange(0, 65535), default=7860, show_default=True)
@click.option("--llm", type=click.Choice(["extractive", "openai"]), default=None, help="Answer backend.")
@click.option("--auth-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Lines of user:password-hash; turns on the login page.")
@click.option("--forwarded-allow-ips", default=None, metavar="IPS", callback=_forwarded_ips,
              help="Your reverse proxy's addresses or networks, comma-separated: only requests from them may set "
                   "X-Forwarded-For (used for the per-address login limit). Default: trust no forwarded header.")
@index_options
@handle_errors
def serve(host, port, llm, auth_file, forwarded_allow_ips, index_dir, chroma_host, chroma_port, model):
    """Start the web chat (ingests the default corpus first if there is no index)."""
    from consensus_chat.app import open_assistant
    from consensus_chat.app.auth import load_auth_file
    from consensus_chat.app.web import launch

    if auth_file:
        load_auth_file(auth_file)  # a bad auth file fails now, not after the model has loaded
    config = _config(index_dir, chroma_host, chroma_port, model, llm=llm)
    _ensure_index(config, quiet=False)
    assistant = open_assistant(config=config)
    launch(assistant, host=host, port=port, auth_file=auth_file, forwarded_allow_ips=forwarded_allow_ips)


@main.command(name="eval", epilog="""\b
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
@click.option("--no-blind", is_flag=True, help="Skip the blind test sets (evals/blind2/ and the earlier evals/blind/).")
@index_options
@handle_errors
def eval_(questions, conversations, retrievers, trec_out, mode, as_json, out, no_baseline, no_pages, no_blind,
          index_dir, chroma_host, chroma_port, model):
    """Score the development set and the blind test set apart: retrieval, refusals, answers, conversations.

    The other pages and the blind test set are scored only with the shipped question set (no --questions)."""
    # The one upward import in the package: `eval` drives the evaluation, which sits above the app (it scores
    # the app's assistant), so the CLI reaches evals here only, lazily.
    from consensus_chat.evals.suite import main as run_eval

    config = _config(index_dir, chroma_host, chroma_port, model)
    run_eval(config, questions=questions, mode=mode or "all", as_json=as_json, out=out, baseline=not no_baseline,
             retrievers=retrievers, trec_out=trec_out, conversations=conversations, blind=not no_blind,
             pages=not no_pages)



@main.group(epilog="""\b
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

    config = _config(index_dir, chroma_host, chroma_port, model)
    store = FeedbackStore(config.index_dir)
    lines = [dumps_line(vote.eval_line()) for vote in store.votes(liked=False)]
    text = "".join(line + "\n" for line in lines)
    if out is None:
        click.echo(text, nl=False)
    else:
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CLIError(f"Cannot write {out}: {exc.strerror or exc}. Pick a writable path with --out.") from None
    click.echo(f"{len(lines)} disliked answer(s) from {store.path}; label each line's kind, relevant_titles and "
               "relevant_codes, then add them to your question file.", err=True)


if __name__ == "__main__":
    main()
