"""tsearch.results: run, sweep and evolve folders as flat tables; export and load round-trip.

Real folders, made once per module by the CLI with tiny configs (an MLP on 4x4 dots, 6 steps).
"""

from __future__ import annotations

import json
import sys

import pandas as pd
import pytest
from click.testing import CliRunner
from tiny import tiny_toml

from tsearch import results
from tsearch.cli import main
from tsearch.errors import UserError

BASE = tiny_toml()
SWEEP = BASE + """
[sweep.grid]
"run.n" = [2, 4]
"run.seed" = [0, 1]
"""
EVOLVE = BASE + """
[search]
generations = 2
population = 4
n_min = 1
n_max = 4
size_grid = [2]
baseline_repeats = 1
keep_checkpoints = 2
reevaluate_seeds = 2
"""


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """kind -> a finished run folder of that kind."""
    root = tmp_path_factory.mktemp("results")
    made = {}
    for kind, text in (("run", BASE), ("sweep", SWEEP), ("evolve", EVOLVE)):
        config = root / f"{kind}.toml"
        config.write_text(text)
        made[kind] = root / kind
        result = CliRunner().invoke(main, [kind, str(config), "--out", str(made[kind]), "--quiet"],
                                    catch_exceptions=False)
        assert result.exit_code == 0, result.output
    return made


def lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_run_rows_are_its_checkpoints(folders):
    records = lines(folders["run"] / "metrics.jsonl")
    table = results.rows(folders["run"])
    assert len(records) == 2 and len(table) == len(records)
    for row, record in zip(table, records):
        assert (row["run_kind"], row["phase"], row["n"], row["seed"]) == ("run", "run", 3, 5)
        assert row["step"] == record["step"] and row["g"] == record["g"] and row["valid"] == record["valid"]
        assert [row["valid_lo"], row["valid_hi"]] == record["intervals"]["valid"]
        assert len(row["train_set_hash"]) == 64


def test_sweep_rows_are_evaluations_times_checkpoints(folders):
    records = lines(folders["sweep"] / "evaluations.jsonl")
    table = results.rows(folders["sweep"])
    assert len(records) == 4
    assert len(table) == sum(len(r["checkpoints"]) for r in records) == 8
    for record in records:
        mine = [row for row in table if row["task_id"] == record["task_id"]]
        assert [row["step"] for row in mine] == [cp["step"] for cp in record["checkpoints"]]
        assert [row["copy"] for row in mine] == [cp["copy"] for cp in record["checkpoints"]]
        assert {(row["n"], row["seed"]) for row in mine} == {(record["n_train"], record["seed"])}
        assert mine[0]["config/run.n"] == record["overrides"]["run.n"]
        assert json.loads(mine[0]["overrides"]) == record["overrides"]
    # four different training sets (n, seed): four different hashes
    assert len({row["train_set_hash"] for row in table}) == 4


def test_evolve_rows_carry_phase_and_generation(folders):
    records = lines(folders["evolve"] / "evaluations.jsonl")
    logbook = lines(folders["evolve"] / "logbook.jsonl")
    table = results.rows(folders["evolve"])
    assert len(table) == sum(len(r["checkpoints"]) for r in records) > 0
    phases = {row["phase"] for row in table}
    assert phases == {"baseline", "search", "control", "reevaluate"}, phases
    assert {r["phase"] for r in records} == phases  # the record itself names every line's phase
    for row in table:
        if row["phase"] == "reevaluate":
            assert row["generation"] is None and row["seed_index"] in (0, 1)
            assert row["search_step"] == len(logbook)
        else:
            entry = logbook[row["search_step"]]
            assert (row["phase"], row["generation"]) == (entry["phase"], entry["generation"])
            assert row["hypervolume"] == entry["hypervolume"] and 0 <= row["hypervolume"] <= 1
    n_fresh = sum(len(r["checkpoints"]) for r in records if r.get("phase") == "reevaluate")
    assert sum(row["phase"] == "reevaluate" for row in table) == n_fresh > 0
    # a re-evaluation draws a fresh seed: never the seed the search used for that training set
    search_seed = {row["train_set_hash"]: row["seed"] for row in table if row["phase"] != "reevaluate"}
    for row in table:
        if row["phase"] == "reevaluate":
            assert row["seed"] != search_seed[row["train_set_hash"]]


@pytest.mark.parametrize("kind", ["run", "sweep", "evolve"])
@pytest.mark.parametrize("fmt", results.FORMATS)
def test_export_then_load_round_trips(folders, tmp_path, kind, fmt):
    frame = results.load(folders[kind])
    assert len(frame) == len(results.rows(folders[kind])) and "g" in frame.columns
    written = results.export(folders[kind], fmt, out=tmp_path / f"table.{fmt}")
    back = results.load(written)
    assert list(back.columns) == list(frame.columns)
    pd.testing.assert_frame_equal(frame, back, check_dtype=False)


def test_export_defaults_into_the_folder(folders):
    written = results.export(folders["sweep"])
    try:
        assert written == folders["sweep"] / "results.csv"
        assert len(written.read_text().splitlines()) == 1 + 8  # header + rows
        assert "\r" not in written.read_text()
    finally:
        written.unlink()


def test_bad_inputs_are_one_line_user_errors(folders, tmp_path):
    with pytest.raises(UserError, match="--format 'xlsx': choose one of csv, parquet, jsonl"):
        results.export(folders["run"], "xlsx")
    with pytest.raises(UserError, match="not a tsearch run folder"):
        results.load(tmp_path)
    with pytest.raises(UserError, match="no such run folder or file"):
        results.load(tmp_path / "missing.csv")


def test_without_pandas_the_error_names_the_extra(folders, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # what an install without the extra sees
    with pytest.raises(UserError, match=r'pip install "tsearch\[results\]"'):
        results.load(folders["run"])
    assert len(results.rows(folders["run"])) == 2  # rows and CSV need no pandas
