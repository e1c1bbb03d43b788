"""The lock installs on a fresh machine: registry pins only, every dependency pinned, torch pinned once."""

from __future__ import annotations

import re
import tomllib

import pytest
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from conftest import ROOT

LOCK = ROOT / "requirements.lock"
PYPROJECT = ROOT / "pyproject.toml"
MAKEFILE = ROOT / "Makefile"


def lock_problems(lines: list[str]) -> list[str]:
    """Every lock line that is not `name==version` from the registry (a path, URL, VCS or loose pin)."""
    problems = []
    for n, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            req = Requirement(line)
        except InvalidRequirement:
            problems.append(f"line {n}: {raw!r} is not a requirement (a path or an option?)")
            continue
        specs = list(req.specifier)
        if req.url or len(specs) != 1 or specs[0].operator != "==" or req.marker or req.extras:
            problems.append(f"line {n}: {raw!r} is not name==version")
            continue
        try:
            version = Version(specs[0].version)
        except InvalidVersion:
            problems.append(f"line {n}: {raw!r} has no exact version")
            continue
        if version.local:  # e.g. 2.13.0+cpu: a build only one machine's disk has
            problems.append(f"line {n}: {raw!r} carries a local version label")
    return problems


def lock_pins() -> dict[str, str]:
    """Lock name (canonical) -> version."""
    pins = {}
    for line in LOCK.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            pins[canonicalize_name(req.name)] = next(iter(req.specifier)).version
    return pins


@pytest.mark.parametrize("bad", [
    "PyStemmer @ file:///root/wheels/pystemmer-3.1.0-cp311-cp311-linux_x86_64.whl",
    "bm25s @ git+https://github.com/xhluca/bm25s@main",
    "chromadb @ https://example.org/chromadb-1.5.9.tar.gz",
    "./wheels/torch-2.13.0.whl",
    "-e ./vendor/thing",
    "torch==2.13.0+cpu",
    "numpy>=2",
    "rich",
])
def test_the_checker_refuses_what_a_fresh_machine_cannot_install(bad):
    assert lock_problems(["click==8.3.1", bad]), bad
    assert not lock_problems(["click==8.3.1", "PyStemmer==3.1.0"])


def test_lock_holds_only_registry_pins():
    assert lock_problems(LOCK.read_text().splitlines()) == []


def test_every_declared_dependency_is_in_the_lock():
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    declared = list(project["dependencies"]) + [d for deps in project["optional-dependencies"].values() for d in deps]
    pins = lock_pins()
    missing = []
    for dep in declared:
        req = Requirement(dep)
        if canonicalize_name(req.name) not in pins:
            missing.append(req.name)
        elif req.specifier and not req.specifier.contains(pins[canonicalize_name(req.name)], prereleases=True):
            missing.append(f"{dep} (lock has {pins[canonicalize_name(req.name)]})")
    assert missing == []


def test_torch_is_pinned_the_same_everywhere():
    pins = lock_pins()
    make_pins = re.findall(r"\btorch==(\S+)", MAKEFILE.read_text())
    project_pins = [Requirement(d) for d in tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]]
    project_torch = [str(r.specifier) for r in project_pins if canonicalize_name(r.name) == "torch"]
    assert make_pins and set(make_pins) == {pins["torch"]}
    assert project_torch == [f"=={pins['torch']}"]


def test_make_lock_writes_name_equals_version():
    """`make lock` uses `pip list --format=freeze` (never `pip freeze`, which writes `@ file://`) and drops +local."""
    recipe = MAKEFILE.read_text().split("\nlock:", 1)[1].split("\n\n", 1)[0]
    assert "--format=freeze" in recipe and "pip freeze" not in recipe.replace("--format=freeze", "")
    strip = re.search(r"sed -E '(s/[^']+)'", recipe).group(1)
    _, pattern, replacement, _ = strip.split("/")
    assert re.sub(pattern, replacement.replace("\\1", r"\1"), "torch==2.13.0+cpu") == "torch==2.13.0"


SHIPPED = ("app", "evals", "ingest", "retriever", "consensus_chat")


def runtime_closure() -> set[str]:
    """Every distribution `pip install consensus-chat` brings in: the declared dependencies (no extras of ours) and
    what they require in turn on this platform, with the extras each is asked for (`gradio[mcp]`), read from the
    installed metadata."""
    from importlib.metadata import PackageNotFoundError, requires

    project = tomllib.loads(PYPROJECT.read_text())["project"]
    todo, seen = [(Requirement(d), "") for d in project["dependencies"]], set()
    while todo:
        req, asked_by = todo.pop()  # asked_by: the extra of the parent that listed it ("" for its plain install)
        name = canonicalize_name(req.name)
        if req.marker is not None and not req.marker.evaluate({"extra": asked_by}):
            continue
        for extra in ("", *sorted(req.extras)):
            if (name, extra) in seen:
                continue
            seen.add((name, extra))
            try:
                todo += [(Requirement(r), extra) for r in requires(req.name) or ()]
            except PackageNotFoundError:
                pass
    return {name for name, _ in seen}


def test_every_module_the_shipped_code_imports_comes_with_the_package():
    # `consensus-chat eval` once imported psutil, a dev-only dependency: `make eval` (no dev extras) failed with an
    # "unexpected" error. Every third-party import in the package's own code must come with a plain install.
    import ast
    import sys
    from importlib.metadata import packages_distributions

    owners = packages_distributions()
    closure = runtime_closure()
    missing = set()
    for package in SHIPPED:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                    [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else [])
                for name in names:
                    top = name.split(".")[0]
                    if top in sys.stdlib_module_names or top in SHIPPED or top == "__future__":
                        continue
                    dists = {canonicalize_name(d) for d in owners.get(top, [])}
                    if not dists & closure:
                        missing.add(f"{path.relative_to(ROOT)}: {top} ({', '.join(sorted(dists)) or 'not installed'})")
    assert sorted(missing) == []
