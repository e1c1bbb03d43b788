"""Frozen records the assistant returns."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from ingest.section import heading

from retriever.types import Hit


@dataclass(frozen=True)
class Citation:
    """One numbered source marker [n] in an answer and the sentence it supports."""

    n: int
    id: str
    code: str | None
    label: str | None
    title: str
    parent: str | None
    citations: tuple[str, ...]
    sentence: str

    @classmethod
    def from_hit(cls, n: int, hit: Hit, sentence: str) -> "Citation":
        """Marker n for a sentence of a retrieved section."""
        return cls.from_section(n, hit, sentence)

    @classmethod
    def from_section(cls, n: int, section, sentence: str) -> "Citation":
        """Marker n for a sentence of any section-like record (a Hit or an ingest Section)."""
        return cls(n=n, id=section.id, code=section.code, label=section.label, title=section.title,
                   parent=section.parent, citations=tuple(section.citations), sentence=sentence)

    @property
    def heading(self) -> str:
        """Title with its parent."""
        return heading(self.parent, self.title)

    def source_line(self) -> str:
        """'[1] 5.2.1 Other — Incident Reporting › Near-miss reporting (Leveson)'."""
        code = f"{self.code} {self.label} — " if self.code else ""
        keys = f" ({', '.join(self.citations)})" if self.citations else ""
        return f"[{self.n}] {code}{self.heading}{keys}"

    def to_dict(self) -> dict:
        """The JSON shape of a citation in `ask --json`, `/chat` and MCP: every field of the dataclass."""
        return {"n": self.n, "id": self.id, "code": self.code, "label": self.label, "title": self.title,
                "parent": self.parent, "citations": list(self.citations), "sentence": self.sentence}


def new_answer_id() -> str:
    """A fresh, unguessable answer id: a client rates an answer by it (`Assistant.feedback`, /feedback, MCP)."""
    return "a-" + secrets.token_urlsafe(12)


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
    id: str = field(default_factory=new_answer_id)  # what a vote names; only ids a server issued are accepted

    def to_dict(self) -> dict:
        """The JSON shape of `ask --json`, `/chat` and MCP: every field, with `text` under the key "answer".

        `sources` use the `search --json` hit shape (Hit.to_dict). `flags` record what app/verify.py removed
        from an LLM answer ("removed-marker-unsupported:[2]", "removed-marker-no-source:[3]",
        "removed-system-prompt-echo"; always empty for the extractive backend); `notices` are remarks for
        the user, such as a shortened question or a spelling correction. `id` names the answer when rating it.
        """
        return {
            "id": self.id, "question": self.question, "resolved_question": self.resolved_question or self.question,
            "answer": self.text, "body": self.body, "refused": self.refused, "backend": self.backend,
            "citations": [c.to_dict() for c in self.citations], "sources": [h.to_dict() for h in self.sources],
            "flags": list(self.flags), "notices": list(self.notices),
        }
