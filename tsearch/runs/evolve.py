"""Driver of ``tsearch evolve``: a genetic search over training sets (experiment 3).

    ask -> tasks -> executor.map -> record -> tell -> logbook -> checkpoint, per generation
    then re-evaluate both fronts and the random baseline's best sets with fresh seeds -> outputs

Phases, run by the same loop: ``baseline`` (the random strategy: ``search.baseline_repeats``
training sets drawn from the target at each size of ``search.size_grid``: the typical set),
then ``search`` (``search.strategy``), then ``control`` (``search.control = "random_search"``:
training sets drawn from the target, exactly as many at each size as the search evaluated;
tsearch.search.control defines the budget). Run folder (besides run.json / config.json):

    evaluations.jsonl   THE record: every finished evaluation (metrics per scored step),
                        "step" = its generation, "phase" = baseline | search | control;
                        re-evaluations: "phase": "reevaluate", "step" = the number of generations
    errors.jsonl        failed evaluations and their reasons
    logbook.jsonl       one line per generation; wall-clock figures only under "timing"
    checkpoints/ckpt-NNNNNN.{json,npz}  the strategies (RNG states, populations, archives)
    samples/<hash>.npz  samples of each evaluated training set's best scored step
    pareto.json, best/, report.html  written at the end (tsearch.search.summary, views.evolve)

Determinism (CPU): every draw of the search comes from its own numpy generators, saved in each
checkpoint; an evaluation's seed is derived from (run seed, genome hash), so a training set
gets the same fitness whenever it is evaluated. A run killed at any moment resumes from its
newest valid checkpoint: the fitness cache and the logbook are rebuilt from the record
(tsearch.search.state), the interrupted generation is asked again (same genomes) and only the
evaluations missing from evaluations.jsonl run; it ends exactly where an uninterrupted run ends.

Re-evaluation: a search value is the maximum over many noisy evaluations, hence biased upward
(winner's curse). After the last generation, every Pareto-front training set of the search and
of the control, and the best random set at each size, are evaluated again with
``search.reevaluate_seeds`` fresh seeds (derived from (run seed, "reevaluate", genome hash, i));
every comparison in pareto.json and the report uses those values only (tsearch.search.compare).
A resume reuses the re-evaluations already recorded.
"""

from __future__ import annotations

import time
from pathlib import Path

from ..config import Config, load_config
from ..errors import UserError
from ..search import CheckpointStore, Genome
from ..search.state import SearchState, eval_hash, fitness_entry
from ..search.summary import reevaluated_genomes
from ..targets import build_target
from ..tasks import EvalTask, best_record
from .evolve_steps import check_config, default_config_path, log_entry, write_outputs
from .folder import ERRORS, EVALUATIONS, RunFolder, result_record, to_jsonable
from .pipeline import open_executor, results, with_executor
from .progress import LiveDisplay, SilentDisplay
from .views.report import write_report

__all__ = ["evolve", "run_evolve", "fresh_state", "evaluate_genomes", "SilentDisplay"]


def evolve(config_path: str | None, overrides=(), *, out: str | None = None, resume: str | None = None,
           executor_kind: str | None = None, address: str | None = None,
           show_progress: bool = True) -> Path:
    """``tsearch evolve``: every user error is raised before a folder is created or touched."""
    folder = None
    if resume is not None:
        if out is not None:
            raise UserError("--out and --resume are exclusive (a resumed search writes into its folder)")
        folder = RunFolder.open(resume, "evolve")
        if config_path is not None or overrides:
            folder.check_resumable(load_config(config_path, overrides) if config_path is not None else
                                   load_config(None, overrides, defaults=folder.read_json("config.json")))
        config = folder.config
    else:
        source = config_path or default_config_path()
        config = load_config(source, overrides)
    config = with_executor(config, executor_kind, address)
    check_config(config)
    with open_executor(config) as executor:  # an unreachable cluster stops here
        if folder is None:
            folder = RunFolder.create("evolve", config.run.name or Path(source).stem, config, out)
        display = LiveDisplay(config.search.fitness_metric) if show_progress else SilentDisplay()
        run_evolve(config, folder.path, executor, resume=resume is not None, display=display)
    write_report(folder.path)
    return folder.path


def run_evolve(config: Config, run_dir: Path, executor, *, resume: bool = False,
               display=None) -> Path:
    """Run (or continue) the search in ``run_dir`` to its end, then write its outputs."""
    display, folder = display or SilentDisplay(), RunFolder.open(run_dir)
    target = build_target(config.target)
    state = load_state(folder, config, target, display.warn) if resume else fresh_state(config, target)
    logged = {e["step"] for e in folder.records("logbook.jsonl")}
    store = CheckpointStore(run_dir / "checkpoints", keep=config.search.keep_checkpoints)
    display.start(sum(s.generations for s in state.strategies.values()), len(state.logbook))
    for phase, strategy in state.strategies.items():
        if phase == "control":
            plan_control(strategy, state, folder)
        while not strategy.done:
            started = time.perf_counter()
            genomes = strategy.ask()
            counts = evaluate_genomes(genomes, state, config, folder, executor, display, phase=phase)
            strategy.tell(genomes, [value_of(state, g) for g in genomes])
            entry = log_entry(phase, strategy, counts, time.perf_counter() - started, len(state.logbook))
            state.logbook.append(entry)
            if entry["step"] not in logged:  # a killed run may have logged it before its checkpoint
                folder.append("logbook.jsonl", entry)
            store.save(len(state.logbook), state.payload(), state.genomes())
            display.generation(entry)
    fresh = reevaluate(state, config, folder, executor, display)
    display.close()
    write_outputs(folder, config, target, state, fresh)
    return run_dir


