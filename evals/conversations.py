"""Multi-turn conversations: does each turn's first citation, asked with the history, name a right section?

`evals/conversations.jsonl` holds one conversation per line:
`{"id": "c01", "turns": [{"question": ..., "relevant_titles": [...], "relevant_codes": [...],
"expect_citations": [...], "expect_code": "..."}, ...]}`; the last two keys are optional. Each turn
is asked through the Assistant with its earlier answers (each carrying its Turn) as history.
"""

from __future__ import annotations

import json
from pathlib import Path

from ingest.errors import ConsensusChatError

from .metrics import mean

DEFAULT_CONVERSATIONS = Path(__file__).resolve().parent / "conversations.jsonl"


class ConversationFileError(ConsensusChatError):
    """The conversation file is missing or has a malformed line."""


def load_conversations(path: Path | str | None = None) -> list[dict]:
    """Read and validate conversations.jsonl; a bad line raises ConversationFileError with its number."""
    path = Path(path) if path is not None else DEFAULT_CONVERSATIONS
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except (FileNotFoundError, IsADirectoryError):
        raise ConversationFileError(f"{path}: not a file. Pass a JSONL conversation file with --conversations.") from None
    conversations = []
    for n, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path.name} line {n}"
        try:
            obj = json.loads(line)
        except ValueError as exc:
            raise ConversationFileError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno}).") from None
        turns = obj.get("turns") if isinstance(obj, dict) else None
        if not isinstance(obj, dict) or not isinstance(obj.get("id"), str) or not isinstance(turns, list) or not turns:
            raise ConversationFileError(f"{where}: expected {{\"id\": str, \"turns\": [...]}} with at least one turn.")
        for t, turn in enumerate(turns, 1):
            if not isinstance(turn, dict) or not isinstance(turn.get("question"), str) \
                    or not isinstance(turn.get("relevant_titles"), list) or not turn["relevant_titles"]:
                raise ConversationFileError(f"{where}: turn {t} needs a 'question' and a non-empty 'relevant_titles'.")
        conversations.append(obj)
    if not conversations:
        raise ConversationFileError(f"{path}: holds no conversations.")
    return conversations


def score_conversations(assistant, conversations: list[dict]) -> dict:
    """Turn and conversation accuracy of the first citation, and the expected keys and codes found."""
    rows = []
    for conv in conversations:
        history: list = []
        turns = []
        for turn in conv["turns"]:
            answer = assistant.answer(turn["question"], history)
            history.append(answer)  # the answer carries its Turn, as the web chat, /chat and MCP do
            first = answer.citations[0] if answer.citations else None
            keys = {k for c in answer.citations for k in c.citations}
            codes = {c.code for c in answer.citations}
            turns.append({
                "question": turn["question"], "resolved": answer.resolved_question or turn["question"],
                "first_cited": first.title if first else None,
                "right": first is not None and first.title in turn["relevant_titles"],
                "expected_keys_found": (set(turn["expect_citations"]) <= keys) if "expect_citations" in turn else None,
                "expected_code_found": (turn["expect_code"] in codes) if "expect_code" in turn else None,
            })
        rows.append({"id": conv["id"], "turns": turns})
    flat = [t for r in rows for t in r["turns"]]
    keyed = [t["expected_keys_found"] for t in flat if t["expected_keys_found"] is not None]
    coded = [t["expected_code_found"] for t in flat if t["expected_code_found"] is not None]
    return {
        "n_conversations": len(rows), "n_turns": len(flat),
        "turn_accuracy": mean(1.0 if t["right"] else 0.0 for t in flat),
        "follow_up_accuracy": mean(1.0 if t["right"] else 0.0 for r in rows for t in r["turns"][1:]),
        "conversation_accuracy": mean(1.0 if all(t["right"] for t in r["turns"]) else 0.0 for r in rows),
        "expected_keys_rate": mean(1.0 if k else 0.0 for k in keyed),
        "expected_code_rate": mean(1.0 if c else 0.0 for c in coded),
        "conversations": rows,
    }
