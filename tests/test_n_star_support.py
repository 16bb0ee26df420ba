"""Experiment 1's n* on a finite support (docs/research.md): training sets of distinct support
images, n* = S when the threshold is not reached at S - 1, and the known answers of the oracles
(the target itself: n* = 1; a pure memorizer: n* = S) found by the bisection sweep."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner
from tiny import tiny_toml

from tsearch.cli import main
from tsearch.errors import UserError
from tsearch.targets.dots import DotsTarget
from tsearch.targets.linear_code import LinearCodeTarget


@pytest.mark.parametrize("target", [DotsTarget(side=4, k=1), LinearCodeTarget(side=5, rate=0.125)])
def test_distinct_training_sets_are_drawn_without_replacement(target):
    size = target.support_size
    rng = np.random.default_rng(0)
    for n in (1, size - 1, size):
        images = target.sample_distinct(n, rng)
        assert images.shape == (n, target.side, target.side)
        assert len({im.tobytes() for im in images}) == n and target.is_valid(images).valid.all()
    with pytest.raises(UserError, match=f"{size + 1} distinct images asked of a support of {size}"):
        target.sample_distinct(size + 1, rng)


def test_distinct_draws_are_uniform_over_the_support():
    """Each of the d dot positions is left out of an (d - 1)-set equally often (chi-square)."""
    from scipy.stats import chisquare
    target = DotsTarget(side=4, k=1)
    rng = np.random.default_rng(1)
    left_out = np.zeros(16)
    for _ in range(800):
        seen = target.sample_distinct(15, rng).reshape(15, -1).argmax(axis=1)
        left_out[np.setdiff1d(np.arange(16), seen)] += 1
    assert left_out.sum() == 800 and chisquare(left_out).pvalue > 1e-3


def oracle_sweep(kind: str) -> str:
    """Both targets at two sides (dot: S = 16, 25; code: S = 4, 8), n* by bisection on
    coverage_unseen, one seed; an oracle as the model (no training)."""
    return tiny_toml(seed=0, n=2).replace('kind = "mlp"\nwidth = 16\ndepth = 1', f'kind = "{kind}"') \
        .replace("n_steps = 6\nn_samples = 16", "n_steps = 40\nn_samples = 64") + """
