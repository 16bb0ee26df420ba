"""Dependencies point one way (docs/architecture.md); read from the imports with ``ast``."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tsearch"

# layer -> the tsearch layers it may import
ALLOWED = {
    "errors": set(),
    "atomic": set(),
    "config": {"errors"},
    "configs": {"errors", "atomic"},  # the packaged TOML files: light, no torch
    "seeding": set(),
    "imageio": {"errors"},
    "targets": {"config", "errors", "seeding"},
    "diffusion": {"config", "errors", "seeding"},
    "models": {"config", "errors", "seeding"},
    "metrics": {"config", "errors", "seeding", "targets"},
    "oracles": {"config", "errors", "seeding", "targets", "diffusion"},
    "engine": {"config", "errors", "seeding", "targets", "diffusion", "models", "oracles", "metrics"},
    "executors": {"config", "errors", "seeding", "engine"},
    "search": {"config", "errors", "seeding", "atomic"},
}
HEAVY_FOR_SEARCH = {"torch"}


def _imports(path: Path) -> set[tuple[str, str]]:
    """(tsearch layer or top-level module, kind) for every import in a file."""
    tree = ast.parse(path.read_text())
    rel = path.relative_to(PACKAGE).parts
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                found.add((parts[1] if parts[0] == "tsearch" and len(parts) > 1 else parts[0], "abs"))
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                parts = (node.module or "").split(".")
                found.add((parts[1] if parts[0] == "tsearch" and len(parts) > 1 else parts[0], "abs"))
            else:
                base = list(rel[:-1])[: len(rel) - node.level]
                parts = base + (node.module.split(".") if node.module else [])
                if parts:
                    found.add((parts[0].removesuffix(".py"), "rel"))
                else:
                    for alias in node.names:
                        found.add((alias.name, "rel"))
    return found


def _layer(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


LAYER_NAMES = {p.name.removesuffix(".py") for p in PACKAGE.iterdir() if not p.name.startswith("_")}


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path):
    layer = _layer(path)
    if layer not in ALLOWED:
        return  # runs and cli sit on top and may import anything
    for name, _ in _imports(path):
        if name in LAYER_NAMES and name != layer:
            assert name in ALLOWED[layer], f"{path.relative_to(PACKAGE)}: {layer} must not import {name}"
        if layer == "search":
            assert name not in HEAVY_FOR_SEARCH, f"{path.relative_to(PACKAGE)}: search must not import torch"
        if layer == "config":
            assert name not in {"torch", "numpy", "ray", "shapely"}, f"config must stay light ({name})"
