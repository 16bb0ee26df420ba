"""Screening of candidate sets before training (tsearch.search.screening), on a synthetic
fitness whose answer is known: a planted feature of the training set plus seed noise.

    true(set)        = compactness of its polygons (mean isoperimetric quotient, 0..1)
    measured(set, i) = true(set) + N(0, NOISE^2), the noise drawn from (set hash, seed index)

The strategies run by their own loop (ask, train = measure, tell), with the random baseline
first as in tsearch evolve; no model is trained, so each search takes about a second.
"""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from tsearch.config import PolygonsConfig, SearchConfig
from tsearch.search import build_baseline, build_strategy
from tsearch.search.features import set_features
from tsearch.targets import build_target

NOISE = 0.05  # sd of the seed noise; true values of random sets spread with sd ~0.12
SNAPSHOT = Path(__file__).parent / "data" / "search_trajectory_a422f33.json"


def target():
    return build_target(PolygonsConfig(side=10, max_vertices=6, min_area=8.0))


def true_value(genome, tgt) -> float:
    return set_features(genome.render(tgt), genome.elements)["compactness"]


def measured(genome, tgt) -> float:
    seed = int.from_bytes(hashlib.sha256(genome.hash.encode()).digest()[:8], "little")
    return true_value(genome, tgt) + NOISE * float(np.random.default_rng(seed).normal())


def run_search(seed: int, generations: int, **search) -> dict:
    """Baseline then search, each set measured once; the asked hashes and the archives."""
    try:
        from tsearch.search.screening import attach
    except ImportError:  # a422f33, which writes the snapshot, has no screening
        attach = None
    cfg = SearchConfig(**{"generations": generations, "population": 8, "n_min": 1, "n_max": 3,
                          "size_grid": (1, 2, 3), "baseline_repeats": 4, **search})
    tgt = target()
    phases = {"baseline": build_baseline(cfg, tgt, np.random.default_rng([seed, 0])),
              "search": build_strategy(cfg, tgt, np.random.default_rng([seed, 1]))}
    if attach is not None:
        attach(phases, cfg, tgt)
    asked, screens = [], []
    for strategy in phases.values():
        while not strategy.done:
            genomes = strategy.ask()
            asked.append([g.hash for g in genomes])
            strategy.tell(genomes, [measured(g, tgt) for g in genomes])
            screens.append(strategy.screening() if hasattr(strategy, "screening") else None)
    search = phases["search"]
    return {"asked": asked, "archive": search.archive.state(), "screens": screens,
            "final_true": float(np.mean([true_value(g, tgt) for g in search.population])),
            "trained": sum(len(a) for a in asked[1:])}


def test_screen_factor_1_asks_what_a422f33_asked():
    """The trajectory (every asked set, the archive) of an unscreened search is the one the
    code before screening produced (tests/data, written by a422f33 with the same loop)."""
    expected = json.loads(SNAPSHOT.read_text())
    for strategy in ("nsga2", "single"):
        got = run_search(3, 4, strategy=strategy)
        assert got["asked"] == expected[strategy]["asked"]
        assert got["archive"] == expected[strategy]["archive"]
        assert all(s is None for s in got["screens"])


@pytest.mark.slow
def test_screened_search_beats_unscreened_at_equal_trainings():
    """Over 6 seeds, at equal trainings (8 per generation, 6 generations), screening 8x the
    candidates ends with a final population of higher true fitness, by a stated margin, and
    the surrogate ranks the sets it then sees trained (pooled out-of-sample Spearman)."""
    differences, correlations = [], []
    for seed in range(6):
        plain = run_search(seed, 6)
        screened = run_search(seed, 6, screen_factor=8)
        assert screened["trained"] == plain["trained"]  # equal trainings
        differences.append(screened["final_true"] - plain["final_true"])
        pairs = [(p["predicted"], p["measured"]) for s in screened["screens"] if s and s["by"] == "surrogate"
                 for p in s["picks"]]
        from tsearch.search.screening import spearman
        correlations.append(spearman(pairs))
    d = np.array(differences)
    half = 2.571 * d.std(ddof=1) / np.sqrt(len(d))  # t_{0.975, 5}
    print(f"screened - plain, final true mean: {d.mean():+.3f} +- {half:.3f}; per seed {np.round(d, 3)}; "
          f"Spearman {np.round(correlations, 2)}")
    assert d.mean() - half > 0.05, differences  # the margin: 0.05 of compactness, above the interval
    assert min(correlations) > 0.3 and np.mean(correlations) > 0.5, correlations


@pytest.mark.parametrize("model", ["gp", "linear"])
def test_screening_records_what_it_did(model):
    """Random picks (said so) while the surrogate has too few sets, then surrogate picks with
    predictions, an explore share, candidates >= factor x trained, features leaned on; and
    the planted feature is among them (compactness: the fitness is its value plus noise)."""
    run = run_search(0, 4, screen_factor=4, screen_explore=0.25, baseline_repeats=2, screen_model=model)
    first, *later = [s for s in run["screens"] if s is not None]
    assert first["by"] == "random" and "6 trained sets" in first["why"]  # 3 sizes x 2 baseline sets
    assert first["candidates"] == 32 and first["trained"] == 8
    for s in later:
        assert s["by"] == "surrogate" and s["candidates"] == 4 * s["trained"] == 32
        assert s["explore"] == 2 and sum(p["explore"] for p in s["picks"]) == 2
        assert all(p["predicted"] is not None and p["measured"] is not None for p in s["picks"])
        assert len(s["features"]) == 3 and {f["feature"] for f in s["features"]} <= set(
            ["size", "white", "white_sd", "vertices", "convexity", "compactness", "centre",
             "spread", "hamming", "overlap"] + [f"{n} missing" for n in ("hamming", "overlap")])
    assert "compactness" in {f["feature"] for f in later[-1]["features"]}


def test_screening_is_deterministic():
    """The surrogate is refit from the archives: the same state asks the same sets."""
    assert run_search(1, 4, screen_factor=4)["asked"] == run_search(1, 4, screen_factor=4)["asked"]


@pytest.mark.parametrize("key, value, words", [
    ("screen_factor", 0, "search.screen_factor"), ("screen_factor", 65, "search.screen_factor"),
    ("screen_explore", 1.5, "search.screen_explore"), ("screen_explore", -0.1, "search.screen_explore")])
def test_bad_screening_keys_are_refused(key, value, words):
    from tsearch.config import ConfigError, load_config
    with pytest.raises(ConfigError, match=words.replace(".", r"\.")):
        load_config(None, [f"search.{key}={value}"], defaults={"search": {}})


def write_snapshot() -> None:  # run from a checkout of a422f33: python tests/test_screening.py
    SNAPSHOT.parent.mkdir(exist_ok=True)
    SNAPSHOT.write_text(json.dumps({s: {k: v for k, v in run_search(3, 4, strategy=s).items()
                                         if k in ("asked", "archive")} for s in ("nsga2", "single")}))


if __name__ == "__main__":
    write_snapshot()
