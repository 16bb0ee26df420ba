"""Dependencies point one way (docs/architecture.md); read from the imports with ``ast``.

Every import counts, including those inside functions and under ``TYPE_CHECKING``: a lazy
import is still a dependency.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tsearch"

# layer -> the tsearch layers it may import
ALLOWED = {
    "errors": set(),
    "atomic": set(),
    "registry": set(),
    "config": {"errors", "registry"},
    "configs": {"errors", "atomic"},  # the packaged TOML files: light, no torch
    "seeding": set(),  # seeds and numpy generators: no torch
    "torch_seeding": {"seeding"},  # torch generators, draws of stacked models
    "imageio": {"errors"},
    "tasks": {"config", "errors"},
    "targets": {"config", "errors", "seeding"},
    "diffusion": {"config", "errors", "seeding", "torch_seeding"},
    "models": {"config", "errors", "seeding", "torch_seeding"},
    "metrics": {"config", "errors", "seeding", "targets"},
    "oracles": {"config", "errors", "seeding", "targets", "diffusion"},
    "engine": {"config", "errors", "seeding", "torch_seeding", "tasks", "targets", "diffusion", "models",
               "oracles", "metrics"},
    "executors": {"config", "errors", "seeding", "tasks", "engine"},
    "search": {"config", "errors", "registry", "seeding", "atomic", "tasks"},
    "store": {"config", "errors", "seeding", "atomic", "tasks", "imageio", "search"},  # files of a run folder
    "analysis": {"config", "errors", "seeding", "tasks", "search"},  # numbers from results: no files
    "report": {"config", "errors", "seeding", "atomic", "tasks", "imageio", "search", "store", "analysis"},
    "runs": {"config", "configs", "errors", "seeding", "atomic", "tasks", "imageio", "targets",
             "engine", "executors", "search", "store", "analysis", "report"},
    "results": {"report"},  # the public import of report.tables
    "cli": {"config", "configs", "errors", "seeding", "tasks", "imageio", "targets", "engine",
            "executors", "search", "store", "analysis", "report", "runs", "results"},
    "__main__": {"cli"},
}
# the directions docs/architecture.md draws between the rooms, stated as prohibitions (ALLOWED
# implies them; this table is what a reader checks, and a test fails if the two disagree)
NEVER = {
    "analysis": {"store", "report", "runs"},  # numbers only: a caller hands them the records
    "report": {"runs"},  # a report reads what the commands wrote, it never runs one
    "store": {"runs", "report", "analysis"},  # storage knows files, not what they mean
    "search": {"store", "analysis", "report", "runs"},  # ask/tell in memory: the driver persists
}
HEAVY_FOR_SEARCH = {"torch", "torch_seeding"}  # nor any tsearch module that loads torch
TORCH_FREE = ("seeding", "search", "tasks", "executors", "store", "analysis")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(module: str, source: str, *, package: bool = False) -> set[str]:
    """Every module name ``source`` imports (absolute), at any depth of the file; ``module`` is
    the name the source has (``package``: it is a package's __init__)."""
    base_package = module if package else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = base_package.split(".")[: len(base_package.split(".")) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.add(name)
            found |= {f"{name}.{alias.name}" for alias in node.names}  # a submodule imported by name
    return found


def imported_modules(path: Path) -> set[str]:
    """The tsearch modules ``path`` imports (absolute names), at any depth of the file."""
    return {m for m in imports_of(module_name(path), path.read_text(), package=path.name == "__init__.py")
            if m in MODULES}


def top_level(module: str, source: str) -> set[str]:
    """The layer (tsearch.x -> x) or the third-party package of every import, for the rules."""
    return {m.split(".")[1] if m.startswith("tsearch.") else m.split(".")[0]
            for m in imports_of(module, source) if m}



LAYER_NAMES = {p.name.removesuffix(".py") for p in PACKAGE.iterdir() if not p.name.startswith("_")}


def violations(relative: str, source: str) -> list[str]:
    """What is wrong with the imports of ``source``, placed at ``tsearch/<relative>``."""
    layer = relative.split("/")[0].removesuffix(".py")
    if layer == "__init__":
        return []
    wrong = []
    module = "tsearch." + relative.removesuffix(".py").replace("/", ".")
    for name in top_level(module, source):
        if name in LAYER_NAMES and name != layer and name not in ALLOWED[layer]:
            wrong.append(f"{relative}: {layer} must not import {name}")
        if layer in TORCH_FREE and name in HEAVY_FOR_SEARCH:
            wrong.append(f"{relative}: {layer} must not import {name}")
        if layer == "config" and name in {"torch", "numpy", "ray", "shapely"}:
            wrong.append(f"{relative}: config must stay light ({name})")
    return wrong


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path):
    assert violations(str(path.relative_to(PACKAGE)), path.read_text()) == []


def test_every_layer_is_placed_and_the_named_directions_hold():
    """Every top-level module has a row; the rooms' prohibitions are implied by the rows."""
    assert LAYER_NAMES <= set(ALLOWED), f"unplaced: {sorted(LAYER_NAMES - set(ALLOWED))}"
    for layer, never in NEVER.items():
        assert not ALLOWED[layer] & never, f"{layer} may import {sorted(ALLOWED[layer] & never)}"


@pytest.mark.parametrize("relative, imported", [(f"{layer}/planted.py", other)
                                                for layer, never in NEVER.items() for other in sorted(never)])
def test_a_planted_import_against_the_directions_is_caught(relative, imported):
    """The check fails on a deliberate violation: an absolute, a relative and a lazy import."""
    for source in (f"import tsearch.{imported}\n", f"from ..{imported} import something\n",
                   f"def f():\n    from tsearch.{imported}.x import y\n"):
        assert violations(relative, source), source


def import_graph() -> dict[str, set[str]]:
    """module -> the tsearch modules it imports; importing a package's submodule also runs
    the package's __init__, hence an edge to every enclosing package."""
    graph = {}
    for name, path in MODULES.items():
        edges = set()
        for module in imported_modules(path):
            parts = module.split(".")
            edges |= {".".join(parts[:i]) for i in range(2, len(parts) + 1)}
        graph[name] = {m for m in edges if m in MODULES and m != name and not name.startswith(m + ".")}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path (first node repeated at the end), or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycle_anywhere():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    # the static graph sees function-level imports: the old runs/ loop would be caught
    assert "tsearch.report.render" in import_graph()["tsearch.cli.report"]


def test_cli_commands_search_and_tasks_import_without_torch_or_ray():
    """`tsearch --help` and config errors answer before torch or ray load: the command modules
    (and the drivers they import), search, tasks and executors load neither."""
    import subprocess
    import sys

    modules = ["tsearch.cli.run", "tsearch.cli.sweep", "tsearch.cli.evolve", "tsearch.cli.report",
               "tsearch.cli.validate", "tsearch.cli.export", "tsearch.cli.configs", "tsearch.search",
               "tsearch.tasks", "tsearch.executors", "tsearch.seeding", "tsearch.runs.evolve"]
    code = (f"import sys; import {', '.join(modules)}; "
            "print(sorted(m for m in ('torch', 'ray') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=PACKAGE.parent, check=True).stdout.strip()
    assert out == "[]", f"loaded at import: {out}"
