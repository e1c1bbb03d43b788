"""The installed wheel owns one import name, and the README's Python snippets run beside a user's own modules.

A user's project with its own `app.py`, `ingest.py` and `evals/` installs our wheel into a fresh virtual
environment and runs the README's snippets there: they work, print what the README shows, and leave the
user's modules alone.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import CORPUS, ROOT

pytestmark = pytest.mark.slow

USER_MODULES = {
    "app.py": 'MARKER = "the user\'s app"\n',
    "ingest.py": 'MARKER = "the user\'s ingest"\n',
    "evals/__init__.py": 'MARKER = "the user\'s evals"\n',
}


def readme_snippets() -> list[str]:
    """The README's ```python blocks that use our package."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    return [b for b in blocks if "consensus_chat" in b]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Build the wheel from a copy of the checkout (setuptools writes build/ next to the sources)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".*", "build", "dist", "*.egg-info", "__pycache__",
                                                             "tests", "docs", "test-artifacts", "node_modules"))
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(tmp / "dist"), str(src)], capture_output=True, text=True, timeout=300, cwd=tmp)
    assert build.returncode == 0, build.stderr
    return next((tmp / "dist").glob("consensus_chat-*.whl"))


def test_the_wheel_installs_one_import_name(wheel):
    """Every module in the wheel lives under consensus_chat/; top_level.txt, if written, names only it."""
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
        assert tops == {"consensus_chat"}
        assert zf.read("consensus_chat/corpus/interpretability-singapore-consensus.txt") == CORPUS.read_bytes()
        top_level = [n for n in names if n.endswith("top_level.txt")]
        if top_level:
            assert zf.read(top_level[0]).decode().split() == ["consensus_chat"]
        entry = zf.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
        assert "consensus-chat = consensus_chat.app.cli:main" in entry


def test_readme_snippets_run_in_a_fresh_venv_beside_the_users_own_modules(wheel, tmp_path):
    """Install the wheel into a new venv in a folder holding app.py, ingest.py and evals/; run the README there."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    vpy = venv / "bin" / "python"
    purelib = subprocess.run([str(vpy), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    # The heavy dependencies (torch, chromadb, gradio, ...) come from the test run's own environment: a
    # plain path entry, so that environment's editable finder for this checkout is NOT loaded (a .pth
    # line adds a directory but does not process the .pth files inside it). Installing them again would
    # take gigabytes and the network.
    deps = [p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]
    (Path(purelib) / "deps.pth").write_text("\n".join(deps) + "\n")
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(vpy), "install", "--no-deps", "-q",
                              str(wheel)], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr

    project = tmp_path / "my-project"
    for rel, text in USER_MODULES.items():
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        (project / rel).write_text(text)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSAFEPATH")}
    env["CONSENSUS_CHAT_HOME"] = str(tmp_path / "home")

    where = subprocess.run([str(vpy), "-c", "import consensus_chat.app.cli as c, app; print(c.__file__); print(app.MARKER)"],
                           capture_output=True, text=True, cwd=project, env=env, timeout=120)
    assert where.returncode == 0, where.stderr
    installed, marker = where.stdout.splitlines()
    assert installed.startswith(purelib) and marker == "the user's app"

    ingest = subprocess.run([str(venv / "bin" / "consensus-chat"), "ingest", "--quiet"], capture_output=True,
                            text=True, cwd=project, env=env, timeout=600)
    assert ingest.returncode == 0, ingest.stderr

    snippets = readme_snippets()
    assert len(snippets) >= 2
    for snippet in snippets:
        script = snippet + ("\nimport app, ingest, evals\n"
                            "assert (app.MARKER, ingest.MARKER, evals.MARKER) == "
                            "(\"the user's app\", \"the user's ingest\", \"the user's evals\")\n")
        run = subprocess.run([str(vpy), "-c", script], capture_output=True, text=True, cwd=project, env=env,
                             timeout=600)
        assert run.returncode == 0, f"{snippet}\n{run.stderr}"
        shown = {line[2:].rstrip() for line in snippet.splitlines() if line.startswith("# ")}
        for line in run.stdout.splitlines():
            assert line.rstrip() in shown, f"the README does not show this output line: {line!r}\n{snippet}"
    for rel, text in USER_MODULES.items():
        assert (project / rel).read_text() == text
