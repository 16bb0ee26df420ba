"""The code meets the style the project states in pyproject.toml, and keeps its rooms' promises
that a linter cannot see: only tsearch.store names the files of a run folder."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tsearch"


def test_the_code_meets_the_linter_config():
    pytest.importorskip("ruff", reason="ruff comes with the dev extra: pip install -e '.[dev]'")
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def file_names() -> set[str]:
    """Every file name tsearch.store.layout gives (a name with a suffix: directories such as
    'samples' or 'best' are also words of the records, e.g. a record's "best" step)."""
    from tsearch.store import layout

    names = {v for k, v in vars(layout).items() if k.isupper() and isinstance(v, str) and "." in v}
    return names | {Path(v).name for v in names}


def literals(path: Path) -> list[tuple[int, str]]:
    """The string constants of a module that are a run folder's file name, with their line."""
    names = file_names()
    return [(node.lineno, node.value) for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names]


def test_no_run_folder_file_name_is_spelled_outside_the_store():
    found = [f"{p.relative_to(ROOT)}:{line}: {value!r}" for p in sorted(PACKAGE.rglob("*.py"))
             if "store" not in p.relative_to(PACKAGE).parts for line, value in literals(p)]
    assert not found, "use tsearch.store.layout:\n" + "\n".join(found)


def test_the_check_sees_a_spelled_file_name(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text('folder.read_json("pareto.json")\npath / "checkpoints" / "x"\n')
    assert literals(planted) == [(1, "pareto.json")]