def seeding():
    """tsearch.seeding, imported on first use: it loads torch, which `tsearch --help` and a
    config error must not wait for."""
    from .. import seeding as module
    return module


def fresh_state(config: Config, target) -> SearchState:
    return SearchState.fresh(config, target, lambda phase: seeding().numpy_rng(
        config.run.seed, "evolve", phase))


def load_state(folder: RunFolder, config: Config, target, warn) -> SearchState:
    """The newest valid checkpoint's strategies (fresh ones if none), with the fitness cache
    and the logbook rebuilt from the record."""
    checkpoint, problems = CheckpointStore(folder.path / "checkpoints").load_latest()
    for line in problems:
        warn(line)
    if checkpoint is None:  # killed in its first generation: its recorded evaluations still count
        state = fresh_state(config, target)
    else:
        state = SearchState.restore(checkpoint.payload, checkpoint.genomes, config.search, target)
    if state.cache.eval_hash != eval_hash(config):
        raise UserError(f"{folder.path}: its checkpoints belong to a different evaluation config")
    state.replay(folder.records(EVALUATIONS), folder.records("logbook.jsonl"),
                 0 if checkpoint is None else checkpoint.step, config.search.fitness_metric)
    return state


def plan_control(control, state: SearchState, folder: RunFolder) -> None:
    """The control arm's plan, once the search has finished: the search's evaluations read
    from the record (tsearch.search.control); a resumed control keeps its checkpointed plan."""
    if not control.planned:
        control.plan_from(state, folder.records(EVALUATIONS) + folder.records(ERRORS))


def value_of(state: SearchState, genome: Genome) -> float | None:
    entry = state.cache.get(genome.hash)
    return None if entry is None else entry["value"]


def evaluate_genomes(genomes: list[Genome], state: SearchState, config: Config, folder: RunFolder,
                     executor, display, *, phase: str = "search") -> dict:
    """Evaluate the genomes not in the cache (once each, in ask order); returns the
    generation's counts. A genome whose entry dates from this generation (recorded before a
    kill) counts as evaluated here, as it did in the interrupted run."""
    step, metric = len(state.logbook), config.search.fitness_metric
    this_generation = {}
    for g in genomes:
        entry = state.cache.get(g.hash)
        if entry is None or entry["step"] >= step:
            this_generation.setdefault(g.hash, g)
    todo = {h: g for h, g in this_generation.items() if h not in state.cache}
    tasks = [EvalTask.from_config(config, task_id=h, seed=seeding().derive_seed(config.run.seed, "evolve", h),
                                  train_params=g.elements, keep_samples=True)
             for h, g in todo.items()]
    failures = 0
    display.evaluating(len(tasks))
    for result in results(executor, tasks, lambda k: None):
        genome = todo[result.task_id]
        header = {"step": step, "phase": phase, "hash": genome.hash, "size": genome.size}
        if folder.record(header, result, samples={f"samples/{genome.hash[:16]}": result.best(metric)},
                         grids=False):
            state.cache.put(genome.hash, fitness_entry({**header, **result_record(result)}, metric))
        else:
            failures += 1
        display.evaluated()
    return {"evaluations": len(this_generation), "cached": len(genomes) - len(this_generation),
            "failures": failures}


def reevaluate(state: SearchState, config: Config, folder: RunFolder, executor, display) -> dict:
    """Genome hash -> its ``reevaluate_seeds`` fresh values (None: failed), front first; those
    already in evaluations.jsonl (a resumed run) are read back, not recomputed."""
    k, step, metric = config.search.reevaluate_seeds, len(state.logbook), config.search.fitness_metric
    genomes = reevaluated_genomes(config.search, state) if k else []
    jobs = {f"{g.hash}-fresh{i}": (g, i) for g in genomes for i in range(k)}
    values = {g.hash: [None] * k for g in genomes}
    for line in folder.records(EVALUATIONS, key=lambda r: r["task_id"]):
        if line.get("phase") == "reevaluate" and line["task_id"] in jobs:
            genome, i = jobs.pop(line["task_id"])
            values[genome.hash][i] = fresh_value(line, metric)
    tasks = [EvalTask.from_config(config, task_id=task_id, train_params=g.elements,
                                  seed=seeding().derive_seed(config.run.seed, "reevaluate", g.hash, i))
             for task_id, (g, i) in jobs.items()]
    display.evaluating(len(tasks))
    for result in results(executor, tasks, lambda k: None):  # completion order: placed by index
        genome, i = jobs[result.task_id]
        header = {"step": step, "phase": "reevaluate", "hash": genome.hash, "size": genome.size,
                  "seed_index": i}
        if folder.record(header, result):
            values[genome.hash][i] = fresh_value(result_record(result), metric)
        display.evaluated()
    return values


def fresh_value(line: dict, metric: str) -> float | None:
    """The fitness of one evaluation line; None when no scored step has a finite value
    (pareto.json is strict JSON)."""
    best = best_record(to_jsonable(line["checkpoints"]), metric)
    return None if best is None else float(best[metric])

