"""Parse a page in the research-area layout into Section records.

The layout (see corpus/README.md) in short:
  overview lines ... | card title | body lines | "N.N.N Label" glued to the next title | ...
  | last code line glued to the report title | authors "(YYYY)" | abstract | tag pairs.
The rules below depend only on that layout, never on this file's titles.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import replace
from pathlib import Path

from .errors import CorpusFormatError
from .section import Section, author_line
from .text import slugify

PARSER_VERSION = "5"  # 2: keys with particles ("Di Lorenzo"); 3: of any script ("Kaboré"); 4: "Sørensen" as "Sorensen"; 5: "Weiß" as "Weiss"

# A code line: a dotted section code, a space, then a label glued to the next title.
_CODE_LINE = re.compile(r"^(?P<code>\d+(?:\.\d+){1,3}) (?P<rest>\S.*)$")
# Labels are capitalised words (and '&'); the next title starts with a capital letter right
# after the label's last lower-case letter, e.g. "Research & FoundationsExplainability".
_GLUE = re.compile(r"(?<=[a-z)])(?=[A-Z])")
_PARENT_SEP = " > "
_YEAR_AT_END = re.compile(r"\((?P<year>\d{4})\)\s*$")
_SENTENCE_END = re.compile(r"[.!?…:;\"”’)]$")
_PAREN = re.compile(r"\(([^()]*)\)")
# A key is a capitalised word of any script ("Turpin", "Kaboré", "Łukasz", "Anthropic-D"): `re` has no
# \p{Lu}, so the first letter's case is checked by `_is_key` and the pattern takes any letter ([^\W\d_]).
_KEY = re.compile(r"[^\W\d_][^\W_'’]*(?:['’][^\W_]+)*(?:-[^\W_]+)*")
# Surname particles, in any case as written: "(Di Lorenzo)", "(van der Berg)", "(De Vries-B)", "(St. John)",
# the Irish "(Ó Dálaigh)", "(Ní Bhriain)", "(Nic Giolla)", "(Uí Néill)".
# A key of several words is particles then one capitalised key, so "(New York)", "(Figure 2)" and
# "(for example, audits)" stay out: their first word is no particle.
SURNAME_PARTICLES = frozenset(
    "van von der den de di da del della delle dei degli des du le la lo st st. ste ste. saint "
    "bin bint ibn al el ter ten zu zur dos das ó ní nic uí".split()
)
_PARTICLE = "(?:" + "|".join(re.escape(p) for p in sorted(SURNAME_PARTICLES, key=len, reverse=True)) + ")"
_PARTICLE_KEY = re.compile(rf"(?i:{_PARTICLE})(?:[ \t](?i:{_PARTICLE}))*[ \t]" + _KEY.pattern)
_HEDGE = re.compile(r"^(?:e\.g\.|eg\.|cf\.|i\.e\.)\s*,?\s*", re.IGNORECASE)
# A page in this layout is a few hundred KB; the cap keeps /dev/zero or a disk image from being
# read until memory runs out.
MAX_CORPUS_BYTES = 32 * 1024 * 1024


def read_lines(path: Path) -> list[tuple[int, str]]:
    """Read a corpus file as (line number, text) pairs, with BOM, CRLF and trailing spaces removed."""
    _check_regular_file(Path(path))
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_CORPUS_BYTES + 1)
    except OSError as exc:
        raise _unreadable(path, exc) from exc
    if len(raw) > MAX_CORPUS_BYTES:
        raise CorpusFormatError(
            f"{path}: larger than {MAX_CORPUS_BYTES // (1024 * 1024)} MB, the limit for one corpus file. "
            "Pass a text page in the research-area layout, or split a long document into several files."
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorpusFormatError(
            f"{path}: not valid UTF-8 (bad byte at offset {exc.start}). Save the file as UTF-8."
        ) from exc
    if "\x00" in text:
        raise CorpusFormatError(f"{path}: contains NUL bytes; it looks like a binary file, not a text page.")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [(i + 1, line.rstrip()) for i, line in enumerate(text.split("\n"))]
    lines = [(n, line) for n, line in lines if line.strip()]
    if not lines:
        raise CorpusFormatError(f"{path}: the file is empty.")
    return lines


_KINDS = ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def _unreadable(path: Path, exc: OSError) -> CorpusFormatError:
    """The one-line message for a corpus file that cannot be opened or read."""
    if isinstance(exc, FileNotFoundError):
        return CorpusFormatError(f"{path}: file not found. Pass an existing file with --corpus.")
    if isinstance(exc, IsADirectoryError):
        return CorpusFormatError(f"{path}: is a directory, not a corpus file.")
    return CorpusFormatError(f"{path}: cannot be read ({exc.strerror}).")


def _check_regular_file(path: Path) -> None:
    """Refuse anything but a regular file before opening it: opening a named pipe waits for a writer forever."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise _unreadable(path, exc) from exc
    if stat.S_ISDIR(mode):
        raise CorpusFormatError(f"{path}: is a directory, not a corpus file.")
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _KINDS if test(mode)), "a special file")
        raise CorpusFormatError(f"{path}: is {kind}, not a regular file. Pass a text page saved as a file.")


