"""Multi-turn conversations: is each turn, asked with the history, answered (or refused) as it should be?

`evals/conversations.jsonl` holds one conversation per line:
`{"id": "c01", "corpus": "path/from/repo/root"?, "turns": [turn, ...]}`. A turn is
`{"question": ..., "relevant_titles": [...], "relevant_codes": [...]}` plus optional keys:
- `"kind": "out_of_scope"`: right when the turn is refused or answered with a question back (no citation);
  its relevant_titles are then [];
- `"ordinal": N`: right when the first citation is the N-th section (1-based, -1 the last) that the previous
  answer cited or listed, in its order;
- `"expect_text"`: a string the answer must contain (case-insensitive);
- `"expect_citations"` and `"expect_code"`: source keys and a code the answer must cite (reported apart,
  and counted in the strict rate).
Otherwise a turn is right when its first citation's title is one of its relevant titles. Each turn is asked
through the Assistant with its earlier answers (each carrying its Turn) as history (`ask_turn`).
"""

from __future__ import annotations

from pathlib import Path

from consensus_chat.ingest.errors import ConsensusChatError
from consensus_chat.ingest.jsonl import split_lines

from .files import json_line, read_text
from .metrics import mean, rounded

DEFAULT_CONVERSATIONS = Path(__file__).resolve().parent / "conversations.jsonl"
# A second development set, written apart from the follow-up rules (every conversation names its corpus).
DEV2_CONVERSATIONS = Path(__file__).resolve().parent / "conversations-dev2.jsonl"
# A third, written before the system was run on it, of "and X?" follow-ups, places with nothing listed and
# follow-ups after a refusal, over the shipped page and tests/data's two pages.
DEV3_CONVERSATIONS = Path(__file__).resolve().parent / "conversations-dev3.jsonl"
# A fourth, written before the system was run on it, over the shipped page and four others: off-topic and named-law or
# company turns followed by elliptic follow-ups or new questions, ordinals after lists, pronouns, topic changes.
DEV4_CONVERSATIONS = Path(__file__).resolve().parent / "conversations-dev4.jsonl"
# The development conversation files beside evals/conversations.jsonl, as `eval` scores and reports them:
# (key in the report, file, which one, how it was written).
DEV_SETS = (
    ("conversations_dev2", DEV2_CONVERSATIONS, "second", "written apart from the follow-up rules"),
    ("conversations_dev3", DEV3_CONVERSATIONS, "third", "written before the system was run on it"),
    ("conversations_dev4", DEV4_CONVERSATIONS, "fourth", "written before the system was run on it"),
)


class ConversationFileError(ConsensusChatError):
    """The conversation file is missing or has a malformed line."""


def load_conversations(path: Path | str | None = None) -> list[dict]:
    """Read and validate conversations.jsonl; a bad line raises ConversationFileError with its number."""
    path = Path(path) if path is not None else DEFAULT_CONVERSATIONS
    raw = read_text(path, ConversationFileError,
                    missing="not a file. Pass a JSONL conversation file with --conversations.")
    conversations = []
    for n, line in enumerate(split_lines(raw), 1):
        if not line.strip():
            continue
        where = f"{path.name} line {n}"
        obj = json_line(line, where, ConversationFileError)
        turns = obj.get("turns") if isinstance(obj, dict) else None
        if not isinstance(obj, dict) or not isinstance(obj.get("id"), str) or not isinstance(turns, list) or not turns:
            raise ConversationFileError(f"{where}: expected {{\"id\": str, \"turns\": [...]}} with at least one turn.")
        if "corpus" in obj and (not isinstance(obj["corpus"], str) or not obj["corpus"].strip()):
            raise ConversationFileError(f"{where}: 'corpus' must be a path from the repository root when given.")
        for t, turn in enumerate(turns, 1):
            problem = _turn_problem(turn, first=t == 1)
            if problem:
                raise ConversationFileError(f"{where}: turn {t} {problem}.")
        conversations.append(obj)
    if not conversations:
        raise ConversationFileError(f"{path}: holds no conversations.")
    return conversations


def _turn_problem(turn, first: bool) -> str | None:
    """What is wrong with one turn, or None."""
    if not isinstance(turn, dict) or not isinstance(turn.get("question"), str) or not turn["question"].strip():
        return "needs a non-empty 'question'"
    titles = turn.get("relevant_titles")
    if not isinstance(titles, list) or not all(isinstance(t, str) for t in titles):
        return "needs 'relevant_titles' (a list of titles)"
    kind = turn.get("kind", "in_scope")
    if kind not in ("in_scope", "out_of_scope"):
        return f"has kind {kind!r}; use 'in_scope' or 'out_of_scope'"
    if kind == "out_of_scope" and titles:
        return "is out_of_scope and must have empty 'relevant_titles'"
    if kind == "in_scope" and not titles:
        return "needs a non-empty 'relevant_titles' (or kind 'out_of_scope')"
    if "ordinal" in turn:
        n = turn["ordinal"]
        if not isinstance(n, int) or isinstance(n, bool) or n == 0:
            return "has an 'ordinal' that is not a non-zero integer (1-based; -1 for the last)"
        if first:
            return "has an 'ordinal' but no previous answer to count in"
    if "expect_text" in turn and (not isinstance(turn["expect_text"], str) or not turn["expect_text"]):
        return "has an 'expect_text' that is not a non-empty string"
    return None


