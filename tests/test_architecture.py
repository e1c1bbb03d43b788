"""The house's shape, read from the source with `ast`: imports run one way, no circle of files, a docstring on
every module, no long files (issue 19)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ORDER = ("ingest", "retriever", "app", "evals")  # lower to higher: a package imports only its own or lower ones
MAX_LINES = 300

# Known offenders, owned by helpers still at work on issue 19; the lead empties these lists after merging.
# Upward imports: (importing file, imported module).
KNOWN_UPWARD = {
    # The saved look-up tables are built by the retriever's own code (scope.Vocabulary, topic.TopicAnalyzer,
    # wordmatch.document_words); the builders must move down into ingest/ with their owners' files. The word
    # table's cache takes the document's words from the same wordmatch.document_words.
    ("ingest/pipeline.py", "retriever/tables.py"),
    ("ingest/encoders.py", "retriever/wordmatch.py"),
}
KNOWN_CIRCLES: set[frozenset[str]] = set()
KNOWN_LONG: set[str] = set()
# The CLI's `eval` command runs the evaluation, which sits above the app: the one allowed upward import.
ALLOWED_UPWARD = {("app/cli_eval.py", "evals")}


def _files() -> list[Path]:
    # The blind test sets are never read, not even by this test.
    return sorted(p for pkg in ORDER for p in (ROOT / pkg).rglob("*.py")
                  if not any(part.startswith("blind") for part in p.parts))


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _module_path(name: str) -> str | None:
    """'retriever.search' -> 'retriever/search.py' (or the package's __init__.py); None outside the four packages."""
    parts = name.split(".")
    if not parts or parts[0] not in ORDER:
        return None
    for n in range(len(parts), 0, -1):
        base = ROOT.joinpath(*parts[:n])
        if base.with_suffix(".py").is_file():
            return _rel(base.with_suffix(".py"))
        if (base / "__init__.py").is_file():
            return _rel(base / "__init__.py")
    return None


def _imports(path: Path) -> list[tuple[str, int]]:
    """(imported file, line) for every import of the four packages in `path`, including those inside functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _rel(path.parent).split("/")
    out = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            # `from . import x` and `from pkg import module` name modules; try each name as a module first.
            names = [f"{stem}.{alias.name}" for alias in node.names] + [stem]
        for name in names:
            if name.startswith("consensus_chat."):
                name = name[len("consensus_chat."):]
            target = _module_path(name)
            if target and target != _rel(path):
                out.append((target, node.lineno))
                if isinstance(node, ast.ImportFrom):
                    break  # the first name that is a module is the one imported
    return out


def _graph() -> dict[str, set[str]]:
    return {_rel(p): {t for t, _ in _imports(p)} for p in _files()}


def _level(file: str) -> int:
    return ORDER.index(file.split("/")[0])


def test_the_parser_sees_imports_inside_functions_and_relative_ones():
    # Guards the guard: app/cli_eval.py imports evals only inside a function; retriever/llama.py imports .types.
    assert "evals/suite.py" in {target for target, _ in _imports(ROOT / "app/cli_eval.py")}
    assert "retriever/types.py" in {target for target, _ in _imports(ROOT / "retriever/llama.py")}


def test_imports_run_one_way():
    upward = []
    for path in _files():
        src = _rel(path)
        for target, line in _imports(path):
            if _level(target) > _level(src) and (src, target) not in KNOWN_UPWARD \
                    and (src, target.split("/")[0]) not in ALLOWED_UPWARD:
                upward.append(f"{src}:{line} imports {target}")
    assert not upward, "imports must run evals -> app -> retriever -> ingest:\n" + "\n".join(upward)


def test_the_one_upward_import_says_why():
    text = (ROOT / "app/cli_eval.py").read_text(encoding="utf-8").splitlines()
    lines = [line for target, line in _imports(ROOT / "app/cli_eval.py") if target.startswith("evals/")]
    assert lines, "app/cli_eval.py's eval command imports evals"
    for n in lines:
        comment = [t for t in text[max(0, n - 4): n - 1] if t.strip().startswith("#")]
        assert comment, f"app/cli_eval.py:{n} must say in a comment just above it why it imports evals"


def test_the_known_offenders_still_offend():
    # So the lists above shrink: an entry a merge has fixed must be removed.
    graph = _graph()
    stale = [f"{src} -> {dst}" for src, dst in KNOWN_UPWARD if dst not in graph.get(src, ())]
    stale += [f for f in KNOWN_LONG if len((ROOT / f).read_text(encoding="utf-8").splitlines()) <= MAX_LINES]
    assert not stale, "fixed, so remove from the known offenders at the top of this file: " + ", ".join(stale)


def test_no_circle_between_files():
    graph = _graph()
    circles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the path, 2 done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                circles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    found = [c for c in circles if frozenset(c) not in KNOWN_CIRCLES]
    assert not found, "circles of imports:\n" + "\n".join(" -> ".join(c) for c in found)


def test_every_module_says_its_job():
    missing = [_rel(p) for p in _files() if not ast.get_docstring(ast.parse(p.read_text(encoding="utf-8")))]
    assert not missing, "modules without an opening docstring: " + ", ".join(missing)


def test_no_long_source_file():
    skip = {"tests", ".venv", "node_modules", "build", ".git"}
    sources = [p for p in ROOT.rglob("*.py")
               if not skip & set(p.parts) and not any(part.startswith("blind") for part in p.parts)]
    long = {_rel(p): n for p in sources if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    long = {f: n for f, n in long.items() if f not in KNOWN_LONG}
    assert not long, f"files over {MAX_LINES} lines: {long}"
