"""Tables of the names a question can use exactly: codes, source keys, titles, labels, tags, the source's authors.

Built from the sections at ingest and saved with the search parts; the retriever reads them (retriever/topic.py).
"""

from __future__ import annotations

import re

from consensus_chat.ingest.section import Section
from consensus_chat.ingest.text import fold, plain
from consensus_chat.ingest.words import capitals_name_nothing, starts_sentence, tokens

def normalise(text: str) -> str:
    """Lower-case, '&' as 'and', single spaces: for matching names inside questions."""
    return normalise_with_offsets(text)[0]


def normalise_with_offsets(text: str) -> tuple[str, list[int]]:
    """normalise(text) and, for each of its characters, the index in `text` it came from."""
    out, where = [" "], [0]
    for i, (ch, folded) in enumerate(zip(text, fold(text))):  # `fold` keeps one character for one
        c = folded.lower()
        for piece in " and " if ch == "&" else c if c.isascii() and c.isalnum() else " ":
            if piece != " " or out[-1] != " ":  # runs of anything else become one space
                out.append(piece)
                where.append(i)
    if out[-1] != " ":
        out.append(" ")
        where.append(len(text))
    return "".join(out), where


def key_surname(key: str) -> str:
    """A source key's surname, lower case: "Di Lorenzo" -> "lorenzo", "De Vries-B" -> "vries", "Turpin" -> "turpin"."""
    return plain(key).split("-")[0].split()[-1].lower()


