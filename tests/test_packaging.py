"""The package as users get it: packaged configs, extras, a wheel installed without Ray.

The slow test builds a wheel from a copy of the source tree, installs it in a fresh virtual
environment (no system site-packages: nothing of this environment, Ray included, is visible),
and runs the commands a new user would, from an empty directory outside the repository.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tsearch import configs
from tsearch.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# the default evolve config shrunk to seconds: 2 tiny CNNs per generation, 1 generation per phase
TINY_EVOLVE = ["train.epochs=0", "train.steps=4", "train.first_checkpoint=2", "train.n_checkpoints=1",
               "sampler.n_steps=4", "sampler.n_samples=8", "sampler.n_select=4", "metrics.reference_samples=16",
               "search.generations=1", "search.population=2", "search.size_grid=[2]",
               "search.baseline_repeats=1", "search.reevaluate_seeds=1", "model.channels=[4, 8]",
               "model.groups=4", "model.time_dim=8"]


# ----------------------------------------------------------------------------- packaged configs
def test_the_shipped_configs_live_in_the_package_only():
    assert not (ROOT / "configs").exists(), "a second copy of the configs next to the package"
    assert {"evolve", "exp1", "exp2", "exp4", "dots_small"} <= set(configs.names())
    for name in configs.names():
        assert configs.path(name).parent == ROOT / "tsearch" / "configs"
        assert configs.summary(name), f"{name}.toml opens with no comment saying what it is for"


def test_a_config_argument_is_a_file_first_then_a_packaged_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert configs.resolve("exp1") == configs.path("exp1")
    assert configs.resolve("exp1.toml") == configs.path("exp1")
    (tmp_path / "exp1.toml").write_text("[run]\n")  # a file of the same name wins
    assert configs.resolve("exp1.toml") == Path("exp1.toml")
    with pytest.raises(UserError, match=r"nope: no such config file, nor a packaged config \(packaged: dots_small"):
        configs.resolve("nope")
    with pytest.raises(UserError, match="no such config file"):
        configs.resolve("sub/exp1.toml")  # a path is never taken for a name


def test_listing_and_copy(tmp_path):
    lines = configs.listing().splitlines()
    assert [line.split()[0] for line in lines] == configs.names()
    out = configs.copy("exp2", tmp_path / "mine.toml")
    assert out.read_text() == configs.path("exp2").read_text()
    with pytest.raises(UserError, match="already exists"):
        configs.copy("exp2", out)
    with pytest.raises(UserError, match="no such directory"):
        configs.copy("exp2", tmp_path / "missing" / "x.toml")
    with pytest.raises(UserError, match="no packaged config of that name"):
        configs.copy("exp3", tmp_path / "y.toml")


# ----------------------------------------------------------------------------- metadata
def test_ray_and_tables_are_extras_and_dev_has_them():
    project = PYPROJECT["project"]
    assert not any(d.startswith("ray") for d in project["dependencies"])
    assert not any(d.startswith(("pandas", "pyarrow")) for d in project["dependencies"])
    extras = project["optional-dependencies"]
    assert extras["ray"] == ["ray>=2.59"]
    assert extras["results"] == ["pandas>=2", "pyarrow>=14"]
    assert "tsearch[ray,results]" in extras["dev"] and any(d.startswith("build") for d in extras["dev"])
    assert project["license"] == "MIT" and (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert PYPROJECT["tool"]["setuptools"]["package-data"]["tsearch.configs"] == ["*.toml"]


def test_python_dash_m_tsearch_is_the_cli():
    out = subprocess.run([sys.executable, "-m", "tsearch", "--help"], capture_output=True, text=True,
                         cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "Usage: tsearch" in out.stdout and "evolve" in out.stdout


# ----------------------------------------------------------------------------- the wheel
def run(args, cwd, timeout=300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.mark.slow
def test_wheel_installs_without_ray_and_runs_from_anywhere(tmp_path):
    import torch

    # build from a copy, so stale build/ folders of the checkout cannot leak into the wheel
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "results", "__pycache__", ".pytest_cache"))
    built = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path / "dist", source],
                cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    [wheel] = (tmp_path / "dist").glob("tsearch-*.whl")

    venv = tmp_path / "venv"  # a plain venv: this environment's packages (Ray) are invisible
    assert run([sys.executable, "-m", "venv", venv], cwd=tmp_path).returncode == 0
    python, tsearch = venv / "bin" / "python", venv / "bin" / "tsearch"
    torch_pin = f"torch=={torch.__version__.split('+')[0]}"  # the build this machine has
    installed = run([python, "-m", "pip", "install", "-q", "--no-compile", torch_pin, wheel], cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr

    empty = tmp_path / "elsewhere"  # no repository, no configs/ folder, no ray/ folder
    empty.mkdir()
    no_ray = run([python, "-c", "import ray"], cwd=empty)
    assert no_ray.returncode != 0 and "No module named 'ray'" in no_ray.stderr
    where = run([python, "-c", "import tsearch.configs as c; print(c.path('evolve'))"], cwd=empty)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout  # the installed copy
    for args in ([tsearch, "--help"], [python, "-m", "tsearch", "--help"]):
        shown = run(args, cwd=empty)
        assert shown.returncode == 0 and "evolve" in shown.stdout, shown.stderr

    listed = run([tsearch, "configs"], cwd=empty)
    assert listed.returncode == 0 and "evolve" in listed.stdout.split(), listed.stderr
    planned = run([tsearch, "evolve", "--dry-run"], cwd=empty)  # the packaged config, no run
    assert planned.returncode == 0 and "# --dry-run: at most" in planned.stdout, planned.stderr
    assert list(empty.iterdir()) == []

    # the main job with no CONFIG: the packaged evolve config, on the local executor, without Ray
    overrides = [a for item in TINY_EVOLVE for a in ("--set", item)]
    evolved = run([tsearch, "evolve", "--quiet", *overrides], cwd=empty)
    assert evolved.returncode == 0, evolved.stderr
    run_dir = empty / evolved.stdout.strip().splitlines()[-1]
    assert (run_dir / "pareto.json").is_file() and (run_dir / "report.html").is_file()
    # a table without pandas: CSV; Parquet names the extra
    exported = run([tsearch, "export", run_dir], cwd=empty)
    assert exported.returncode == 0 and (run_dir / "results.csv").is_file(), exported.stderr
    parquet = run([tsearch, "export", run_dir, "--format", "parquet"], cwd=empty)
    assert parquet.returncode == 2 and 'pip install "tsearch[results]"' in parquet.stderr
