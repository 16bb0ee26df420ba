"""n*(d) by bisection (tsearch.search.bisect), its sweep driver, and the censored fits
(tsearch.analysis.censored) that count a not-reached n* as a lower bound."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest
from click.testing import CliRunner
from tiny import keep_lines, tiny_toml

from tsearch.analysis.censored import Point, compare, fit_censored, loglik
from tsearch.analysis.sweep import bracket_points, seed_brackets
from tsearch.cli import main
from tsearch.runs.estimate import worst_case_probes
from tsearch.search.bisect import NStarSearch


def predicted_probes(n_star: int) -> int:
    """Probes a monotone metric with this n* (<= n_max, n_max a power of two) costs: 2k for
    n* in (2^(k-1), 2^k], 1 for n* = 1."""
    k = max(0, (n_star - 1).bit_length())
    return 1 if n_star == 1 else 2 * k


def search(n_star: int, n_max: int, start: dict | None = None) -> tuple[NStarSearch, list[int]]:
    """Run a search on the monotone metric 'passes iff n >= n_star'; the sizes it probed."""
    s = NStarSearch(n_max, dict(start or {}))
    probes = []
    while (n := s.next_probe()) is not None:
        assert n not in s.outcomes, "a probe is never repeated"
        probes.append(n)
        s.tell(n, n >= n_star)
    return s, probes


@pytest.mark.parametrize("n_max", [1, 2, 16, 64])
def test_bisection_finds_every_n_star_with_the_predicted_probes(n_max):
    for n_star in range(1, n_max + 1):
        s, probes = search(n_star, n_max)
        assert s.n_star == n_star and not s.censored
        assert len(probes) == predicted_probes(n_star), (n_star, probes)
        assert s.bracket == (n_star - 1, n_star)


def test_predicted_probes_by_hand():
    assert [predicted_probes(n) for n in (1, 2, 3, 4, 5, 8, 9, 16, 17)] == [1, 2, 4, 4, 6, 6, 8, 8, 10]
    assert search(5, 64)[1] == [1, 2, 4, 8, 6, 5]


def test_not_reached_by_n_max_is_censored_lower_bound():
    s, probes = search(100, 64)
    assert s.censored and s.n_star is None and s.bracket == (64, None)
    assert probes == [1, 2, 4, 8, 16, 32, 64]
    s, probes = search(40, 20)  # n_max not a power of two: the gallop's last size is capped
    assert probes == [1, 2, 4, 8, 16, 20] and s.censored and s.bracket == (20, None)
    s, probes = search(19, 20)
    assert s.n_star == 19 and probes[:6] == [1, 2, 4, 8, 16, 20]


@pytest.mark.parametrize("n_star", [1, 3, 7, 13, 33, 64, 65])
def test_resume_after_a_kill_at_every_probe_gives_the_same_answer(n_star):
    full, probes = search(n_star, 64)
    for killed_after in range(len(probes) + 1):
        recorded = {n: n >= n_star for n in probes[:killed_after]}  # what evaluations.jsonl held
        resumed, rest = search(n_star, 64, start=recorded)
        assert (resumed.n_star, resumed.censored) == (full.n_star, full.censored)
        assert probes[:killed_after] + rest == probes  # nothing repeated, nothing skipped


def test_worst_case_probes_bound_every_search():
    for n_max in (1, 5, 16, 64):
        bound = len(worst_case_probes(n_max))
        assert max(len(search(n, n_max)[1]) for n in range(1, n_max + 2)) <= bound


# ----------------------------------------------------------------------------- censored fits
def test_lower_bound_enters_through_the_survival_function():
    f = math.log
    exact = [Point(16, 8, 8)]
    bound = [Point(16, 8, None)]
    mu = 1.0 + 0.5 * math.log(16)
    z = (math.log(8) - mu) / 0.3
    assert loglik(exact, f, 1.0, 0.5, 0.3) == pytest.approx(-0.5 * z * z - 0.5 * math.log(2 * math.pi)
                                                             - math.log(0.3))
    from scipy.stats import norm
    assert loglik(bound, f, 1.0, 0.5, 0.3) == pytest.approx(norm.logsf(z))
    interval = [Point(16, 4, 8)]
    z4 = (math.log(4) - mu) / 0.3
    assert loglik(interval, f, 1.0, 0.5, 0.3) == pytest.approx(math.log(norm.cdf(z) - norm.cdf(z4)))


def test_censored_points_are_bounds_not_dropped():
    """n* = 2^(d/8) on the exponential; at the largest d it is past n_max = 64. Dropping the
    bounds flattens the growth; counting them keeps the exponent at least where the data say."""
    rng = np.random.default_rng(0)
    truth = [(d, 2 ** (d / 8) * math.exp(rng.normal(0, 0.05))) for d in (16, 25, 36, 49, 64) for _ in range(3)]
    with_bounds = [Point(d, round(n), round(n)) if n <= 64 else Point(d, 64, None) for d, n in truth]
    dropped = [p for p in with_bounds if p.kind != "lower"]
    assert any(p.kind == "lower" for p in with_bounds)
    c_bounds = fit_censored(with_bounds, "exponential")
    c_dropped = fit_censored(dropped, "exponential")
    assert c_bounds.censored > 0 and c_dropped.censored == 0
    assert c_bounds.beta >= c_dropped.beta - 1e-6
    assert c_bounds.beta_ci[0] <= math.log(2) / 8 <= c_bounds.beta_ci[1]


def test_verdicts_decide_or_say_why_not():
    rng = np.random.default_rng(1)
    power = [Point(d, n, n) for d in (16, 25, 36, 49, 64) for _ in range(3)
             for n in [max(1, round(0.5 * d * math.exp(rng.normal(0, 0.05))))]]
    v = compare(power)
    assert v.fits[0].name == "power law" and v.fits[0].weight >= 0.9
    assert v.sentence.startswith("power law preferred") and v.fits[0].beta_ci[0] < 1 < v.fits[0].beta_ci[1]
    all_bounds = compare([Point(d, 32, None) for d in (16, 36, 64)])
    assert all_bounds.sentence.startswith("cannot tell") and "n_max" in all_bounds.sentence
    flat = compare([Point(d, 8, 8) for d in (16, 36, 64) for _ in range(2)])
    assert flat.sentence.startswith("cannot tell: no growth"), flat.sentence
    three = compare([Point(16, 8, 8), Point(36, 16, 16), Point(64, 32, 32)])
    assert not three.fits and "3 points for 3 parameters" in three.sentence


def test_brackets_from_records_bisection_grid_and_censored():
    def rec(seed, n, value):
        return {"seed": seed, "n_train": n, "checkpoints": [{"step": 1, "g_rel": value}]}
    records = [rec(0, 4, 0.1), rec(0, 8, 0.9), rec(0, 6, 0.2), rec(0, 7, 0.6),  # bisection: n* = 7
               rec(1, 2, 0.1), rec(1, 8, 0.9),  # grid: n* in (2, 8]
               rec(2, 4, 0.0), rec(2, 32, 0.4)]  # never reached: n* > 32
    brackets = seed_brackets(records, "g_rel", 0.5)
    assert brackets == {0: (6, 7), 1: (2, 8), 2: (32, None)}
    kinds = [p.kind for p in bracket_points({16: brackets})]
    assert kinds == ["exact", "interval", "lower"]


# ----------------------------------------------------------------------------- the driver
# a code of 4 codewords (rate 0.125 at side 4): n* in 1 ... 3, or censored at S - 1 = 3
BISECT = tiny_toml(seed=0, n=2).replace('kind = "dots"', 'kind = "linear_code"\nrate = 0.125') + """
[executor]
tasks_per_chunk = 1
workers = 1
[sweep]
search = "bisect"
n_max = 4
generalization_metric = "coverage_unseen"
[sweep.grid]
"target.side" = [4]
"run.n" = [2, 4]
"run.seed" = [0]
"""


@pytest.mark.slow
def test_bisect_sweep_resumes_after_a_kill_at_every_probe(tmp_path, monkeypatch):
    """A folder cut after k recorded probes resumes to the same probes and answer, none repeated."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "b.toml").write_text(BISECT)
    run = CliRunner().invoke(main, ["sweep", "b.toml", "--out", "full", "--quiet"])
    assert run.exit_code == 0, run.output
    lines = (tmp_path / "full" / "evaluations.jsonl").read_text().splitlines()
    probes = [json.loads(line)["n_train"] for line in lines]
    assert len(probes) == len(set(probes)) >= 1 and set(probes) <= {1, 2, 3}
    assert probes[0] == 1  # run.n of the grid is ignored: the search starts at 1
    replay = NStarSearch(3)  # n_max 4, but S - 1 = 3 on a support of 4
    for line in lines:
        r = json.loads(line)
        assert replay.next_probe() == r["n_train"]  # the folder holds the search's own probes
        replay.tell(r["n_train"], max(c["coverage_unseen"] for c in r["checkpoints"]
                                      if c.get("coverage_unseen") is not None) >= 0.5)
    assert replay.done
    answer = json.loads((tmp_path / "full" / "analysis.json").read_text())["n_star_brackets"]
    for k in range(1, len(lines) + 1):  # killed after k probes (k = 0: the full run itself)
        cut = tmp_path / f"cut{k}"
        shutil.copytree(tmp_path / "full", cut)
        keep_lines(cut, k)  # a kill after k probes: the record and its claim cut back together
        run = CliRunner().invoke(main, ["sweep", "--resume", str(cut), "--quiet"])
        assert run.exit_code == 0, run.output
        got = [json.loads(line)["n_train"] for line in (cut / "evaluations.jsonl").read_text().splitlines()]
        assert got == probes
        assert json.loads((cut / "analysis.json").read_text())["n_star_brackets"] == answer


def test_bad_search_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "b.toml").write_text(BISECT)
    for flag, culprit in (("sweep.search=binary", "search"), ("sweep.n_max=0", "n_max")):
        run = CliRunner().invoke(main, ["sweep", "b.toml", "--set", flag, "--out", "x"])
        assert run.exit_code == 2 and culprit in run.output and "Traceback" not in run.output
        assert not (tmp_path / "x").exists()


def test_dry_run_counts_the_worst_case(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "b.toml").write_text(BISECT)
    run = CliRunner().invoke(main, ["sweep", "b.toml", "--dry-run"])
    assert run.exit_code == 0, run.output
    # one search (side 4, seed 0) on a support of 4: probes 1, 2, 3 (S - 1), no bisection left
    assert "at most 3 evaluation(s)" in run.output and 'search = "bisect"' in run.output