def parse_file(path: str | Path) -> list[Section]:
    """Parse one corpus file into sections (overview, cards, source record, tags)."""
    path = Path(path)
    lines = read_lines(path)
    code_rows = [i for i, (_, line) in enumerate(lines) if _CODE_LINE.match(line)]
    if not code_rows:
        raise CorpusFormatError(
            f"{path}: no research-area card found (no code line such as '2.2.1 Risk Assessment')."
        )
    name = path.name
    sections: list[Section] = []

    first_title = _first_title_row(lines, code_rows[0], path)
    if first_title > 0:
        body = [line for _, line in lines[:first_title]]
        sections.append(
            Section(
                id="overview", kind="overview", code=None, label=None, title="Overview", parent=None,
                text="\n".join(body), citations=_citations("\n".join(body)), source_file=name,
                line_start=lines[0][0], line_end=lines[first_title - 1][0],
            )
        )

    # Walk the cards: each starts at a title row and ends at a code row.
    title_text = lines[first_title][1]
    title_row = first_title
    for code_row in code_rows:
        body_rows = lines[title_row + 1 : code_row]
        if not body_rows:
            raise CorpusFormatError(
                f"{path}: line {lines[code_row][0]}: the card '{title_text}' has no body before its code line."
            )
        match = _CODE_LINE.match(lines[code_row][1])
        code, label, next_title = match["code"], *_split_label(match["rest"])
        parent, title = _split_parent(title_text)
        body = "\n".join(line for _, line in body_rows)
        sections.append(
            Section(
                id="", kind="card", code=code, label=label, title=title, parent=parent, text=body,
                citations=_citations(body), source_file=name,
                line_start=lines[title_row][0], line_end=lines[code_row][0],
            )
        )
        if next_title is None:
            if code_row != len(lines) - 1:
                raise CorpusFormatError(
                    f"{path}: line {lines[code_row][0]}: cannot tell the label from the next title in "
                    f"'{lines[code_row][1]}' (the title must start with a capital letter)."
                )
            title_text, title_row = None, None
            break
        title_text, title_row = next_title, code_row

    if title_text is not None:
        sections.extend(_tail(path, title_text, title_row, lines))
    return _assign_ids(sections)


def parse_files(paths) -> list[Section]:
    """Parse several files; ids stay unique across them."""
    sections: list[Section] = []
    for p in paths:
        sections.extend(parse_file(p))
    return _assign_ids(sections)


def _first_title_row(lines, first_code_row: int, path: Path) -> int:
    """The first card's title: the nearest heading-like line (no closing punctuation) above its body."""
    for row in range(first_code_row - 2, -1, -1):
        if not _SENTENCE_END.search(lines[row][1]):
            return row
    raise CorpusFormatError(
        f"{path}: line {lines[first_code_row][0]}: the first card has no title line above its body."
    )


def _split_label(rest: str) -> tuple[str, str | None]:
    """'Research & FoundationsExplainability' -> ('Research & Foundations', 'Explainability')."""
    match = _GLUE.search(rest)
    if not match:
        return rest.strip(), None
    return rest[: match.start()].strip(), rest[match.start() :].strip()


def _split_parent(title: str) -> tuple[str | None, str]:
    if _PARENT_SEP in title:
        parent, _, child = title.rpartition(_PARENT_SEP)
        return parent.strip(), child.strip()
    return None, title.strip()


