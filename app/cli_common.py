"""What every `consensus-chat` command shares: the one-line error edge, the index options and the Config."""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path

import click


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
            raise CLIError(str(exc)) from exc
        except ValueError as exc:
            raise CLIError(str(exc)) from exc
        except OSError as exc:
            # The disk said no (full, read-only, permissions): the user can fix that, so no "unexpected".
            where = f" ({exc.filename})" if exc.filename else ""
            raise CLIError(f"{exc.strerror or exc}{where}. Check that the path exists, is writable and "
                           "that the disk has space.") from exc
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
            ) from exc

    return wrapper


def make_config(index_dir=None, chroma_host=None, chroma_port=None, model=None, **extra):
    """The Config from the index options, then the environment (read now, at call time)."""
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


def echo_json(data) -> None:
    """Print data as indented JSON (the --json output of every command)."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))