[executor]
tasks_per_chunk = 1
workers = 1
[sweep]
search = "bisect"
n_max = 32
generalization_metric = "coverage_unseen"
[sweep.grid]
"target" = [{ kind = "dots", k = 1 }, { kind = "linear_code", rate = 0.125 }]
"target.side" = [4, 5]
"run.seed" = [0]
"""


def run_oracle_sweep(tmp_path, kind: str):
    (tmp_path / f"{kind}.toml").write_text(oracle_sweep(kind))
    out = tmp_path / kind
    run = CliRunner().invoke(main, ["sweep", str(tmp_path / f"{kind}.toml"), "--out", str(out), "--quiet"])
    assert run.exit_code == 0, run.output
    records = [json.loads(line) for line in (out / "evaluations.jsonl").read_text().splitlines()]
    return run.output, records, json.loads((out / "analysis.json").read_text())


def test_the_target_itself_has_n_star_1_on_both_supports(tmp_path):
    """Samples that cover the unseen support reach the threshold far below S: at n = 1."""
    output, records, analysis = run_oracle_sweep(tmp_path, "population")
    points = [p for ps in analysis["n_star_brackets"].values() for p in ps]
    assert len(points) == 4 and {p["support_size"] for p in points} == {16, 25, 4, 8}
    assert all(p["hi"] == 1 and p["lo"] == 0 for p in points)  # n* = 1 < S
    assert all(p["n_star_share"] == pytest.approx(1 / p["support_size"]) for p in points)
    assert len(records) == 4  # one probe per search
    assert "n* 1 (n*/S 0.06)" in output  # the printed verdict lines: d = 16, S = 16
    # n* = 1 everywhere: no search trained its largest set, none needed it memorized
    assert "no search ended at n* = S, so none needed its largest set memorized" in output


def test_a_memorizer_needs_the_whole_support_within_log2_s_plus_2_probes(tmp_path):
    output, records, analysis = run_oracle_sweep(tmp_path, "empirical")
    for group, points in analysis["n_star_brackets"].items():
        for p in points:
            size = p["support_size"]
            assert p["censored"] and p["lo"] == size - 1 and p["n_star_share"] == 1.0  # n* = S
            probes = [r["n_train"] for r in records if r["d"] == p["d"] and r["target_kind"] in group]
            assert max(probes) == size - 1 and len(probes) <= math.ceil(math.log2(size)) + 2
            copies = [r["checkpoints"][-1]["copy"] for r in records if r["d"] == p["d"]]
            assert min(copies) == 1.0  # it only ever copies
        assert analysis["against_support"][group].startswith("n* = S (the whole support) at every d")
    assert "against S: n* = S" in output
    assert "(every search that ended at n* = S had it memorized (>= 0.9))" in output
    report = (tmp_path / "empirical" / "report.md").read_text()  # the report says what the verdict says
    assert report.count("n* = S at every d and seed (censored at the support's size)") == 4  # 2 groups, 2 places
    assert "needs a larger n_max" not in report


@pytest.mark.parametrize("flag, culprit", [
    ("sweep.grid.target=[{kind = \"linear_code\", rate = 0.5}]", "needs sweep.n_max >= 255"),
    ("sweep.grid.target=[{kind = \"polygons\", min_area = 1}]", "coverage_unseen needs a finite support"),
    ("sampler.n_samples=8", "sampler.n_samples = 8"),
    ("sweep.threshold=1.5", "threshold"),
])
def test_a_search_that_cannot_end_at_the_support_is_refused_before_any_work(tmp_path, flag, culprit):
    (tmp_path / "s.toml").write_text(oracle_sweep("population"))
    run = CliRunner().invoke(main, ["sweep", str(tmp_path / "s.toml"), "--set", flag, "--out", str(tmp_path / "x")])
    assert run.exit_code == 2, run.output
    assert culprit in run.output and "Traceback" not in run.output
    assert len(run.output.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_n_star_against_the_support_tells_a_fixed_share_from_a_falling_one():
    from tsearch.analysis.sweep import track_support
    rng = np.random.default_rng(2)
    sizes = {16: 4, 25: 8, 36: 16, 49: 64, 64: 256}  # a code's S over d

    def brackets(law):
        out = {}
        for d, size in sizes.items():
            stars = [min(size - 1, max(1, round(law(size) * math.exp(rng.normal(0, 0.1))))) for _ in range(3)]
            out[d] = {seed: (n - 1, n) for seed, n in enumerate(stars)}
        return out

    assert track_support(brackets(lambda s: 0.5 * s), sizes).startswith("consistent with n* ∝ S")
    assert track_support(brackets(lambda s: 2 * s ** 0.5), sizes).startswith("grows slower than S")
    whole = {d: {0: (size - 1, None), 1: (size - 1, None)} for d, size in sizes.items()}
    assert track_support(whole, sizes).startswith("n* = S (the whole support) at every d and seed (10 points)")


def test_memorization_is_asked_only_of_the_searches_that_ended_at_the_support():
    """A search censored at S - 1 with its largest set not memorized is flagged (n* = S may be the
    budget's); one that passed early never trained its largest set and is not."""
    from tsearch.analysis.sweep import verdict_lines

    def summary(censored: bool, copy: float) -> dict:
        bracket = {"d": 16, "seed": 0, "support_size": 16, "censored": censored,
                   "lo": 15 if censored else 4, "hi": None if censored else 5,
                   "n_star_share": 1.0 if censored else 5 / 16}
        return {"n_star_brackets": {"dots": [bracket]}, "censored_fits": {"dots": {"verdict": "cannot tell"}},
                "against_support": {"dots": "..."},
                "largest_set_copy": {"dots": [{"d": 16, "seed": 0, "n": 15 if censored else 5, "copy_last": copy}]}}

    [*_, line] = verdict_lines(summary(censored=True, copy=0.5))
    assert "below 0.9 at d = 16 where a search ended at n* = S" in line
    [*_, line] = verdict_lines(summary(censored=True, copy=0.95))
    assert "every search that ended at n* = S had it memorized" in line
    [*_, line] = verdict_lines(summary(censored=False, copy=0.5))
    assert "no search ended at n* = S, so none needed its largest set memorized" in line
