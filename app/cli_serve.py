"""The `serve` command: the web chat, ingesting the default corpus first when there is no index."""

from __future__ import annotations

from pathlib import Path

import click

from .cli_common import handle_errors, index_options, make_config


def _ensure_index(config, quiet: bool = True) -> None:
    """Ingest the default corpus when no index exists yet (serve does this)."""
    from consensus_chat.ingest.store import open_store

    if open_store(config).read_manifest() is None:
        from consensus_chat.ingest.pipeline import ingest as run_ingest

        click.echo(f"No index at {config.index_dir}; ingesting the default corpus first...", err=True)
        run_ingest(None, config, quiet=quiet)


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


@click.command(epilog="""\b
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
    config = make_config(index_dir, chroma_host, chroma_port, model, llm=llm)
    _ensure_index(config, quiet=False)
    assistant = open_assistant(config=config)
    launch(assistant, host=host, port=port, auth_file=auth_file, forwarded_allow_ips=forwarded_allow_ips)
