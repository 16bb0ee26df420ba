"""Scoring samples from files, through the engine's own scoring function (engine/score.py).

    score_files(config, train, samples)   anyone's samples against a training set: one dict
    rescore_folder(run_dir)               every scored step a run folder kept (the packed
                                          samples/*steps.npz files), one record per step, in the
                                          form of metrics.jsonl lines plus ``file``
    compare(run_dir, rescored)            the re-scored values that differ from the recorded ones

A folder's evaluation is re-scored with its own config (a sweep point's: the grid expanded
again from config.json), its saved training set and its task seed, so the numbers are those the
run recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..atomic import to_jsonable
from ..config import Config
from ..config.grid import expand_grid
from ..engine.score import novel_mass, score_step, shared_target
from ..errors import UserError
from ..imageio import load_images
from ..store import layout
from ..store.folder import RunFolder
from ..store.images import read_samples
from ..store.records import EVALUATIONS, scored_record, steps_stem
from ..tasks import ScoredStep


def score_files(config: Config, train_path: str | Path, samples_path: str | Path) -> dict:
    """Metrics, intervals and extras of the samples in ``samples_path`` against the training
    set in ``train_path`` (arrays ``images`` (N, H, W), ±1 or 0/1), seed config.run.seed."""
    side = config.target.side
    train, samples = load_images(train_path), load_images(samples_path)
    for path, images in ((train_path, train), (samples_path, samples)):
        if images.shape[1:] != (side, side):
            raise UserError(f"{path}: images of size {images.shape[1]}x{images.shape[2]}; "
                            f"the target expects {side}x{side}")
    target = shared_target(config.target)
    mass = novel_mass(target, train, seed=config.run.seed, metrics_cfg=config.metrics)
    report = score_step(samples, train, target_cfg=config.target, metrics_cfg=config.metrics,
                        seed=config.run.seed, step=0, mass=mass)
    return to_jsonable({"n_samples": len(samples), "n_train": len(train), "metrics": report.metrics,
                        "intervals": report.intervals, "extra": report.extra})


def rescore_folder(run_dir: str | Path) -> Iterator[dict]:
    """One metrics.jsonl-like record per kept scored step (``file``: the samples file)."""
    folder = RunFolder.read(run_dir)
    files = list(sample_files(folder))
    if not files:
        raise UserError(f"{folder.path}: no saved samples (samples/*steps.npz) to re-score")
    for path, config in files:
        samples, train, seed = read_samples(path)
        target = shared_target(config.target)
        mass = novel_mass(target, train, seed=seed, metrics_cfg=config.metrics)
        for step, images in samples.items():
            report = score_step(images, train, target_cfg=config.target, metrics_cfg=config.metrics,
                                seed=seed, step=step, mass=mass)
            record = scored_record(ScoredStep(step, report.metrics, report.intervals, report.extra))
            yield to_jsonable({"file": str(path.relative_to(folder.path)), **record})


def sample_files(folder: RunFolder) -> Iterator[tuple[Path, Config]]:
    """(packed samples file, the config its evaluation ran with) of every kept evaluation."""
    kind = folder.meta.get("kind")
    if kind == "run":
        path = folder.path / layout.STEPS
        if path.is_file():
            yield path, folder.config
        return
    points = {p.index: p.config for p in expand_grid(folder.config)} if kind == "sweep" else {}
    for line in folder.records(EVALUATIONS, key=lambda r: r["task_id"]):
        if line.get("phase") == "reevaluate":  # fresh-seed re-evaluations keep no samples
            continue
        path = folder.path / steps_file(line)
        if path.is_file():
            yield path, points[line["index"]] if kind == "sweep" else folder.config


def steps_file(line: dict) -> str:
    """The packed samples file of an evaluations.jsonl line (sweep point or evolve genome)."""
    if "index" in line:
        return layout.sweep_point(line["index"], "steps") + ".npz"
    return f"{steps_stem(line.get('hash', ''), line.get('seed_index', 0))}.npz"


def recorded(folder: RunFolder) -> dict[tuple[str, int], dict]:
    """(samples file, step) -> the scored-step record the run wrote."""
    if folder.meta.get("kind") == "run":
        return {(layout.STEPS, r["step"]): r for r in folder.records(layout.METRICS)}
    return {(steps_file(line), r["step"]): r
            for line in folder.records(EVALUATIONS, key=lambda r: r["task_id"])
            if line.get("phase") != "reevaluate" for r in line.get("checkpoints", [])}


def compare(run_dir: str | Path, rescored: list[dict]) -> list[str]:
    """'file step N: metric recorded X, re-scored Y' for every value that differs."""
    before = recorded(RunFolder.open(run_dir))
    differences = []
    for r in rescored:
        old = before.get((r["file"], r["step"]))
        if old is None:
            differences.append(f"{r['file']} step {r['step']}: not in the run's records")
            continue
        for key in (k for k in r if k not in ("file", "step", "loss")):  # every metric, interval, extra
            if old.get(key) != r[key]:
                differences.append(f"{r['file']} step {r['step']}: {key} recorded {old.get(key)!r}, "
                                   f"re-scored {r[key]!r}")
    return differences
