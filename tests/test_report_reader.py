"""Reports a reader understands: a glossary that defines every column, the generation count as
configured, a headline that compares only sizes both arms evaluated, a smoke banner, tables that
scroll, training sets beside their samples, "no data" instead of empty axes."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from tiny import tiny_toml

from tsearch.cli import main
from tsearch.report import plots
from tsearch.report.glossary import defined
from tsearch.report.render import SECTIONS
from tsearch.store.folder import RunFolder

TINY = tiny_toml() + """
[sweep.grid]
"run.n" = [2, 4]
"target.side" = [4, 5]
[sweep.smoke]
"train.steps" = 4
[search]
generations = 2
population = 3
n_min = 1
n_max = 3
size_grid = [2, 3]
baseline_repeats = 1
reevaluate_seeds = 1
"""


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("reports")
    (root / "tiny.toml").write_text(TINY)
    made = {}
    for kind, extra in (("run", []), ("sweep", ["--smoke"]), ("evolve", [])):
        made[kind] = root / kind
        result = CliRunner().invoke(main, [kind, str(root / "tiny.toml"), "--out", str(made[kind]),
                                           "--quiet", *extra], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    return made


@pytest.mark.parametrize("kind", ["run", "sweep", "evolve"])
def test_every_column_is_in_the_glossary(folders, kind):
    sections = SECTIONS[kind](RunFolder.open(folders[kind]))
    columns = {c for s in sections for t in s.tables for c in t.columns}
    assert columns and not {c for c in columns if not defined(c)}
    html = (folders[kind] / "report.html").read_text()
    assert "<h2>Glossary</h2>" in html
    assert "<table>" not in html.replace("<div class='scroll'><table>", "")  # every table scrolls


def test_smoke_runs_carry_a_banner(folders):
    assert "Smoke run (--smoke)" in (folders["sweep"] / "report.html").read_text()
    assert "Smoke run (--smoke)" in (folders["sweep"] / "report.md").read_text()
    assert "Smoke run" not in (folders["evolve"] / "report.html").read_text()


def test_sweep_report_shows_each_training_set_beside_its_samples(folders):
    md = (folders["sweep"] / "report.md").read_text()
    assert md.count(": the training set*") == 4  # 4 grid points, one seed each
    for index in range(4):
        assert (folders["sweep"] / "samples" / f"p{index:05d}_train.png").is_file()


def test_evolve_report_counts_generations_as_configured(folders):
    md = (folders["evolve"] / "report.md").read_text()
    assert "The search ran 2 generation(s) (strategy nsga2), after the random baseline's 1" in md
    assert "Hypervolume of the (size, g) front:" in md


def test_empty_panels_say_no_data(tmp_path, monkeypatch):
    said = []
    monkeypatch.setattr(plots, "no_data", lambda ax, what="no data": said.append(what))
    nan = np.array([np.nan, np.nan])
    plots.timescale_plot(tmp_path / "t.png", {"all": {"tau_gen": (np.array([2, 4]), nan),
                                                     "tau_mem": (np.array([2, 4]), np.array([10.0, 20.0]))}})
    assert said == ["no data: tau_gen was never reached"] and (tmp_path / "t.png").is_file()
    plots.scaling_plot(tmp_path / "s.png", {"all": (np.array([16.0]), np.array([np.nan]))}, {})
    assert len(said) == 2 and said[1].startswith("no data")
