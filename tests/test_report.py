"""Reports: self-contained HTML, markdown, numbers consistent with the run folder's data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tsearch import configs
from tsearch.cli import main
from tsearch.config import config_from_dict, load_config, replace_path
from tsearch.config.grid import expand_grid
from tsearch.report.render import write_report
from tsearch.runs.run import write_run_files
from tsearch.runs.sweep import write_analysis
from tsearch.seeding import numpy_rng
from tsearch.store.provenance import write_provenance
from tsearch.store.records import append_jsonl
from tsearch.tasks import EvalResult, ScoredStep


def hand_made_result(rng) -> EvalResult:
    """What the engine returns for a 3-checkpoint run on 4x4 images (numbers made up)."""
    images = np.where(rng.random((4, 4, 4)) < 0.2, 1, -1).astype(np.int8)
    cps = [ScoredStep(step=s, metrics={"valid": v, "copy": c, "novel": v - c, "g": v - c,
                                       "g_rel": (v - c) / 0.75, "copy_shift": c + 0.05,
                                       "g_shift": v - c - 0.05},
                            intervals={"valid": (v - 0.1, v + 0.1)}, loss=1.0 / s,
                            samples=np.where(rng.random((9, 4, 4)) < 0.2, 1, -1).astype(np.int8))
           for s, v, c in ((10, 0.2, 0.0), (30, 0.85, 0.1), (100, 0.9, 0.7))]
    return EvalResult(task_id="run", ok=True, scored=cps, train_images=images, n_params=123)


def test_run_report_is_self_contained(tmp_path):
    write_provenance(tmp_path, "run", load_config(None, ["run.n=4", "target.side=4"]))
    write_run_files(tmp_path, hand_made_result(numpy_rng(0, "report")), seed=0, batch_size=64)
    html_path, md_path = write_report(tmp_path)
    html, md = html_path.read_text(), md_path.read_text()
    assert html.count("data:image/png;base64,") >= 4  # train set, curves, best and last samples
    assert "src='http" not in html and "missing figure" not in html
    assert "The best scored step by g is step 30" in md and "copy = 0.100" in md
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert (summary["tau_gen"], summary["tau_mem"], summary["best"]["step"]) == (30, 30, 30)
    assert (summary["tau_gen_valid"], summary["tau_mem_copy"]) == (30, 30)
    assert summary["tau_gen_epochs"] == 30 * 64 / 4  # batch 64 (the default), n = 4
    for line in md.splitlines():
        if line.startswith("![") and "](" in line:
            assert (tmp_path / line.split("](")[1].rstrip(")")).is_file()


def test_report_command(tmp_path):
    write_provenance(tmp_path, "run", load_config(None, ["target.side=4"]))
    write_run_files(tmp_path, hand_made_result(numpy_rng(1, "report")), seed=1)
    result = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert result.exit_code == 0 and (tmp_path / "report.html").is_file()
    result = CliRunner().invoke(main, ["report", str(tmp_path / "nothing")])
    assert result.exit_code == 2 and "not a tsearch run folder" in result.output


def synthetic_sweep(tmp_path: Path, n_star_of) -> None:
    """A sweep folder whose records reach g_rel = 0.5 exactly from n >= n_star_of(d, seed)."""
    grid = {"target.side": [4, 6, 8], "run.n": [2, 4, 8, 16, 32, 64, 128], "run.seed": [0, 1]}
    config = replace_path(load_config(None), "sweep.grid", grid)
    write_provenance(tmp_path, "sweep", config)
    for p in expand_grid(config):
        d, n, seed = p.config.target.side ** 2, p.config.run.n, p.config.run.seed
        g = 0.6 if n >= n_star_of(d, seed) else 0.1
        append_jsonl(tmp_path / "evaluations.jsonl", {
            "task_id": p.task_id, "index": p.index, "overrides": p.overrides, "seed": seed,
            "n_train": n, "d": d, "target_kind": "dots", "model_kind": "unet", "ok": True,
            "checkpoints": [{"step": 10, "valid": 0.9, "copy": 0.5, "g": g / 2, "g_rel": g / 2},
                            {"step": 100, "valid": 0.9, "copy": 0.1, "g": g, "g_rel": g}]})


@pytest.mark.parametrize("law,expected", [(lambda d, s: d / 2 * (1 + s * 0.3), "power law"),
                                          (lambda d, s: 2 ** (d / 16 + s * 0.3), "exponential")])
def test_sweep_report_finds_n_star_and_the_right_law(tmp_path, law, expected):
    synthetic_sweep(tmp_path, law)
    write_analysis(tmp_path)  # the driver writes the data product; the report only reads
    write_report(tmp_path)
    analysis = json.loads((tmp_path / "analysis.json").read_text())
    [(group, rows)] = analysis["n_star"].items()
    for row in rows:  # n* is the first grid n at or above the law, per seed
        for seed, star in row["per_seed"].items():
            assert star == min(n for n in (2, 4, 8, 16, 32, 64, 128) if n >= law(row["d"], int(seed)))
    best = analysis["scaling_fits"][group][0]
    assert best["name"] == expected
    md = (tmp_path / "report.md").read_text()
    # two seeds per d cannot separate these laws (ΔAIC < 2 for both): the report must say so,
    # with the ΔAIC of the fits it read, and must not claim a preference
    delta = analysis["scaling_fits"][group][1]["aic"] - best["aic"]
    assert delta < 2 and f"AIC does not separate them (ΔAIC = {delta:.2f} < 2)" in md
    assert "the data prefer" not in md
    assert (tmp_path / "figures" / "n_star.png").is_file()


@pytest.mark.parametrize("law", [lambda d, s: d / 2 * (1 + s * 0.3), lambda d, s: 2 ** (d / 16 + s * 0.3)])
def test_the_sweep_report_draws_analysis_json_and_says_what_a_recomputation_would(tmp_path, law):
    """The report reads the data product (analysis.json) instead of computing it again; what it
    says is what it said when it computed the analysis itself."""
    from tsearch.analysis.sweep import analysis_from_summary, analysis_summary, group_by
    from tsearch.store.folder import RunFolder
    from tsearch.store.records import dumps

    synthetic_sweep(tmp_path, law)
    write_report(tmp_path)  # no analysis.json yet: computed from the records
    recomputed = (tmp_path / "report.md").read_text()
    write_analysis(tmp_path)
    summary = json.loads((tmp_path / "analysis.json").read_text())
    folder = RunFolder.open(tmp_path)
    a = analysis_from_summary(summary, folder.config)
    records = [json.loads(line) for line in (tmp_path / "evaluations.jsonl").read_text().splitlines()]
    assert dumps(analysis_summary(a, group_by(records, a.group_axes))) == dumps(summary)  # read back whole
    write_report(tmp_path)
    assert (tmp_path / "report.md").read_text() == recomputed
    summary["scaling_fits"][next(iter(summary["scaling_fits"]))][0]["formula"] = "n* = read from analysis.json"
    (tmp_path / "analysis.json").write_text(json.dumps(summary))
    write_report(tmp_path)
    assert "n* = read from analysis.json" in (tmp_path / "report.md").read_text()  # read, not recomputed


@pytest.mark.parametrize("delta,verdict", [(2.5, "the data prefer the power law (ΔAIC = 2.50, Akaike weight 0.78)"),
                                           (1.5, "AIC does not separate them (ΔAIC = 1.50 < 2)")])
def test_fit_sentence_prefers_a_law_only_from_a_delta_aic_of_two(delta, verdict):
    from tsearch.analysis.sweep import Fit
    from tsearch.report.sweep_sections import fit_sentence

    fits = [Fit("power law", "n* = a d^b", {"a": 1.0, "b": 2.0}, {"a": (0.5, 2.0), "b": (1.5, 2.5)},
                rss=0.1, aic=-8.0, m=6, weight=0.78),
            Fit("exponential", "n* = a e^{c d}", {"a": 1.0, "c": 0.1}, {"a": (0.5, 2.0), "c": (0.0, 0.2)},
                rss=0.2, aic=-8.0 + delta, m=6, weight=0.22)]
    sentence = fit_sentence("dots", fits)
    assert sentence.endswith(f"; {verdict}.")


@pytest.mark.slow
@pytest.mark.parametrize("experiment", ["exp1", "exp2", "exp4"])
def test_experiment_smoke_reports(tmp_path, monkeypatch, experiment):
    """What CI runs: each experiment config at its --smoke size, report checked."""
    monkeypatch.chdir(tmp_path)
    out = tmp_path / experiment
    result = CliRunner().invoke(main, ["sweep", str(configs.path(experiment)),
                                       "--smoke", "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (out / "evaluations.jsonl").read_text().splitlines()]
    config = config_from_dict(json.loads((out / "config.json").read_text()))
    assert len(records) == len(expand_grid(config))
    analysis = json.loads((out / "analysis.json").read_text())
    for row in analysis["comparison"]:
        members = [r for r in records if r["d"] == row["d"] and r["n_train"] == row["n"]
                   and row["group"] in ("all", *[_group_label(r, config) for r in [r]])]
        assert row["seeds"] == len(members)
        assert row["g_best"] == pytest.approx(np.mean([max(c["g"] for c in r["checkpoints"]) for r in members]))
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "What was observed" in html


def _group_label(record, config) -> str:
    from tsearch.analysis.sweep import SEED, SIDE, N, _key, label_of

    axes = [a for a in sorted(config.sweep.grid) if a not in (SEED, N, SIDE)]
    return label_of(axes, tuple(_key(record["overrides"].get(a)) for a in axes))


def test_sweep_report_states_pixel_statistics_and_timescales(tmp_path):
    """iid-pixel records: the pixel-statistics table at the best checkpoint (by g), and the
    timescale sentence counting the seeds that memorized."""
    config = replace_path(load_config(None), "sweep.grid", {"run.n": [2, 4, 8], "run.seed": [0, 1]})
    write_provenance(tmp_path, "sweep", config)
    for p in expand_grid(config):
        n, seed = p.config.run.n, p.config.run.seed
        cps = [{"step": s, "valid": 1.0, "copy": c, "g": 1.0 - c, "g_rel": 1.0 - c,
                "copy_shift": c, "g_shift": 1.0 - c,
                "extra": {"p": 0.2, "white_fraction": w, "corr_horizontal": 0.0, "corr_vertical": 0.1}}
               for s, c, w in ((10, 0.0, 0.25), (100, 1.0 if n < 8 else 0.0, 0.15))]
        append_jsonl(tmp_path / "evaluations.jsonl", {
            "task_id": p.task_id, "index": p.index, "overrides": p.overrides, "seed": seed,
            "n_train": n, "d": 16, "target_kind": "bernoulli", "model_kind": "unet", "ok": True,
            "checkpoints": cps})
    write_report(tmp_path)
    md = (tmp_path / "report.md").read_text()
    assert "| all | 16 | 2 | 0.2 | 0.25 | 0 | 0.1 | 0.15 | 0 | 0.1 |" in md  # best = step 10
    assert "n=2: 10 / 100 (2/2 seeds memorized)" in md and "n=8: 10 / never (0/2 seeds memorized)" in md


def test_a_record_appended_after_a_torn_line_stays_whole(tmp_path):
    """A killed writer can leave half a line; the next record must not be glued to it."""
    from tsearch.store.records import read_jsonl

    path = tmp_path / "evaluations.jsonl"
    append_jsonl(path, {"task_id": "a"})
    with open(path, "a") as fh:
        fh.write('{"task_id": "b", "ok": tr')  # torn: no newline
    append_jsonl(path, {"task_id": "c"})
    assert [r["task_id"] for r in read_jsonl(path)] == ["a", "c"]
