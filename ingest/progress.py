"""What ingest shows on stderr: a progress bar on a terminal, and a line for each one-time step."""

from __future__ import annotations

import sys


class Progress:
    """A rich progress bar on stderr, silent when quiet or not a terminal."""

    def __init__(self, enabled: bool):
        self.enabled = enabled and sys.stderr.isatty()
        self._bar = None

    def __enter__(self):
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
            from rich.progress import Progress as Bar

            self._bar = Bar(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                transient=True,
            )
            self._bar.__enter__()
        return self

    def task(self, description: str, total: int):
        """A new bar (None when there is no bar to show)."""
        if self._bar is None:
            return None
        return self._bar.add_task(description, total=total)

    def advance(self, task, n: int):
        """Move a bar on by n."""
        if self._bar is not None and task is not None:
            self._bar.advance(task, n)

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.__exit__(*exc)


def note(message: str) -> None:
    """A one-time step, said on stderr (ingest's own output, not a log record: users should see it)."""
    print(message, file=sys.stderr, flush=True)
