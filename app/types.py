"""Frozen records the assistant returns."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from consensus_chat.ingest.section import CarriesSection, Section
from consensus_chat.retriever.types import Hit


@dataclass(frozen=True)
class Citation(CarriesSection):
    """One numbered source marker [n] in an answer, the section it points to (held whole) and the sentence it supports."""

    n: int
    section: Section
    sentence: str

    @classmethod
    def from_hit(cls, n: int, hit: Hit, sentence: str) -> "Citation":
        """Marker n for a sentence of a retrieved section."""
        return cls(n, hit.section, sentence)

    @classmethod
    def from_section(cls, n: int, section: Section, sentence: str) -> "Citation":
        """Marker n for a sentence of an ingest Section."""
        return cls(n, section, sentence)

    def source_line(self) -> str:
        """'[1] 5.2.1 Other — Incident Reporting › Near-miss reporting (Leveson)'."""
        code = f"{self.code} {self.label} — " if self.code else ""
        keys = f" ({', '.join(self.citations)})" if self.citations else ""
        return f"[{self.n}] {code}{self.heading}{keys}"

    def to_dict(self) -> dict:
        """The JSON shape of a citation in `ask --json`, `/chat` and MCP: the marker, the section's identity, the sentence."""
        return {"n": self.n, "id": self.id, "code": self.code, "label": self.label, "title": self.title,
                "parent": self.parent, "citations": list(self.citations), "sentence": self.sentence}


def new_answer_id() -> str:
    """A fresh, unguessable answer id: a client rates an answer by it (`Assistant.feedback`, /feedback, MCP)."""
    return "a-" + secrets.token_urlsafe(12)


@dataclass(frozen=True)
class Turn:
    """What one answer did, kept for the next question: its stand-alone question, the sections it cited and
    listed (in order), the source keys it listed, and whether it refused. Follow-ups are resolved from this,
    not from the answer's text."""

    question: str
    resolved_question: str
    refused: bool
    cited: tuple[str, ...] = ()  # section ids in marker order, each once
    # Section ids the answer listed, in the order shown ("the second one"); an answer about one section picked
    # from a list keeps that list, so the next question can pick again ("and the first one?").
    listed: tuple[str, ...] = ()
    listed_keys: tuple[str, ...] = ()  # source keys the answer listed ("X cites A, B"), in order

    def to_dict(self) -> dict:
        """The JSON shape of a turn (the "turn" of `ask --json`, `/chat` and MCP)."""
        return {"question": self.question, "resolved_question": self.resolved_question, "refused": self.refused,
                "cited": list(self.cited), "listed": list(self.listed), "listed_keys": list(self.listed_keys)}

    @classmethod
    def from_dict(cls, data) -> "Turn":
        """The turn `to_dict` wrote (as a caller sends it back); ValueError naming what is wrong."""
        if not isinstance(data, dict):
            raise ValueError('a turn must be an object like the "turn" of a /chat answer.')
        question, resolved = data.get("question"), data.get("resolved_question", data.get("question"))
        if not isinstance(question, str) or not isinstance(resolved, str):
            raise ValueError('a turn needs "question" and "resolved_question" strings.')
        if not isinstance(data.get("refused", False), bool):
            raise ValueError('a turn\'s "refused" must be true or false.')
        lists = {}
        for key in ("cited", "listed", "listed_keys"):
            value = data.get(key) or []
            if not isinstance(value, (list, tuple)) or not all(isinstance(x, str) for x in value):
                raise ValueError(f'a turn\'s "{key}" must be a list of strings.')
            lists[key] = tuple(value)
        return cls(question=question, resolved_question=resolved, refused=data.get("refused", False), **lists)


@dataclass(frozen=True)
class Answer:
    """An answer in markdown, its numbered citations and the hits it drew on."""

    question: str
    text: str
    citations: list[Citation]
    sources: list[Hit]
    refused: bool
    backend: str
    body: str = ""  # the answer without the source list
    notices: tuple[str, ...] = field(default=())
    flags: tuple[str, ...] = field(default=())  # from LLM verification, see app/verify.py
    resolved_question: str = ""  # the question after condensing it with the history
    id: str = field(default_factory=new_answer_id, compare=False)  # what a vote names (not content: equal answers compare equal); only ids a server issued are accepted
    listed: tuple[str, ...] = field(default=())  # ids of the sections to pick from next, in order (see Turn)
    listed_keys: tuple[str, ...] = field(default=())  # source keys the answer listed, in order

    @property
    def turn(self) -> Turn:
        """What this answer did, for the next question's follow-up (pass the Answer back in `history`)."""
        return Turn(question=self.question, resolved_question=self.resolved_question or self.question,
                    refused=self.refused, cited=tuple(dict.fromkeys(c.id for c in self.citations)),
                    listed=self.listed, listed_keys=self.listed_keys)

    def to_dict(self) -> dict:
        """The JSON shape of `ask --json`, `/chat` and MCP: every field, with `text` under the key "answer".

        `sources` use the `search --json` hit shape (Hit.to_dict). `flags` record what app/verify.py removed
        from an LLM answer ("removed-marker-unsupported:[2]", "removed-marker-no-source:[3]",
        "removed-system-prompt-echo"; always empty for the extractive backend); `notices` are remarks for
        the user, such as a shortened question or a spelling correction. `turn` is `Turn.to_dict()`: send the
        answer (or its turn) back in the next call's history and follow-ups are resolved from it. `id` names the answer when rating it.
        """
        return {
            "id": self.id, "question": self.question, "resolved_question": self.resolved_question or self.question,
            "answer": self.text, "body": self.body, "refused": self.refused, "backend": self.backend,
            "citations": [c.to_dict() for c in self.citations], "sources": [h.to_dict() for h in self.sources],
            "flags": list(self.flags), "notices": list(self.notices), "turn": self.turn.to_dict(),
        }
