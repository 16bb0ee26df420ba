"""Driver of ``tsearch evolve``: a genetic search over training sets (experiment 3).

    ask -> tasks -> executor.map -> tell -> record -> checkpoint, generation after generation
    then re-evaluate the front and the random baseline's best sets with fresh seeds -> outputs

Phases, run by the same loop: ``baseline`` (the random strategy: ``search.baseline_repeats``
training sets drawn from the target at each size of ``search.size_grid``), then ``search``
(``search.strategy``). Run folder (besides run.json / config.json):

    checkpoints/ckpt-NNNNNN.{json,npz}  the whole search state after every generation
    logbook.jsonl       one line per generation; wall-clock figures only under "timing"
    evaluations.jsonl   every evaluation (metrics per checkpoint), "step" = its generation;
                        re-evaluations: "phase": "reevaluate", "step" = the number of generations
    errors.jsonl        failed evaluations and their reasons
    samples/<hash>.npz  samples of each evaluated training set's best checkpoint
    pareto.json / .png, best/, report.html   written at the end (tsearch.runs.evolve_report)

Determinism (CPU): every draw of the search comes from its own numpy generators, saved in each
checkpoint; an evaluation's seed is derived from (run seed, genome hash), so a training set
gets the same fitness whenever it is evaluated. A run killed at any moment resumes from its
newest valid checkpoint, asks the interrupted generation again (same genomes, same task order)
and ends exactly where an uninterrupted run ends.

Re-evaluation: a search value is the maximum over many noisy evaluations, hence biased upward
(winner's curse). After the last checkpoint, every Pareto-front training set and the best random
set at each size are evaluated again with ``search.reevaluate_seeds`` fresh seeds (derived from
(run seed, "reevaluate", genome hash, i)); pareto.json and the report show them beside the search
values. Being deterministic and after the last checkpoint, it is simply recomputed on a resume.
"""

from __future__ import annotations

import dataclasses
import io
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import configs
from ..config import Config, ConfigError, config_to_dict, load_config, replace_path
from ..errors import UserError
from ..search import (CheckpointStore, FitnessCache, Genome, Strategy, build_baseline,
                      build_strategy, strategy_from_state)
from .files import (append_jsonl, config_hash, dumps, new_run_dir, open_run, read_jsonl, sha256,
                    write_atomic, write_provenance)

FITNESS_METRICS = ("g", "g_rel", "novel", "distinct_novel", "valid", "coverage_unseen")
DEFAULT_CONFIG = "evolve"  # the packaged config (tsearch/configs/evolve.toml)


# ----------------------------------------------------------------------------- preparation
def default_config_path() -> Path:
    """The packaged evolve config: found from any directory, installed or not."""
    return configs.path(DEFAULT_CONFIG)


def with_executor(config: Config, kind: str | None, address: str | None) -> Config:
    """``--executor`` / ``--address`` (an address alone means Ray)."""
    if address is not None:
        config = replace_path(config, "executor.address", address)
        kind = kind or "ray"
    return replace_path(config, "executor.kind", kind) if kind else config


def check_config(config: Config) -> None:
    """What the dataclasses cannot check alone; raised before any folder is created."""
    from ..targets import build_target

    s = config.search
    if s.fitness_metric not in FITNESS_METRICS:
        raise ConfigError(f"search.fitness_metric: unknown metric {s.fitness_metric!r} "
                          f"(choose one of {', '.join(FITNESS_METRICS)})")
    target = build_target(config.target)
    largest = max(s.n_max, s.size if s.strategy == "single" else 0, *s.size_grid)
    if not s.allow_duplicates and target.support_size is not None and largest > target.support_size:
        raise ConfigError(f"search: training sets of {largest} distinct images, but the target has "
                          f"only {target.support_size} (lower search.n_max / size_grid or set "
                          "search.allow_duplicates = true)")
    target.render(target.sample_params(1, np.random.default_rng(0)))  # can it sample at all?


def resumed_config(run_dir: str | Path, config_path: str | None, overrides) -> tuple[Path, Config]:
    """The run folder's config; a CONFIG or --set that changes it (executor aside) is an error."""
    path, meta, stored = open_run(run_dir, "evolve")
    if config_path is None and not overrides:
        return path, stored
    given = (load_config(config_path, overrides) if config_path is not None
             else load_config(None, overrides, defaults=config_to_dict(stored)))
    given = dataclasses.replace(given, executor=stored.executor)  # where it runs may change
    if config_hash(given) != config_hash(stored):
        raise UserError(f"{path}: belongs to a different config ({_first_difference(stored, given)}); "
                        "resume without CONFIG and --set, or with the run's own")
    return path, stored


