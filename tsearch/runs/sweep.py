"""Driver of ``tsearch sweep``: a Cartesian grid of configs, streamed to evaluations.jsonl.

``[sweep] grid`` maps dotted config keys (or whole tables, e.g. ``target``) to the lists they
take; every grid point is one training set (``run.n`` images drawn with ``run.seed``) and one
evaluation. Run folder (besides run.json / config.json):

    evaluations.jsonl   one line per finished evaluation (appended as soon as it finishes):
                        task_id, index, overrides, seed, n_train, per-checkpoint metrics, timings
    errors.jsonl        evaluations that failed (retried by --resume)
    samples/pNNNNN_{best,last}.{npz,png}, samples/pNNNNN_train.npz
    report.html / .md   analysis of tsearch.runs.analysis

``--resume DIR`` evaluates only the grid points whose task_id is not in evaluations.jsonl.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import product
from pathlib import Path

import numpy as np

from ..config import Config, ConfigError, config_from_dict, config_to_dict, replace_path
from .files import append_jsonl, config_hash, new_run_dir, open_run, read_jsonl, write_provenance
from .grids import save_grid
from .progress import progress_bar

EVALUATIONS = "evaluations.jsonl"


@dataclass(frozen=True)
class GridPoint:
    index: int  # position in the grid's row-major order
    task_id: str  # stable identity of the point: its overrides, spelled out
    overrides: dict  # grid key -> value
    config: Config


# ----------------------------------------------------------------------------- grid
def apply_smoke(config: Config) -> Config:
    """The ``[sweep.smoke]`` overrides: dotted keys, and ``grid`` merged into the grid."""
    for key, value in config.sweep.smoke.items():
        if key == "grid":
            config = replace_path(config, "sweep.grid", {**config.sweep.grid, **value})
        else:
            config = _replace(config, key, value, where="sweep.smoke")
    return config


def expand_grid(config: Config, *, source: str = "<config>") -> list[GridPoint]:
    """Every grid point's config, all validated before any work (one-line ConfigError)."""
    grid = config.sweep.grid
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{source}: sweep.grid.{key}: expected a non-empty list")
    # Sorted names: config.json stores tables with sorted keys, and a resumed sweep must
    # rebuild the same points, ids and indices from it. Whole tables apply first, so that
    # "target" = [{kind = ...}] and "target.side" compose.
    names = sorted(grid)
    keys = sorted(names, key=lambda k: k.count("."))
    points = []
    for index, values in enumerate(product(*(grid[k] for k in names))):
        overrides = dict(zip(names, values))
        point = config
        for key in keys:
            point = _replace(point, key, overrides[key], where=f"{source}: sweep.grid point {index}")
        points.append(GridPoint(index, point_id(overrides), overrides, point))
    return points


def point_id(overrides: dict) -> str:
    return " ".join(f"{k}={_label(v)}" for k, v in overrides.items())


def _label(value) -> str:
    if isinstance(value, dict):  # a whole table: its kind, then its other keys
        rest = ",".join(f"{k}={_label(v)}" for k, v in sorted(value.items()) if k != "kind")
        return f"{value.get('kind', '')}({rest})" if rest else str(value.get("kind", "()"))
    if isinstance(value, list):
        return "[" + ",".join(_label(v) for v in value) + "]"
    return str(value).lower() if isinstance(value, bool) else str(value)


def _replace(config: Config, key: str, value, *, where: str) -> Config:
    try:
        if "." not in key:  # a whole table, e.g. target = {kind = "linear_code", rate = 0.25}
            if not isinstance(value, dict):
                raise ConfigError(f"<override>: {key}: expected a table")
            return config_from_dict({**config_to_dict(config), key: value}, source="<override>")
        return replace_path(config, key, value)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {str(exc).removeprefix('<override>: ')}") from None


# ----------------------------------------------------------------------------- driver
def run_sweep(config: Config, *, source: str = "<config>", out: str | Path | None = None,
              resume: str | Path | None = None, smoke: bool = False,
              show_progress: bool = True) -> Path:
    """Evaluate every grid point not yet in evaluations.jsonl, then write the report."""
    from .report import write_report

    if resume is not None:
        run_dir, _, config = open_resumed(resume, config)
        source = str(run_dir / "config.json")
    elif smoke:
        config = apply_smoke(config)
    points = expand_grid(config, source=source)  # validates everything before any folder exists
    from ..engine.device import resolve_device

    resolve_device(config.engine.device)
    if resume is None:
        run_dir = new_run_dir("sweep", config.run.name or Path(source).stem, out)
        write_provenance(run_dir, "sweep", config, smoke=smoke, n_points=len(points))
    done = {r["task_id"] for r in read_jsonl(run_dir / EVALUATIONS)}
    todo = [p for p in points if p.task_id not in done]
    evaluate_points(run_dir, todo, config, show_progress=show_progress)
    write_report(run_dir)
    return run_dir


