"""JSON Lines (https://jsonlines.org) read and written the way the spec says, shared by every package.

A line ends at "\n" only. `str.splitlines` also splits at U+2028, U+2029 and other Unicode breaks, which
JSON allows unescaped inside a string, so a valid line holding one would be cut in two.
"""

from __future__ import annotations

import json

# JSON allows these two unescaped in strings, but many line-based tools (and JavaScript before ES2019) do not.
_SEPARATORS = {"\u2028": "\\u2028", "\u2029": "\\u2029"}


def dumps_line(obj) -> str:
    """One JSON Lines line for `obj` (without the newline): readable UTF-8, with U+2028 and U+2029 escaped."""
    text = json.dumps(obj, ensure_ascii=False)
    for raw, escaped in _SEPARATORS.items():
        text = text.replace(raw, escaped)  # they can occur only inside strings, where the escape means the same
    return text


def split_lines(text: str) -> list[str]:
    """The lines of a JSON Lines text: split at "\n" only (a "\r" before it is dropped), no final empty line."""
    lines = [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]
    if lines and lines[-1] == "":
        lines.pop()
    return lines