def _first_difference(a: Config, b: Config) -> str:
    def flat(d, prefix=""):
        for k, v in d.items():
            yield from (flat(v, f"{prefix}{k}.") if isinstance(v, dict) else [(f"{prefix}{k}", v)])

    fa, fb = dict(flat(config_to_dict(a))), dict(flat(config_to_dict(b)))
    key = next(k for k in sorted(fa.keys() | fb.keys()) if fa.get(k) != fb.get(k))
    return f"{key}: {fa.get(key)!r} in the run, {fb.get(key)!r} given"


def eval_hash(config: Config) -> str:
    """What an evaluation's numbers depend on, besides the genome: the fitness cache key."""
    parts = {t: config_to_dict(getattr(config, t))
             for t in ("target", "model", "diffusion", "train", "sampler", "metrics")}
    return sha256(dumps({**parts, "seed": config.run.seed}).encode())


# ----------------------------------------------------------------------------- state
@dataclass
class SearchState:
    """Everything a checkpoint holds: the phases' strategies, the cache, the logbook."""

    strategies: dict[str, Strategy]  # phase name -> strategy, in phase order
    cache: FitnessCache
    logbook: list[dict]

    @classmethod
    def fresh(cls, config: Config, target) -> "SearchState":
        from ..seeding import numpy_rng  # torch loads once the config is known good

        seed, s = config.run.seed, config.search
        strategies = {}
        if s.strategy != "random" and s.baseline_repeats > 0:
            strategies["baseline"] = build_baseline(s, target, numpy_rng(seed, "evolve", "baseline"))
        strategies["search"] = build_strategy(s, target, numpy_rng(seed, "evolve", "search"))
        return cls(strategies, FitnessCache(eval_hash(config)), [])

    def payload(self) -> dict:
        return {"strategies": {k: s.state() for k, s in self.strategies.items()},
                "cache": self.cache.state(), "logbook": self.logbook}

    def genomes(self) -> list[Genome]:
        return [g for s in self.strategies.values() for g in s.genomes()]

    @classmethod
    def from_payload(cls, payload: dict, genomes: dict, config: Config, target) -> "SearchState":
        strategies = {k: strategy_from_state(v, cfg=config.search, target=target, genomes=genomes)
                      for k, v in payload["strategies"].items()}
        return cls(strategies, FitnessCache.from_state(payload["cache"]), payload["logbook"])


def load_state(run_dir: Path, config: Config, target, warn) -> SearchState:
    """The newest valid checkpoint's state (a fresh one if none); files written after it
    (logbook lines, evaluations of the interrupted generation or of the re-evaluation) are cut
    back to it."""
    checkpoint, problems = CheckpointStore(run_dir / "checkpoints").load_latest()
    for line in problems:
        warn(line)
    state = (SearchState.fresh(config, target) if checkpoint is None else
             SearchState.from_payload(checkpoint.payload, checkpoint.genomes, config, target))
    if state.cache.eval_hash != eval_hash(config):
        raise UserError(f"{run_dir}: its checkpoints belong to a different evaluation config")
    write_atomic(run_dir / "logbook.jsonl", "".join(dumps(e) + "\n" for e in state.logbook))
    for name in ("evaluations.jsonl", "errors.jsonl"):
        kept = [r for r in read_jsonl(run_dir / name) if r["step"] < len(state.logbook)]
        write_atomic(run_dir / name, "".join(dumps(r) + "\n" for r in kept))
    return state


# ----------------------------------------------------------------------------- the loop
def run_evolve(config: Config, run_dir: Path, executor, *, resume: bool = False,
               display=None) -> Path:
    """Run (or continue) the search in ``run_dir`` to its end, then write its outputs."""
    from ..targets import build_target
    from .evolve_report import write_outputs

    display = display or SilentDisplay()
    target = build_target(config.target)
    state = load_state(run_dir, config, target, display.warn) if resume else SearchState.fresh(config, target)
    store = CheckpointStore(run_dir / "checkpoints", keep=config.search.keep_checkpoints)
    display.start(total_generations(state), len(state.logbook))
    for phase, strategy in state.strategies.items():
        while not strategy.done:
            started = time.perf_counter()
            genomes = strategy.ask()
            counts = evaluate_genomes(genomes, state, config, run_dir, executor, display)
            strategy.tell(genomes, [value_of(state.cache, g) for g in genomes])
            state.logbook.append(log_entry(phase, strategy, counts, time.perf_counter() - started,
                                           len(state.logbook)))
            store.save(len(state.logbook), state.payload(), state.genomes())
            append_jsonl(run_dir / "logbook.jsonl", state.logbook[-1])
            display.generation(state.logbook[-1])
    fresh = reevaluate(state, config, run_dir, executor, display)
    display.close()
    write_outputs(run_dir, config, target, state, fresh)
    return run_dir


