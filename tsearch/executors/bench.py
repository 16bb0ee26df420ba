"""``tsearch bench --workload evolve``: the evaluations of a search, serial against parallel
workers, without and with stopping at memorization.

The workload is the evaluation side of the packaged evolve config (or any search config): training
sets drawn from its target at sizes ``search.n_min .. n_max`` in turn, trained, sampled and
scored with its model, training, sampler and metrics, chunked by ``executor.tasks_per_chunk``.
Four paths, one JSON record each:

    serial          executor.workers = 1 (in-process), stopping off
    parallel        executor.workers = W (0: every core), stopping off
    serial+stop     as serial, train.stop_when_copy = the config's value, else 0.95
    parallel+stop   as parallel, with that stop

``ratio`` is a path's evaluations/hour over the serial path's; ``same_results`` says whether its
results are identical to those of the serial path with the same stopping (they must be);
``best_changed`` / ``best_max_drop`` (stopping paths): tasks whose fitness (the best scored
step's ``search.fitness_metric``) differs from the unstopped run's, and the largest drop.
``wall_s`` and evaluations/hour count from the moment the workers are ready: ``startup_s``
(starting them, torch imported in each) is paid once per run and reported apart; ``cpu_s``
(this process and its workers, start-up included) tells contention from idle cores: parallel
paths that take more CPU seconds than the serial one for the same tasks shared a core's cache,
memory bandwidth or a hypervisor's thread. The serial path warms its process the same way
(torch and the engine imported before timing), and starts cold like the workers: the process's
validity memo and target references are emptied first, or
the serial paths after the first would find every sample of the same tasks already checked.
"""

from __future__ import annotations

import dataclasses
import json
import resource
import time
from collections.abc import Sequence

from .. import seeding
from ..config import Config
from ..tasks import EvalResult, EvalTask
from . import build_executor

DEFAULT_STOP = 0.95  # the evolve config's stop_when_copy
PATHS = ("serial", "parallel", "serial+stop", "parallel+stop")


def evolve_tasks(config: Config, n_tasks: int) -> list[EvalTask]:
    """``n_tasks`` training sets drawn from the config's target, sizes n_min .. n_max in turn."""
    sizes = range(config.search.n_min, config.search.n_max + 1)
    return [EvalTask.from_config(config, task_id=f"bench{i}", n_train=sizes[i % len(sizes)],
                                 seed=seeding.derive_seed(config.run.seed, "bench", i))
            for i in range(n_tasks)]


def path_config(config: Config, path: str, workers: int) -> Config:
    stop = (config.train.stop_when_copy or DEFAULT_STOP) if path.endswith("+stop") else 0.0
    return dataclasses.replace(
        config, train=dataclasses.replace(config.train, stop_when_copy=stop),
        executor=dataclasses.replace(config.executor, kind="local",
                                     workers=1 if path.startswith("serial") else workers))


def run_evolve_bench(config: Config, *, n_tasks: int = 24, workers: int = 0,
                     paths: Sequence[str] = PATHS) -> list[dict]:
    """One record per path, in ``paths`` order (serial first: the ratios refer to it)."""
    records, reference, unstopped = [], {}, None
    for path in paths:
        cfg = path_config(config, path, workers)
        record, results = measure_path(path, cfg, evolve_tasks(cfg, n_tasks))
        stop = cfg.train.stop_when_copy
        reference.setdefault(stop, fingerprint(results))
        record["same_results"] = fingerprint(results) == reference[stop]
        if stop == 0:
            unstopped = unstopped or results
        elif unstopped is not None:
            record.update(best_change(unstopped, results, config.search.fitness_metric))
        records.append(record)
    serial = records[0]["evaluations_per_hour"]
    for record in records:
        record["ratio"] = round(record["evaluations_per_hour"] / serial, 3)
    return records


def measure_path(path: str, config: Config, tasks: list[EvalTask]) -> tuple[dict, list[EvalResult]]:
    """Evaluations/hour once the workers are ready; ``startup_s``: starting them (paid once
    per run: a search's generations reuse them)."""
    from ..engine.score import clear_process_caches  # here: torch only once a path runs

    clear_process_caches()
    cpu0 = cpu_seconds()
    t0 = time.perf_counter()
    with build_executor(config.executor, config.engine) as executor:
        executor.start()
        t1 = time.perf_counter()
        results = list(executor.map(tasks))
        wall = time.perf_counter() - t1
        workers = executor.workers
    cpu = cpu_seconds() - cpu0  # after the workers were reaped: their time counts
    run = sum(c.step for r in results for c in r.scored[-1:])
    planned = sum(max(t.scored_steps) for t in tasks)
    return {"path": path, "workers": workers, "stop_when_copy": config.train.stop_when_copy,
            "tasks": len(tasks), "failed": sum(not r.ok for r in results),
            "stopped": sum(r.stopped_at is not None for r in results),
            "startup_s": round(t1 - t0, 2), "wall_s": round(wall, 2), "cpu_s": round(cpu, 1),
            "evaluations_per_hour": round(len(tasks) / wall * 3600, 1),
            "model_steps_run": run, "model_steps_skipped": planned - run}, results


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its reaped children (the workers)."""
    own, children = (resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def best_change(full: list[EvalResult], stopped: list[EvalResult], metric: str) -> dict:
    """What stopping did to the fitness (the best scored step's ``metric``): how many tasks
    changed, and the largest drop."""
    def best(result: EvalResult) -> float | None:
        step = result.best(metric)
        return None if step is None else step.metrics[metric]

    before = {r.task_id: best(r) for r in full}
    pairs = [(before[r.task_id], best(r)) for r in stopped]
    drops = [a - b for a, b in pairs if a is not None and b is not None]
    return {"best_changed": sum(a != b for a, b in pairs),
            "best_max_drop": round(max(drops, default=0.0), 4)}


def fingerprint(results: list[EvalResult]) -> str:
    """Every number of the results, in task order (NaN written as NaN, so equal to itself)."""
    ordered = sorted(results, key=lambda r: r.task_id)
    return json.dumps([(r.task_id, r.ok, r.error, r.stopped_at, list(r.skipped_steps),
                        [(c.step, c.metrics, c.loss) for c in r.scored]) for r in ordered],
                      sort_keys=True)
