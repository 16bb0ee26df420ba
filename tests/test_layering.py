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
    "runs": {"config", "configs", "errors", "seeding", "atomic", "tasks", "imageio", "targets",
             "engine", "executors", "search"},
    "results": {"config", "errors", "seeding", "atomic", "tasks", "runs"},  # a view: reads run folders
    "cli": {"config", "configs", "errors", "seeding", "tasks", "imageio", "targets", "engine",
            "executors", "search", "runs", "results"},
    "__main__": {"cli"},
}
HEAVY_FOR_SEARCH = {"torch", "torch_seeding"}  # nor any tsearch module that loads torch
TORCH_FREE = ("seeding", "search", "tasks", "executors")
# inside runs/: module group -> the groups it may import (views never reach the drivers)
RUNS_ALLOWED = {
    "base": {"base"},  # the recorder and what views and drivers share (every module not below)
    "views": {"base", "views"},
    "drivers": {"base", "views", "drivers"},
}
# every module that runs a command: a driver and the steps, state and plans only drivers use
RUNS_DRIVERS = {"run", "sweep", "bisect", "evolve", "evolve_tasks", "evolve_state", "evolve_outputs", "rescore", "estimate",
                "status", "study", "replicates", "screen_oracle"}
RUNS_BASE = {"folder", "records", "provenance", "images", "sweep_grid", "integrity", "lock", "pipeline", "progress"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imported_modules(path: Path) -> set[str]:
    """The tsearch modules ``path`` imports (absolute names), at any depth of the file."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}  # a submodule imported by name
    return {m for m in found if m in MODULES}


def top_level(path: Path) -> set[str]:
    """Top-level module names of every import (tsearch.x -> x), for the layer rules."""
    names = {m.split(".")[1] if m.count(".") else "tsearch" for m in imported_modules(path)}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _layer(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def _runs_group(module: str) -> str:
    parts = module.split(".")
    if len(parts) > 2 and parts[2] == "views":
        return "views"
    return "drivers" if len(parts) > 2 and parts[2] in RUNS_DRIVERS else "base"


LAYER_NAMES = {p.name.removesuffix(".py") for p in PACKAGE.iterdir() if not p.name.startswith("_")}


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path):
    layer = _layer(path)
    if layer == "__init__":
        return
    for name in top_level(path):
        if name in LAYER_NAMES and name != layer:
            assert name in ALLOWED[layer], f"{path.relative_to(PACKAGE)}: {layer} must not import {name}"
        if layer in TORCH_FREE:
            assert name not in HEAVY_FOR_SEARCH, f"{path.relative_to(PACKAGE)}: {layer} must not import {name}"
        if layer == "config":
            assert name not in {"torch", "numpy", "ray", "shapely"}, f"config must stay light ({name})"


@pytest.mark.parametrize("path", sorted((PACKAGE / "runs").rglob("*.py")),
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_views_never_import_drivers(path):
    group = _runs_group(module_name(path))
    for module in imported_modules(path):
        if module.startswith("tsearch.runs."):
            assert _runs_group(module) in RUNS_ALLOWED[group], \
                f"{path.relative_to(PACKAGE)} ({group}) must not import {module}"


def test_every_runs_module_is_a_driver_or_a_base_module():
    """A new module of runs/ is placed on purpose: the views may import it or they may not."""
    found = {p.stem for p in (PACKAGE / "runs").glob("*.py")} - {"__init__"}
    assert found == RUNS_BASE | RUNS_DRIVERS, f"unplaced: {sorted(found - RUNS_BASE - RUNS_DRIVERS)}"


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
    assert "tsearch.runs.views.report" in import_graph()["tsearch.cli.report"]


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