def open_resumed(resume, config: Config | None) -> tuple[Path, dict, Config]:
    """The sweep folder to resume; its config.json rules (a given CONFIG must agree with it)."""
    from ..errors import UserError

    run_dir, meta, stored = open_run(resume, "sweep")
    if config is not None:
        if meta.get("smoke"):
            config = apply_smoke(config)
        if config_hash(config) != meta.get("config_sha256"):
            raise UserError(f"{run_dir}: its config.json differs from the given config "
                            "(resume with the same CONFIG and --set, or without CONFIG)")
    return run_dir, meta, stored


def evaluate_points(run_dir: Path, points: Sequence[GridPoint], config: Config, *,
                    show_progress: bool = True) -> None:
    from ..engine import EvalTask
    from .single import work_units

    by_id = {p.task_id: p for p in points}
    tasks = [EvalTask.from_config(p.config, task_id=p.task_id, seed=p.config.run.seed,
                                  n_train=p.config.run.n, keep_samples=True) for p in points]
    (run_dir / "samples").mkdir(exist_ok=True)
    with progress_bar(work_units(tasks), "sweep", enabled=show_progress) as advance:
        for result in stream_results(tasks, config, advance):
            record_result(run_dir, by_id[result.task_id], result)


def stream_results(tasks, config: Config, advance) -> Iterator:
    """Results as they finish. Tasks sharing an architecture go to the engine together
    (it stacks them), in chunks of ``executor.tasks_per_chunk`` so a kill loses little."""
    if config.executor.kind != "local":
        from ..executors import build_executor
        from .single import work_units

        units = {t.task_id: work_units([t]) for t in tasks}
        executor = build_executor(config.executor, config.engine)
        try:
            for result in executor.map(tasks):
                advance(units[result.task_id])
                yield result
        finally:
            executor.close()
        return
    from ..engine import evaluate

    for chunk in chunks(tasks, config.executor.tasks_per_chunk):
        yield from evaluate(chunk, config.engine, progress=advance)


def architecture(task) -> str:
    """Tasks with equal keys can train as one stacked model."""
    return json.dumps(config_to_dict((task.model, task.target.side, task.train, task.diffusion,
                                      task.sampler)), sort_keys=True)


def chunks(tasks: Sequence, size: int) -> Iterator[list]:
    groups: dict[str, list] = {}
    for task in tasks:
        groups.setdefault(architecture(task), []).append(task)
    for group in groups.values():
        for i in range(0, len(group), size):
            yield group[i:i + size]


def record_result(run_dir: Path, point: GridPoint, result) -> None:
    """Sample files first, then the evaluations.jsonl line: a listed evaluation is complete."""
    from .records import pick_checkpoints, result_record

    header = {"task_id": point.task_id, "index": point.index, "overrides": point.overrides,
              "seed": point.config.run.seed, "n_train": point.config.run.n,
              "target_kind": point.config.target.kind, "d": point.config.target.side ** 2,
              "model_kind": point.config.model.kind}
    if not result.ok:
        append_jsonl(run_dir / "errors.jsonl", {**header, "error": result.error})
        print(f"tsearch: evaluation {point.task_id!r} failed: {result.error}", file=sys.stderr)
        return
    stem = run_dir / "samples" / f"p{point.index:05d}"
    np.savez_compressed(f"{stem}_train.npz", images=np.asarray(result.train_images, np.int8))
    for label, cp in pick_checkpoints(result).items():
        if cp.samples is not None:
            np.savez_compressed(f"{stem}_{label}.npz", images=np.asarray(cp.samples, np.int8),
                                step=cp.step)
            save_grid(f"{stem}_{label}.png", cp.samples)
    append_jsonl(run_dir / EVALUATIONS, {**header, **result_record(result)})


def load_evaluations(run_dir: Path) -> list[dict]:
    """Finished evaluations, one per task_id (the first, should a line ever repeat)."""
    seen: dict[str, dict] = {}
    for record in read_jsonl(Path(run_dir) / EVALUATIONS):
        seen.setdefault(record["task_id"], record)
    return sorted(seen.values(), key=lambda r: r["index"])


def report_sections(run_dir: Path):
    from .sweep_report import sweep_sections

    _, _, config = open_run(run_dir, "sweep")
    return sweep_sections(Path(run_dir), config, load_evaluations(run_dir))