def total_generations(state: SearchState) -> int:
    return sum(s.generations for s in state.strategies.values())


def value_of(cache: FitnessCache, genome: Genome) -> float | None:
    entry = cache.get(genome.hash)
    return None if entry is None else entry["value"]


def evaluate_genomes(genomes: list[Genome], state: SearchState, config: Config, run_dir: Path,
                     executor, display) -> dict:
    """Evaluate the genomes not in the cache (once each, in ask order: the same tasks in the
    same order on a resume); returns the generation's counts."""
    from ..engine import EvalTask
    from ..seeding import derive_seed

    step, todo = len(state.logbook), {}
    for g in genomes:
        if g.hash not in state.cache:
            todo.setdefault(g.hash, g)
    tasks = [EvalTask.from_config(config, task_id=h, seed=derive_seed(config.run.seed, "evolve", h),
                                  train_params=g.elements, keep_samples=True)
             for h, g in todo.items()]
    failures = 0
    display.evaluating(len(tasks))
    for result in executor.map(tasks) if tasks else ():
        failures += not record_result(run_dir, state.cache, todo[result.task_id], result,
                                      config.search.fitness_metric, step)
        display.evaluated()
    return {"evaluations": len(tasks), "cached": len(genomes) - len(tasks), "failures": failures}


def record_result(run_dir: Path, cache: FitnessCache, genome: Genome, result, metric: str,
                  step: int) -> bool:
    """Samples file, evaluations.jsonl line, cache entry; a failure goes to errors.jsonl."""
    from .records import result_record

    header = {"step": step, "hash": genome.hash, "size": genome.size}
    if not result.ok:
        append_jsonl(run_dir / "errors.jsonl", {**header, "error": result.error})
        return False
    best = result.best(metric)
    if best is not None and best.samples is not None:
        (run_dir / "samples").mkdir(exist_ok=True)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, images=np.asarray(best.samples, np.int8), step=best.step)
        write_atomic(run_dir / "samples" / f"{genome.hash[:16]}.npz", buffer.getvalue())
    append_jsonl(run_dir / "evaluations.jsonl", {**header, **result_record(result)})
    cache.put(genome.hash, {
        "size": genome.size, "step": step,
        "value": None if best is None else best.metrics[metric],
        "best_step": None if best is None else best.step,
        "metrics": {} if best is None else dict(best.metrics)})
    return True


# ----------------------------------------------------------------------------- re-evaluation
def reevaluate(state: SearchState, config: Config, run_dir: Path, executor, display) -> dict:
    """Genome hash -> its ``reevaluate_seeds`` fresh values (None: failed), front first.

    One batch, in a fixed task order; its evaluations.jsonl lines carry step = the number of
    generations, which load_state cuts on a resume: there, it is all recomputed (deterministic)."""
    from ..engine import EvalTask
    from ..seeding import derive_seed
    from .evolve_report import reevaluated_genomes

    k, step, metric = config.search.reevaluate_seeds, len(state.logbook), config.search.fitness_metric
    genomes = reevaluated_genomes(config, state) if k else []
    jobs = {f"{g.hash}-fresh{i}": (g, i) for g in genomes for i in range(k)}
    tasks = [EvalTask.from_config(config, task_id=task_id, train_params=g.elements,
                                  seed=derive_seed(config.run.seed, "reevaluate", g.hash, i))
             for task_id, (g, i) in jobs.items()]
    values = {g.hash: [None] * k for g in genomes}
    display.evaluating(len(tasks))
    for result in executor.map(tasks) if tasks else ():  # completion order: placed by index
        genome, i = jobs[result.task_id]
        values[genome.hash][i] = record_fresh(run_dir, genome, i, result, metric, step)
        display.evaluated()
    return values


