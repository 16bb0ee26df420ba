"""Every run folder holds config.toml, which every command takes back and which reproduces the
run; run.json records the package versions."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner
from tiny import tiny_toml

from tsearch import configs
from tsearch.cli import main
from tsearch.config import config_to_toml, load_config, smoke_config

TINY = tiny_toml() + """
[sweep.grid]
"run.n" = [2, 4]
target = [{kind = "dots", side = 4}, {kind = "bernoulli", side = 4, p = 0.25}]
[sweep.smoke]
"train.steps" = 4
[search]
generations = 1
population = 2
n_min = 1
n_max = 3
size_grid = [2]
baseline_repeats = 1
reevaluate_seeds = 1
"""
VOLATILE = {"timings", "peak_memory_mb", "chunk_size", "form"}  # wall clock and batching


@pytest.mark.parametrize("name", configs.names())
def test_packaged_configs_round_trip_through_toml(tmp_path, name):
    config = load_config(configs.path(name))
    variants = [config, smoke_config(config, source=name)] if config.sweep.smoke else [config]
    for i, c in enumerate(variants):
        path = tmp_path / f"{i}.toml"
        path.write_text(config_to_toml(c))
        assert load_config(path) == c


def cli(*args) -> str:
    result = CliRunner().invoke(main, [*map(str, args)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def first_evaluation(run_dir, name) -> dict:
    line = json.loads((run_dir / name).read_text().splitlines()[0])
    return {k: v for k, v in line.items() if k not in VOLATILE}


@pytest.mark.parametrize("kind, record, extra", [
    ("run", "metrics.jsonl", []),
    ("sweep", "evaluations.jsonl", ["--smoke"]),
    ("evolve", "evaluations.jsonl", []),
])
def test_config_toml_reproduces_the_first_evaluation(tmp_path, kind, record, extra):
    (tmp_path / "tiny.toml").write_text(TINY)
    cli(kind, tmp_path / "tiny.toml", "--out", tmp_path / "a", "--quiet", *extra)
    saved = tmp_path / "a" / "config.toml"
    assert saved.read_text().startswith("# The resolved config of this run")
    cli(kind, saved, "--out", tmp_path / "b", "--quiet")  # --smoke already applied in the saved config
    assert load_config(saved) == load_config(tmp_path / "b" / "config.toml")
    assert first_evaluation(tmp_path / "a", record) == first_evaluation(tmp_path / "b", record)


def test_run_json_records_versions_and_the_command(tmp_path):
    (tmp_path / "tiny.toml").write_text(TINY)
    cli("run", tmp_path / "tiny.toml", "--out", tmp_path / "a", "--quiet")
    meta = json.loads((tmp_path / "a" / "run.json").read_text())
    import numpy
    import torch

    assert meta["versions"]["torch"] == torch.__version__ and meta["versions"]["numpy"] == numpy.__version__
    assert {"python", "tsearch", "deap", "shapely"} <= set(meta["versions"])
    assert meta["format"] == 1  # tsearch.store.layout.FORMAT
    # validate takes config.toml too
    images = tmp_path / "one.npz"
    numpy.savez(images, images=-numpy.ones((1, 4, 4), numpy.int8))
    assert json.loads(cli("validate", tmp_path / "a" / "config.toml", images).splitlines()[0])["index"] == 0


@pytest.mark.parametrize("fmt, opens", [(None, True), (1, True), (2, False), ("1", False)])
def test_a_folder_of_a_newer_format_is_one_line_and_one_without_a_format_opens(tmp_path, fmt, opens):
    """run.json's format: a folder made before the key existed (None) is format 1; a newer one
    is refused with one line naming run.json, exit 2, before anything is read or written."""
    (tmp_path / "tiny.toml").write_text(TINY)
    cli("run", tmp_path / "tiny.toml", "--out", tmp_path / "a", "--quiet")
    meta = json.loads((tmp_path / "a" / "run.json").read_text())
    meta.pop("format")
    if fmt is not None:
        meta["format"] = fmt
    (tmp_path / "a" / "run.json").write_text(json.dumps(meta))
    before = {p: p.read_bytes() for p in (tmp_path / "a").rglob("*") if p.is_file()}
    out = subprocess.run([sys.executable, "-c", "from tsearch.cli import main; main()", "status", str(tmp_path / "a")],
                         capture_output=True, text=True)
    if opens:
        assert out.returncode == 0, out.stderr
    else:
        assert out.returncode == 2 and out.stderr.strip().count("\n") == 0, out.stderr
        assert "run.json: a run folder of format" in out.stderr and "Traceback" not in out.stderr
    assert {p: p.read_bytes() for p in (tmp_path / "a").rglob("*") if p.is_file()} == before


# config_hash of the schema's defaults as the code of e7d24d9 (2026-12-07, before train.min_steps)
# computed it: a folder made then stores this hash and must still be the same run today
DEFAULTS_HASH_E7D24D9 = "2c93945880615316e77bdc897ea19509840ac3def5b27a8bfba8a7334acc6a58"


def test_a_key_added_to_the_schema_leaves_older_folders_the_same_run():
    """A key added after folders were written is marked schema.ADDED: left out of config.json and
    of every hash at its default, so a folder written before it resumes (a resume compares the
    hash in run.json with the config read back). If this fails after adding a key, mark it ADDED;
    after changing a default on purpose, the hash changes (older folders keep their own values)."""
    import dataclasses

    from tsearch.config import config_to_dict
    from tsearch.store.provenance import config_hash

    default = load_config(None)
    assert config_hash(default) == DEFAULTS_HASH_E7D24D9
    tables = [(t.name, getattr(default, t.name)) for t in dataclasses.fields(default)]
    added = [(name, f.name) for name, table in tables if dataclasses.is_dataclass(table)
             for f in dataclasses.fields(table) if f.metadata.get("omit_at_default")]
    assert ("train", "min_steps") in added
    for table, key in added:
        assert key not in config_to_dict(default)[table]
    floor = load_config(None, ["train.steps=0", "train.epochs=10", "train.min_steps=5"])
    assert config_to_dict(floor)["train"]["min_steps"] == 5  # set: written like any key
