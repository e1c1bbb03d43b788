"""Exact look-ups that outrank ranked search: codes, source keys, titles, labels, the report itself."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.section import Section

# Tiers: a higher tier always ranks above a lower one and above any fused score (< 1).
TIER_CODE = 4.0
TIER_KEY = 4.0
TIER_LABEL_ASKED = 3.5  # the question says "label"/"fall under"/"category"
TIER_TITLE = 3.0
TIER_REPORT = 3.0
TIER_LABEL = 2.0

_CODE = re.compile(r"(?<![\d.])(\d+(?:\.\d+){1,3})(?![\d])")
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9'’]*(?:-[A-Za-z0-9]+)*")
_LABEL_CUE = re.compile(r"\b(label(?:l?ed|s)?|categor\w*|fall(?:s)? under|filed under|classified|taxonom\w*|tagged)\b", re.I)
_REPORT_CUE = re.compile(
    r"\b(who (?:wrote|authored|are the authors)|authors?|authored|written by|wrote|published|publication year|"
    r"what year|which year|when was|abstract|editors?|contributors?|how many experts|"
    r"(?:this|the) (?:report|paper|consensus)(?: itself)?|singapore consensus)\b",
    re.I,
)


def normalise(text: str) -> str:
    """Lower-case, '&' as 'and', single spaces: for matching names inside questions."""
    text = text.lower().replace("&", " and ")
    return " " + " ".join(re.findall(r"[a-z0-9]+", text)) + " "


@dataclass(frozen=True)
class Match:
    """Why a section matched exactly, and how strongly."""

    tier: float
    reason: str


class Lookups:
    """Tables built from the sections of one index (never from a fixed list of titles)."""

    def __init__(self, sections: list[Section]):
        self.codes: dict[str, list[str]] = {}
        self.keys: dict[str, list[str]] = {}
        self.key_bases: dict[str, list[str]] = {}
        self.titles: dict[str, list[str]] = {}
        self.labels: dict[str, list[str]] = {}
        self.label_names: dict[str, str] = {}
        self.authors: dict[str, list[str]] = {}
        self.report_ids: list[str] = []
        for s in sections:
            if s.code:
                self.codes.setdefault(s.code, []).append(s.id)
            for key in s.citations:
                self.keys.setdefault(key.lower(), []).append(s.id)
                base = key.split("-")[0].lower()
                if len(base) >= 4:
                    self.key_bases.setdefault(base, []).append(s.id)
            if s.kind in ("card", "source"):
                self.titles.setdefault(normalise(s.title), []).append(s.id)
            if s.label:
                self.labels.setdefault(normalise(s.label), []).append(s.id)
                self.label_names[normalise(s.label)] = s.label
            if s.kind == "source":
                self.report_ids.append(s.id)
                for author in s.authors:
                    surname = author.split(",")[0].strip()
                    if len(surname) >= 4:
                        self.authors.setdefault(surname, []).append(s.id)

    def code_matches(self, prefix: str) -> list[str]:
        """Section ids whose code equals or starts with a dotted prefix."""
        prefix = prefix.strip().rstrip(".")
        return [i for code, ids in self.codes.items() if code == prefix or code.startswith(prefix + ".") for i in ids]

    def match(self, query: str) -> dict[str, Match]:
        """Sections that the question names exactly, with their tiers."""
        found: dict[str, Match] = {}

        def add(ids, tier, reason):
            for i in ids:
                if i not in found or found[i].tier < tier:
                    found[i] = Match(tier, reason)

        for code in _CODE.findall(query):
            add(self.code_matches(code), TIER_CODE, "code")
        for token in _TOKEN.findall(query):
            low = token.lower()
            if low in self.keys:
                add(self.keys[low], TIER_KEY, "source-key")
            elif low in self.key_bases:
                add(self.key_bases[low], TIER_KEY, "source-key")
            if token in self.authors:  # surnames match case-sensitively: "Song" is a name, "song" a word
                add(self.authors[token], TIER_REPORT, "report")
        norm = normalise(query)
        titles = [t for t in self.titles if t in norm]
        # "Metrology for AI risk assessment" also contains "risk assessment": keep the longest title.
        titles = [t for t in titles if not any(t != o and t in o for o in titles)]
        for t in titles:
            add(self.titles[t], TIER_TITLE, "title")
        label_tier = TIER_LABEL_ASKED if _LABEL_CUE.search(query) else TIER_LABEL
        for label, ids in self.labels.items():
            if label in norm:
                add(ids, label_tier, "label")
        if _REPORT_CUE.search(query):
            add(self.report_ids, TIER_REPORT, "report")
        return found
