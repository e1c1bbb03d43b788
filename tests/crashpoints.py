"""A crash hook for the crash-safety tests, kept out of the package: SIGKILL an ingest at a named moment.

`crash_env(stage)` is the environment for an ingest subprocess; tests/crash/sitecustomize.py, which Python loads
at start-up from that PYTHONPATH, calls `install(stage)`, which wraps the ingest's own steps so that the process
dies as abruptly as a power cut would, just before or after the step that marks the stage.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
from pathlib import Path

STAGES = ("locked", "embedded", "generation-created", "batch-written", "chunks-written", "parts-saved",
          "before-publish", "manifest-temp-written", "published")
_HOOK_DIR = Path(__file__).resolve().parent / "crash"


def crash_env(stage: str, env: dict | None = None) -> dict:
    """The environment of an ingest subprocess that dies at `stage`."""
    assert stage in STAGES, stage
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_HOOK_DIR), env.get("PYTHONPATH")]))
    env["CONSENSUS_CHAT_CRASH_AT"] = stage
    return env


def _die(stage: str, at: str) -> None:
    if stage == at:
        os.kill(os.getpid(), signal.SIGKILL)


def _around(owner, name: str, stage: str, before: str | None, after: str | None) -> None:
    """Replace owner.name by a wrapper that dies at `before` (ahead of the call) or `after` (once it returned)."""
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        _die(stage, before)
        result = original(*args, **kwargs)
        _die(stage, after)
        return result

    setattr(owner, name, wrapper)


def install(stage: str) -> None:
    """Wrap the ingest's steps so the process dies at `stage` (one of STAGES)."""
    from consensus_chat.ingest import pipeline
    from consensus_chat.ingest.server_store import ServerStore
    from consensus_chat.ingest.store import EmbeddedStore

    lock = pipeline.ingest_lock

    @contextlib.contextmanager
    def locked(*args, **kwargs):
        with lock(*args, **kwargs) as held:
            _die(stage, "locked")
            yield held

    pipeline.ingest_lock = locked
    for store in (EmbeddedStore, ServerStore):
        original = store.new_generation

        def new_generation(self, _original=original):
            _die(stage, "embedded")  # everything is embedded before the new generation is made
            name, collection = _original(self)
            _die(stage, "generation-created")
            _around(type(collection), "add", stage, None, "batch-written")  # after the first batch
            return name, collection

        store.new_generation = new_generation
        _around(store, "publish", stage, "before-publish", "published")
    _around(pipeline, "_save_search_parts", stage, "chunks-written", "parts-saved")
    replace = os.replace

    def replace_manifest(src, dst, *args, **kwargs):
        if Path(dst).name == "manifest.json":
            _die(stage, "manifest-temp-written")  # the new manifest is written in full, not yet swapped in
        return replace(src, dst, *args, **kwargs)

    os.replace = replace_manifest