def ask_turn(assistant, question: str, history: list):
    """Ask one turn with the conversation so far and add it to the history (the one place that carries history)."""
    answer = assistant.answer(question, history)
    history.append(answer)  # the answer carries its Turn, as the web chat, /chat and MCP do
    return answer


def listed(answer) -> list[str]:
    """The section titles an answer cited or listed, in its order, each once."""
    return list(dict.fromkeys(c.title for c in answer.citations))


def score_turn(turn: dict, answer, previous) -> dict:
    """One turn's row: what it cited and whether each of its checks holds."""
    first = answer.citations[0].title if answer.citations else None
    keys = {k for c in answer.citations for k in c.citations}
    codes = {c.code for c in answer.citations}
    out_of_scope = turn.get("kind") == "out_of_scope"
    if out_of_scope:
        right = bool(answer.refused) or not answer.citations  # refused, or a question back
    elif "ordinal" in turn:
        before = listed(previous) if previous is not None else []
        n = turn["ordinal"]
        at = n - 1 if n > 0 else len(before) + n
        target = before[at] if 0 <= at < len(before) else None
        right = first is not None and first == target
    else:
        right = first is not None and first in turn["relevant_titles"]
    if "expect_text" in turn:
        right = right and turn["expect_text"].casefold() in (answer.text or "").casefold()
    row = {
        "question": turn["question"], "resolved": answer.resolved_question or turn["question"],
        "kind": "out_of_scope" if out_of_scope else "in_scope",
        "first_cited": first, "refused": bool(answer.refused),
        "after_refusal": previous is not None and bool(previous.refused),
        "right": right,
        "expected_keys_found": (set(turn["expect_citations"]) <= keys) if "expect_citations" in turn else None,
        "expected_code_found": (turn["expect_code"] in codes) if "expect_code" in turn else None,
    }
    row["right_all_checks"] = right and row["expected_keys_found"] is not False and row["expected_code_found"] is not False
    return row


def score_conversations(assistant, conversations: list[dict], assistant_for=None) -> dict:
    """Turn and conversation accuracy, the follow-ups after a refusal, and the expected keys and codes found.

    A conversation with a "corpus" is asked through `assistant_for(corpus)`; the others through `assistant`. Without
    `assistant_for`, each named corpus gets its own temporary index with `assistant`'s settings.
    """
    if assistant_for is None and any("corpus" in c for c in conversations):
        from .page_sets import PageIndexes

        with PageIndexes(assistant.config) as indexes:
            return score_conversations(assistant, conversations, assistant_for=indexes.assistant)
    rows = []
    for conv in conversations:
        asker = assistant_for(conv["corpus"]) if "corpus" in conv else assistant
        history: list = []
        turns, previous = [], None
        for turn in conv["turns"]:
            answer = ask_turn(asker, turn["question"], history)
            turns.append(score_turn(turn, answer, previous))
            previous = answer
        rows.append({"id": conv["id"], **({"corpus": conv["corpus"]} if "corpus" in conv else {}), "turns": turns})
    return summarise(rows)


def score_conversation_file(config, path: Path | str = DEV2_CONVERSATIONS, progress=None) -> dict:
    """A conversation file whose conversations each name their corpus, every corpus asked in its own index."""
    from .page_sets import PageIndexes

    with PageIndexes(config, progress=progress) as indexes:
        scored = score_conversations(None, load_conversations(path), assistant_for=indexes.assistant)
    return {**scored, "conversations_file": str(path)}


def summarise(rows: list[dict]) -> dict:
    """The rates over scored conversations (each {"id", "turns": [turn rows]})."""
    flat = [t for r in rows for t in r["turns"]]
    keyed = [t["expected_keys_found"] for t in flat if t["expected_keys_found"] is not None]
    coded = [t["expected_code_found"] for t in flat if t["expected_code_found"] is not None]
    after_refusal = [t for t in flat if t["after_refusal"]]
    rate = lambda ts, key="right": rounded(mean(1.0 if t[key] else 0.0 for t in ts))  # noqa: E731
    return {
        "n_conversations": len(rows), "n_turns": len(flat),
        "turn_accuracy": rate(flat),
        "turn_accuracy_all_checks": rate(flat, "right_all_checks"),
        "follow_up_accuracy": rate([t for r in rows for t in r["turns"][1:]]),
        "conversation_accuracy": rounded(mean(1.0 if all(t["right"] for t in r["turns"]) else 0.0 for r in rows)),
        "after_refusal_right": rate(after_refusal),
        "n_after_refusal": len(after_refusal),
        "expected_keys_rate": rounded(mean(1.0 if k else 0.0 for k in keyed)),
        "expected_code_rate": rounded(mean(1.0 if c else 0.0 for c in coded)),
        "conversations": rows,
    }
