"""What ``tsearch evolve`` writes besides its record: one logbook line per generation, and the
outputs at the end.

    pareto.json   tsearch.analysis.summary.summarize: fronts, control, comparison on fresh values,
                  the answer per size, the feature regression
    best/         per front member of either arm: training set grid + .npz of its parameters,
                  sample grid
    sets/         per size of size_grid: the best and the worst evaluated set, its training
                  images and the samples of its first training's reported step (grids)
"""

from __future__ import annotations

import numpy as np

from ..analysis.hypervolume import front_hypervolume
from ..analysis.summary import summarize
from ..config import Config
from ..errors import UserError
from ..report.evolve_sections import best_stem
from ..search import Genome, Strategy
from ..search.features import set_features
from ..store import layout
from ..store.folder import RunFolder
from ..store.images import read_images
from ..store.records import warn


def size_bounds(search) -> tuple[int, int]:
    """The sizes both phases may evaluate: the hypervolume's box, the same for both, so that
    the search and the baseline compare (tsearch.analysis.hypervolume)."""
    return min(search.n_min, *search.size_grid), max(search.n_max, *search.size_grid)


def hypervolume(strategy: Strategy, search) -> float:
    n_min, n_max = size_bounds(search)
    return front_hypervolume([(g.size, v) for g, v in strategy.archive.entries], n_min=n_min, n_max=n_max)


def log_entry(phase: str, strategy: Strategy, counts: dict, seconds: float, step: int, search) -> dict:
    """One logbook line: deterministic figures, plus wall-clock ones under ``timing``;
    ``hypervolume``: of this phase's front so far (tsearch.analysis.hypervolume)."""
    values = [v for v in strategy.values if v is not None]
    sizes = [g.size for g in strategy.population]
    best = strategy.archive.best()
    return {
        "step": step, "phase": phase, "generation": strategy.generation - 1, **counts,
        "population": len(sizes),
        "size": {"min": min(sizes), "max": max(sizes), "mean": float(np.mean(sizes))} if sizes else None,
        "fitness": ({"max": max(values), "mean": float(np.mean(values)),
                     "median": float(np.median(values)), "min": min(values)} if values else None),
        "front_size": len(strategy.archive.entries),
        "hypervolume": hypervolume(strategy, search),
        "best": None if best is None else {"hash": best[0].hash, "size": best[0].size, "value": best[1]},
        # a screened generation (search.screen_factor > 1): what the surrogate did
        **({"screen": screen} if (screen := strategy.screening()) else {}),
        "timing": {"seconds": round(seconds, 3),
                   "evals_per_s": round(counts["evaluations"] / seconds, 4) if seconds > 0 else None},
    }


def write_outputs(folder: RunFolder, config: Config, target, state,
                  fresh: dict[str, list] | None = None) -> None:
    """pareto.json, best/ (both arms' fronts), and of the best-step sample files only the fronts'
    (all the report shows); the packed samples of every scored step (``*_steps.npz``) all stay:
    they are what ``tsearch score DIR`` re-scores."""
    fronts = front_genomes(state)
    told = {g.hash: g for s in state.strategies.values() for g in s.archive.told + fronts}
    features = {h: {**set_features(g.render(target), g.elements), "valid": valid_share(target, g)}
                for h, g in told.items()}
    summary = summarize(config.search, state, fresh, features, config.train)
    folder.write_json(layout.PARETO, summary)
    for genome in fronts:
        write_best(folder, target, genome)
    for n, pair in summary["extremes"].items():  # the best and the worst set of each size
        for which, point in pair.items():
            if point["hash"] in told:
                folder.write_grid(layout.set_grid(int(n), which), told[point["hash"]].render(target))
            write_sample_grid(folder, point["hash"], layout.set_grid(int(n), which, samples=True))
    keep = {g.hash[:16] for s in state.strategies.values() for g in s.archive.genomes}
    keep |= {p["hash"][:16] for pair in summary["extremes"].values() for p in pair.values()}
    for path in folder.inside(layout.SAMPLES).glob("*.npz"):
        # *_steps: every scored step, kept for re-scoring
        if path.stem not in keep and not path.stem.endswith("_steps"):
            folder.delete(f"{layout.SAMPLES}/{path.name}")


def valid_share(target, genome: Genome) -> float | None:
    """The share of a set's images that are in the target's support (tsearch validate's rule):
    1 for polygons by construction; for free images, what the search kept of the support."""
    if not genome.size:
        return None
    return float(np.mean(target.is_valid(genome.render(target)).valid))


def front_genomes(state) -> list[Genome]:
    """The Pareto fronts of the search and of the control arm (when it ran)."""
    return [g for arm in ("search", "control") if arm in state.strategies
            for g in state.strategies[arm].archive.genomes]


def write_best(folder: RunFolder, target, genome: Genome) -> None:
    """The training set as a grid and as .npz (its parameters, one array each, and images),
    and the samples of its best scored step."""
    stem = best_stem(genome.size, genome.hash)
    images = genome.render(target)
    folder.write_grid(f"{stem}-train.png", images)
    folder.write_npz(f"{stem}-train.npz", images=images.astype(np.int8),
                     **{f"element_{i}": e for i, e in enumerate(genome.elements)})
    write_sample_grid(folder, genome.hash, f"{stem}-samples.png")


def write_sample_grid(folder: RunFolder, genome_hash: str, grid: str) -> None:
    """The grid of a set's best-step samples (samples/HASH16.npz), when the file is there."""
    samples = folder.inside(layout.evolve_samples(genome_hash) + ".npz")
    if samples.is_file():
        try:
            images = read_images(samples)
        except UserError as exc:  # its grid is left out, the outputs and the report still written
            warn(f"{exc}; the sample grid {grid} is left out")
            return
        folder.write_grid(grid, images)
