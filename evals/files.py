"""Reading the eval's input files (question, conversation, pages, thresholds, BEIR): one error per way a file fails."""

from __future__ import annotations

import json
from pathlib import Path


def read_text(path: Path, error: type[Exception], *, missing: str = "not found.",
              undecodable: str = "not valid UTF-8. Save the file as UTF-8.") -> str:
    """A text file's contents (a leading BOM dropped); `error` names the file when it is missing or not UTF-8."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except (FileNotFoundError, IsADirectoryError) as exc:
        raise error(f"{path}: {missing}") from exc
    except UnicodeDecodeError as exc:
        raise error(f"{path}: {undecodable}") from exc


def parse_json(text: str, where: str, error: type[Exception], *, one_line: bool = False):
    """`text` as JSON; `error` names `where` it came from when it is malformed (a JSONL line by its column)."""
    try:
        return json.loads(text)
    except ValueError as exc:
        detail = f"{exc.msg} at column {exc.colno}" if one_line and hasattr(exc, "colno") else str(exc)
        raise error(f"{where}: not valid JSON ({detail}).") from exc


def read_json(path: Path, error: type[Exception]):
    """A JSON file's value; `error` names the file when it is missing or malformed."""
    return parse_json(read_text(path, error), str(path), error)


def json_line(line: str, where: str, error: type[Exception]):
    """One JSONL line's value; `error` names the line (`where`, e.g. "questions.jsonl line 3") when it is malformed."""
    return parse_json(line, where, error, one_line=True)
