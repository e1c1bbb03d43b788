"""Loaded by Python at start-up when tests put this folder on PYTHONPATH (tests/crashpoints.py `crash_env`):
installs the crash hook of tests/crashpoints.py in the ingest process."""

import importlib.util
import os
from pathlib import Path

if os.environ.get("CONSENSUS_CHAT_CRASH_AT"):
    _spec = importlib.util.spec_from_file_location("crashpoints", Path(__file__).resolve().parent.parent / "crashpoints.py")
    _module = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_module)
    _module.install(os.environ["CONSENSUS_CHAT_CRASH_AT"])