def _tail(path: Path, title: str, title_row: int, lines) -> list[Section]:
    """After the last code line: the source record (title, authors (YYYY), abstract), then tag pairs."""
    rest = lines[title_row + 1 :]
    name = path.name
    author_idx = next((i for i, (_, line) in enumerate(rest) if _YEAR_AT_END.search(line)), None)
    if author_idx is None:
        raise CorpusFormatError(
            f"{path}: line {lines[title_row][0]}: the source record '{title}' has no author line ending in '(YYYY)'."
        )
    authors_line = rest[author_idx][1]
    year = int(_YEAR_AT_END.search(authors_line)["year"])
    authors = tuple(a.strip() for a in _YEAR_AT_END.sub("", authors_line).split(";") if a.strip())
    abstract_rows = []
    i = author_idx + 1
    while i < len(rest) and _SENTENCE_END.search(rest[i][1]):
        abstract_rows.append(rest[i])
        i += 1
    tag_rows = rest[i:]
    intro = [line for _, line in rest[:author_idx]]
    abstract = "\n".join(line for _, line in abstract_rows)
    text = "\n".join([*intro, author_line(authors, year), abstract]).strip()
    end = abstract_rows[-1][0] if abstract_rows else rest[author_idx][0]
    out = [
        Section(
            id="", kind="source", code=None, label=None, title=title, parent=None, text=text,
            citations=_citations(abstract), source_file=name, line_start=lines[title_row][0],
            line_end=end, authors=authors, year=year,
        )
    ]
    if tag_rows:
        if len(tag_rows) % 2:
            raise CorpusFormatError(
                f"{path}: line {tag_rows[-1][0]}: tag lines come in pairs (a tag, then its definition)."
            )
        pairs = tuple((tag_rows[j][1], tag_rows[j + 1][1]) for j in range(0, len(tag_rows), 2))
        out.append(
            Section(
                id="tags", kind="tags", code=None, label=None, title="Tags", parent=None,
                text="\n".join(_tag_line(n, t, d) for n, (t, d) in enumerate(pairs)), source_file=name,
                line_start=tag_rows[0][0], line_end=tag_rows[-1][0], tags=pairs,
            )
        )
    return out


# What the layout's tag pairs are, in order (the corpus README): a question asks for them by these names ("Which
# lifecycle stage is the page tagged with?"), which the tag lines themselves never say.
TAG_KINDS = ("lifecycle stage", "actor", "risk-management function")


def _tag_line(n: int, tag: str, definition: str) -> str:
    """"Developer (actor): Entity that creates ...": a tag, what kind of tag it is, its definition."""
    return f"{tag} ({TAG_KINDS[n]}): {definition}" if n < len(TAG_KINDS) else f"{tag}: {definition}"


def _citations(text: str) -> tuple[str, ...]:
    """Source keys in parentheses, in order, without duplicates; cross-references and acronyms skipped."""
    keys: list[str] = []
    for match in _PAREN.finditer(text):
        items = [item.strip() for item in re.split(r"[,;]", match[1]) if item.strip()]
        if len(items) == 1 and _is_acronym_definition(text[: match.start()], items[0]):
            continue
        for item in items:
            if item.lower().startswith("see"):
                continue  # a cross-reference such as "see above" or "see also 2.1.1 above"
            item = _HEDGE.sub("", item)
            item = re.sub(r"\s+", " ", item)  # a key of several words written across a line break
            if _is_key(item) and item not in keys:
                keys.append(item)
    return tuple(keys)


def _is_key(item: str) -> bool:
    """A source key: one capitalised word (hyphenated parts allowed), or surname particles then one."""
    if not item:
        return False  # "(e.g.)" or "(cf.)": the hedge was all there was
    last = re.sub(r"^(?:d|l|dell|dall)['’]", "", item.split()[-1])  # "d'Almeida", "l'Hôpital": an elided particle
    return last[:1].isupper() and bool(_KEY.fullmatch(item) or _PARTICLE_KEY.fullmatch(item))


def _is_acronym_definition(before: str, item: str) -> bool:
    """'European Union (EU)' defines an acronym; it is not a citation."""
    if not re.fullmatch(r"[A-Z]{2,8}", item):
        return False
    preceding = re.findall(r"[A-Za-z][\w-]*", before)[-(len(item) * 2 + 2) :]
    initials = "".join(part[0] for word in preceding for part in word.split("-") if part[:1].isupper())
    return initials.endswith(item)


def _assign_ids(sections: list[Section]) -> list[Section]:
    """Stable slugs from parent and title, made unique with a numeric suffix."""
    seen: dict[str, int] = {}
    out = []
    for s in sections:
        if s.kind in ("overview", "tags"):
            base = s.kind
        elif s.parent:
            base = f"{slugify(s.parent)}--{slugify(s.title)}"
        else:
            base = slugify(s.title)
        n = seen.get(base, 0) + 1
        seen[base] = n
        out.append(replace(s, id=base if n == 1 else f"{base}-{n}"))
    return out
