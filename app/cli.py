"""The `consensus-chat` command group. It is the one place that reaches every package; it imports lazily.

Each command lives in a module of its own job (cli_index, cli_query, cli_serve, cli_eval, cli_feedback); the shared
options and the error edge are in cli_common.
"""

from __future__ import annotations

import os

import click

from .cli_eval import eval_
from .cli_feedback import feedback
from .cli_index import ingest, sections
from .cli_query import ask, search
from .cli_serve import serve

EPILOG_MAIN = """\b
Examples:
  consensus-chat ingest                      # index the shipped document
  consensus-chat search "chain-of-thought faithfulness"
  consensus-chat ask "Which sections cite Turpin?"
  consensus-chat serve --port 7860           # the web chat
  consensus-chat eval --json                 # score retrieval
"""


@click.group(epilog=EPILOG_MAIN, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="consensus-chat")
def main():
    """Ask a research-priorities document questions; get answers with section codes and verified citations."""
    from consensus_chat.ingest.telemetry import disable_telemetry

    # Chroma, Gradio and onnxruntime phone home unless told not to; this tool never does.
    disable_telemetry()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


for command in (sections, ingest, search, ask, serve, eval_, feedback):
    main.add_command(command)


if __name__ == "__main__":
    main()
