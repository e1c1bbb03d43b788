"""A crash hook for the crash-safety tests: SIGKILL the process at a named ingest stage."""

from __future__ import annotations

import os
import signal

STAGES = ("locked", "embedded", "generation-created", "batch-written", "chunks-written", "parts-saved",
          "before-publish", "manifest-temp-written", "published")


def checkpoint(stage: str) -> None:
    """If CONSENSUS_CHAT_CRASH_AT names this stage, die here as abruptly as a power cut would."""
    if os.environ.get("CONSENSUS_CHAT_CRASH_AT") == stage:
        os.kill(os.getpid(), signal.SIGKILL)