class Lookups:
    """Tables built from the sections of one index (never from a fixed list of titles)."""

    def __init__(self, sections: list[Section]):
        self.codes: dict[str, list[str]] = {}
        self.keys: dict[str, list[str]] = {}
        self.key_bases: dict[str, list[str]] = {}
        self.titles: dict[str, list[str]] = {}
        self.labels: dict[str, list[str]] = {}
        self.label_names: dict[str, str] = {}
        self.authors: dict[str, tuple[list[str], set[str]]] = {}  # surname -> (source ids, given names)
        self.report_ids: list[str] = []
        self.tag_values: dict[str, list[str]] = {}  # a tag as the page writes it ("Measure") -> the tag lines' id
        # A source's main title before its subtitle, as the page writes it ("From Shelf to Bin") -> the source's id: how
        # people name a work ("Who wrote From Shelf to Bin?"). Two words at least: one capital word names nothing.
        self.work_titles: dict[str, list[str]] = {}
        for s in sections:
            for value, _definition in s.tags:
                self.tag_values.setdefault(value.strip(), []).append(s.id)
            if s.code:
                self.codes.setdefault(s.code, []).append(s.id)
            # "Nuñez" as "Nuñez" or "Nunez", "Weiß" as "Weiss" (`plain`); "O’Neill" as "O'Neill", as questions are read
            for key in (plain(c).replace("’", "'") for c in s.citations):
                self.keys.setdefault(key.lower(), []).append(s.id)
                base = key.split("-")[0].lower()
                if len(base) >= 4:
                    self.key_bases.setdefault(base, []).append(s.id)
                core = key_surname(key)  # "Lorenzo" of "Di Lorenzo": how a sentence may name the source too
                if core != base and len(core) >= 4:
                    self.key_bases.setdefault(core, []).append(s.id)
            if s.kind in ("card", "source", "tags"):  # "What tags does the page give?" names the tag lines
                self.titles.setdefault(normalise(s.title), []).append(s.id)
            if s.label:
                self.labels.setdefault(normalise(s.label), []).append(s.id)
                self.label_names[normalise(s.label)] = s.label
            if s.kind == "source":
                self.report_ids.append(s.id)
                main = s.title.split(":")[0].strip()
                if ":" in s.title and len(main.split()) >= 2:
                    self.work_titles.setdefault(main, []).append(s.id)
                for author in s.authors:
                    surname, _, given = plain(author).partition(",")
                    surname = surname.strip()
                    if len(surname) >= 2:
                        ids, names = self.authors.setdefault(surname, ([], set()))
                        if s.id not in ids:
                            ids.append(s.id)
                        names.update(n for n in re.findall(r"[A-Za-z][A-Za-z'-]+", given) if len(n) > 1)

    _TABLES = ("codes", "keys", "key_bases", "titles", "labels", "label_names")

    def to_dict(self) -> dict:
        """The tables as JSON-ready data, for the saved search parts (ingest/saved_parts.py)."""
        out = {name: getattr(self, name) for name in self._TABLES}
        out["authors"] = {surname: [ids, sorted(names)] for surname, (ids, names) in self.authors.items()}
        out["report_ids"] = self.report_ids
        out["tag_values"] = self.tag_values
        out["work_titles"] = self.work_titles
        return out

    @classmethod
    def from_dict(cls, data: dict) -> Lookups:
        """The tables `to_dict` wrote; KeyError, TypeError or ValueError if `data` is not such a dict."""
        lookups = cls.__new__(cls)
        for name in cls._TABLES:
            setattr(lookups, name, dict(data[name]))
        lookups.authors = {surname: (list(ids), set(names)) for surname, (ids, names) in data["authors"].items()}
        lookups.report_ids = list(data["report_ids"])
        lookups.tag_values = dict(data.get("tag_values") or {})  # saved parts written before tags were looked up
        lookups.work_titles = dict(data.get("work_titles") or {})  # and before a work's main title was
        lookups._fold_names()  # tables an earlier version saved unfolded ("nuñez") read as new ones are written
        return lookups

    def _fold_names(self) -> None:
        """Fold the diacritics of the key and author tables' names (`fold`), merging names that fold alike."""
        for name in ("keys", "key_bases"):
            table = getattr(self, name)
            if all(key.isascii() for key in table):
                continue
            folded: dict[str, list[str]] = {}
            for key, ids in table.items():
                merged = folded.setdefault(plain(key), [])
                merged.extend(i for i in ids if i not in merged)
            setattr(self, name, folded)
        if not all(surname.isascii() for surname in self.authors):
            authors: dict[str, tuple[list[str], set[str]]] = {}
            for surname, (ids, given) in self.authors.items():
                have, names = authors.setdefault(plain(surname), ([], set()))
                have.extend(i for i in ids if i not in have)
                names.update(plain(n) for n in given)
            self.authors = authors

    def titles_in(self, norm: str) -> list[str]:
        """The titles (normalised) that the normalised question `norm` holds, in the table's order."""
        # A title reads " w1 ... wn ", so a question holding it holds its first word as a word: only the titles
        # starting with one of the question's words are tried, not every title (some 100,000 in a large index).
        index = getattr(self, "_by_first_word", None)
        if index is None:
            index = {}
            for position, title in enumerate(self.titles):
                index.setdefault(next(iter(title.split()), ""), []).append((position, title))
            self._by_first_word = index
        tried = sorted(found for word in {*norm.split(), ""} for found in index.get(word, ()))
        return [title for _, title in tried if title in norm]

    def tags_in(self, question: str, *, any_case: bool = False) -> list[tuple[str, list[str], int, int]]:
        """The page's tags the question writes as the page does, capitals and all ("What does Measure mean here?",
        "Is Build and Use Model a stage?"): (tag, ids, start, end) each. A capital names nothing in a Title Case or
        SHOUTED question, nor a one-word tag as the sentence's first word ("Measure the risk …"); a tag in lower
        case is the everyday word ("how do we measure it?"), unless `any_case` and the word "tag" follows it ("How
        does the page define its building owner tag?")."""
        return _written_in(self.tag_values, question, any_case=any_case)

    def work_titles_in(self, question: str) -> list[tuple[str, list[str], int, int]]:
        """The source's main title as the question writes it, capitals and all ("Who wrote Learning from Failure?"), as
        `tags_in` finds a tag; "learning from failure" is everyday words."""
        return _written_in(self.work_titles, question)

    def code_matches(self, prefix: str) -> list[str]:
        """Section ids whose code equals or starts with a dotted prefix."""
        prefix = prefix.strip().rstrip(".")
        return [i for code, ids in self.codes.items() if code == prefix or code.startswith(prefix + ".") for i in ids]


def _written_in(table: dict[str, list[str]], question: str, *, any_case: bool = False) -> list[tuple[str, list[str],
                                                                                                 int, int]]:
    """The names of `table` the question writes as the page does (`Lookups.tags_in`): (name, ids, start, end) each;
    with `any_case`, also in any case right before the word "tag" ("its building owner tag"; not "the household air
    page's tags")."""
    as_written = any(name in question for name in table) and not capitals_name_nothing(
        [m.group(0) for m in tokens(question)])  # most questions hold no name as written: no tokens read then
    found = []
    for name, ids in table.items() if as_written or any_case else ():
        word = r"(?<![\w-])" + re.escape(name) + r"(?![\w-])"
        for m in re.finditer(word, question) if as_written and name in question else ():
            if " " in name or not starts_sentence(question, m.start()):
                found.append((m.group(0), ids, m.start(), m.end()))
                break
        else:  # not found as written (the loop did not break): in any case, right before "tag"
            if any_case and (m := re.search(word + r"(?=\s+tags?\b)", question, re.I)):
                found.append((m.group(0), ids, m.start(), m.end()))
    return found