def record_fresh(run_dir: Path, genome: Genome, index: int, result, metric: str,
                 step: int) -> float | None:
    """The evaluations.jsonl line of one re-evaluation (its "phase" tells it from the search's
    lines) or its errors.jsonl line; returns its fitness value."""
    from .records import result_record

    header = {"step": step, "phase": "reevaluate", "hash": genome.hash, "size": genome.size,
              "seed_index": index}
    if not result.ok:
        append_jsonl(run_dir / "errors.jsonl", {**header, "error": result.error})
        return None
    append_jsonl(run_dir / "evaluations.jsonl", {**header, **result_record(result)})
    best = result.best(metric)
    value = None if best is None else float(best.metrics[metric])
    return value if value is not None and np.isfinite(value) else None  # pareto.json: strict JSON


def log_entry(phase: str, strategy: Strategy, counts: dict, seconds: float, step: int) -> dict:
    """One logbook line: deterministic figures, plus wall-clock ones under ``timing``."""
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
        "best": None if best is None else {"hash": best[0].hash, "size": best[0].size, "value": best[1]},
        "timing": {"seconds": round(seconds, 3),
                   "evals_per_s": round(counts["evaluations"] / seconds, 4) if seconds > 0 else None},
    }


# ----------------------------------------------------------------------------- entry point
def evolve(config_path: str | None, overrides=(), *, out: str | None = None, resume: str | None = None,
           executor_kind: str | None = None, address: str | None = None,
           show_progress: bool = True) -> Path:
    """``tsearch evolve``: every user error is raised before a folder is created or touched."""
    from ..executors import build_executor
    from .report import write_report

    if resume is not None:
        if out is not None:
            raise UserError("--out and --resume are exclusive (a resumed search writes into its folder)")
        run_dir, config = resumed_config(resume, config_path, overrides)
    else:
        source = config_path or default_config_path()
        config = load_config(source, overrides)
    config = with_executor(config, executor_kind, address)
    check_config(config)
    from ..engine.device import resolve_device

    resolve_device(config.engine.device)
    executor = build_executor(config.executor, config.engine)  # an unreachable cluster stops here
    try:
        if resume is None:
            run_dir = new_run_dir("evolve", config.run.name or Path(source).stem, out)
            write_provenance(run_dir, "evolve", config)
        display = LiveDisplay(config.search.fitness_metric) if show_progress else SilentDisplay()
        run_evolve(config, run_dir, executor, resume=resume is not None, display=display)
    finally:
        executor.close()
    write_report(run_dir)
    return run_dir


def report_sections(run_dir: str | Path):
    """Sections of report.html (tsearch.runs.report.write_report)."""
    from .evolve_report import report_sections as sections

    return sections(Path(run_dir))


# ----------------------------------------------------------------------------- progress
class SilentDisplay:
    def start(self, total: int, done: int) -> None: ...
    def evaluating(self, n: int) -> None: ...
    def evaluated(self) -> None: ...
    def generation(self, entry: dict) -> None: ...
    def close(self) -> None: ...

    def warn(self, line: str) -> None:
        import sys

        print(f"tsearch: warning: {line}", file=sys.stderr)


class LiveDisplay(SilentDisplay):
    """A tqdm bar over generations (ETA) whose postfix shows phase, generation, best value,
    front size, evaluations in this generation and evaluations per second."""

    def __init__(self, metric: str):
        self.metric, self.bar, self.info = metric, None, {}
        self.n_evals, self.started = 0, time.perf_counter()

    def start(self, total, done):
        import sys

        from tqdm import tqdm

        self.bar = tqdm(total=total, initial=done, desc="evolve", unit="gen", file=sys.stderr,
                        dynamic_ncols=True)

    def evaluating(self, n):
        self.todo, self.done = n, 0
        self._show()

    def evaluated(self):
        self.done += 1
        self.n_evals += 1
        self._show()

    def generation(self, entry):
        best = entry["best"]
        self.info = {"phase": entry["phase"], "gen": entry["generation"],
                     f"best {self.metric}": "-" if best is None else f"{best['value']:.3f} (n={best['size']})",
                     "front": entry["front_size"]}
        self.bar.update(1)
        self._show()

    def _show(self):
        rate = self.n_evals / max(time.perf_counter() - self.started, 1e-9)
        self.bar.set_postfix({**self.info, "evals": f"{getattr(self, 'done', 0)}/{getattr(self, 'todo', 0)}",
                              "evals/s": f"{rate:.2f}"}, refresh=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()
