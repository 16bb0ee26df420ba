"""Driver of ``tsearch evolve``: a genetic search over training sets (experiment 3).

    ask -> tasks -> executor.map -> record -> tell -> logbook -> checkpoint, per generation
    then re-evaluate both fronts and the random baseline's best sets with fresh seeds -> outputs

Phases, run by the same loop: ``baseline`` (the random strategy: ``search.baseline_repeats``
training sets drawn from the target at each size of ``search.size_grid``: the typical set),
then ``search`` (``search.strategy``), then ``control`` (``search.control = "random_search"``:
training sets drawn from the target, exactly as many at each size as the search evaluated;
tsearch.search.control defines the budget). Run folder (besides run.json / config.json):

    evaluations.jsonl   THE record: every finished evaluation (metrics per scored step),
                        "step" = its generation, "phase" = baseline | search | control
                        (absent in older folders: the logbook line names it);
                        re-evaluations: "phase": "reevaluate", "step" = the number of generations
    errors.jsonl        failed evaluations and their reasons
    logbook.jsonl       one line per generation; wall-clock figures only under "timing"
    checkpoints/ckpt-NNNNNN.{json,npz}  the strategies (RNG states, populations, archives)
    samples/<hash>.npz  samples of each evaluated training set's best scored step
    pareto.json, best/, report.html  written at the end (tsearch.analysis.summary, views.evolve)
    outputs.json        written last: the generations per phase and the record the outputs rest
                        on (tsearch.store.integrity); a run is complete when it covers the
                        config's plan and the whole record (evolve_state.complete)

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
every comparison in pareto.json and the report uses those values only (tsearch.analysis.compare).
A resume reuses the re-evaluations already recorded.
"""

from __future__ import annotations

import sys
import time
from contextlib import ExitStack
from pathlib import Path

from ..analysis.summary import reevaluated_genomes
from ..atomic import to_jsonable
from ..config import Config, config_to_dict
from ..errors import UserError
from ..report.render import write_report
from ..search import Genome
from ..search.fidelity import successive_halving
from ..search.resample import missing, ran_this_generation, wanted_trainings
from ..search.state import SearchState, fitness_entry
from ..seeding import derive_seed
from ..store import layout
from ..store.checkpoint import CheckpointStore
from ..store.folder import RunFolder, as_folder
from ..store.provenance import identity_hash
from ..store.records import EVALUATIONS, result_record, steps_stem
from ..targets import build_target
from ..tasks import EvalTask, fitness_record
from . import screen_oracle
from .estimate import dry_run_text, estimate_evolve
from .evolve_outputs import log_entry, write_outputs
from .evolve_state import (
    DEFAULT_CONFIG,
    check_config,
    complete,
    fresh_state,
    load_state,
    logged_generations,
    plan_control,
    resumed_config,
)
from .evolve_tasks import evaluation_task, training_id, training_set
from .pipeline import command_config, open_executor, results, resume_executor
from .progress import LiveDisplay, SilentDisplay

__all__ = ["evolve", "dry_run", "run_evolve", "fresh_state", "evaluate_genomes", "SilentDisplay"]


def evolve(config: Config | str | Path | None = None, overrides=(), *, out: str | None = None,
           resume: str | None = None, executor_kind: str | None = None, address: str | None = None,
           show_progress: bool | str = True, repair: bool = False) -> Path:
    """Run a search; returns its folder. ``config``: a Config, a TOML file (with ``--set``
    ``overrides``) or None (the packaged evolve config; with ``resume``, the run's own). Every
    user error is raised before a folder is created or touched.

    ``resume``: continue the search in that folder; a config that differs from the run's only
    by a larger ``search.generations`` extends it (then re-evaluates the new front), any other
    difference is refused, naming the first; a complete run with nothing to add is left as is."""
    with ExitStack() as held:  # the folder's lock, released when the search ends
        folder = None
        if resume is not None:
            if out is not None:
                raise UserError("--out and --resume are exclusive (a resumed search writes into its folder)")
            folder = held.enter_context(RunFolder.resume(resume, "evolve", repair=repair))
            config = resumed_config(folder, config, overrides)
            if config.search.generations == folder.config.search.generations and complete(folder) \
                    and not folder.repaired:
                logged = sum(logged_generations(folder).values())  # every phase's
                print(f"tsearch: {folder.path}: complete ({logged} generations and the re-evaluation); "
                      "nothing to add (extend it with --set search.generations=N)", file=sys.stderr)
                return folder.path
            config = resume_executor(config, executor_kind, address)
        else:
            source = config
            config = command_config(config, overrides, default=DEFAULT_CONFIG, executor_kind=executor_kind,
                                    address=address)
        check_config(config)
        with open_executor(config) as executor:  # an unreachable cluster stops here
            if folder is None:
                name = config.run.name or (Path(source).stem if isinstance(source, (str, Path)) else "evolve")
                folder = held.enter_context(RunFolder.create("evolve", name, config, out))
            elif config.search.generations != folder.config.search.generations:
                folder.extend(config, key="search.generations")
            display = LiveDisplay(config.search.fitness_metric, show_progress) if show_progress else SilentDisplay()
            run_evolve(config, folder, executor, resume=resume is not None, display=display)
        write_report(folder)
        # written last: the outputs are complete, and rest on this much of the record
        folder.write_outputs(generations=logged_generations(folder))
        return folder.path


def dry_run(config_path: str | None, overrides=(), *, executor_kind: str | None = None,
            address: str | None = None) -> str:
    """``tsearch evolve --dry-run``: the resolved config and its plan; nothing is written."""
    config = command_config(config_path, overrides, default=DEFAULT_CONFIG, executor_kind=executor_kind,
                            address=address)
    check_config(config)
    return dry_run_text("evolve", config, estimate_evolve(config))


def run_evolve(config: Config, run: str | Path | RunFolder, executor, *, resume: bool = False,
               display=None) -> Path:
    """Run (or continue) the search in the run folder to its end, then write its outputs."""
    display, folder = display or SilentDisplay(), as_folder(run)
    target = build_target(config.target)
    state = load_state(folder, config, target, display.warn) if resume else fresh_state(config, target)
    screen_oracle.attach(state, config, executor)  # search.screen_oracle: a screening feature
    logged = {e["step"] for e in folder.records(layout.LOGBOOK)}
    store = CheckpointStore(folder.path / layout.CHECKPOINTS, keep=config.search.keep_checkpoints)
    display.start(sum(s.generations for s in state.strategies.values()), len(state.logbook))
    for phase, strategy in state.strategies.items():
        if phase == "control":
            plan_control(strategy, state, folder)
            display.retotal(sum(s.generations for s in state.strategies.values()))
        while not strategy.done:
            started = time.perf_counter()
            genomes = strategy.ask()
            told, counts = evaluate_generation(genomes, phase, strategy, state, config, folder,
                                               executor, display)
            strategy.tell(told, [value_of(state, g) for g in told])
            entry = log_entry(phase, strategy, counts, time.perf_counter() - started, len(state.logbook),
                              config.search)
            state.logbook.append(entry)
            if entry["step"] not in logged:  # a killed run may have logged it before its checkpoint
                folder.append(layout.LOGBOOK, entry)
            # the checkpoint says how much of the record it was built from (store/integrity.py)
            store.save(len(state.logbook), {**state.payload(), "record": folder.claim.now()},
                       state.genomes(),
                       config_hash=identity_hash(config), config=config_to_dict(config))
            display.generation(entry)
    fresh = reevaluate(state, config, folder, executor, display)
    display.close()
    write_outputs(folder, config, target, state, fresh)
    return folder.path


def value_of(state: SearchState, genome: Genome, fraction: float = 1.0) -> float | None:
    entry = state.cache.get(genome.hash, fraction)
    return None if entry is None else entry["value"]


def evaluate_generation(genomes: list[Genome], phase: str, strategy, state: SearchState,
                        config: Config, folder: RunFolder, executor, display) -> tuple[list, dict]:
    """(the genomes to tell, the generation's counts). The asked sets get their trainings and
    the survivors one more (tsearch.search.resample), then the population takes its running
    means. With ``search.rungs``, the offspring of the search (not its initial population, not
    the baseline) go through successive halving (tsearch.search.fidelity), one training each
    at a rung: only those promoted to the full budget are told."""
    rungs = config.search.rungs if phase == "search" and strategy.generation > 0 else ()
    survivors = strategy.survivors_to_resample()
    per_rung = []

    def evaluate_at(batch: list[Genome], fraction: float) -> list[float | None]:
        full = fraction == 1
        per_rung.append({"fraction": fraction, "genomes": len(batch),
                         **evaluate_genomes(batch, state, config, folder, executor, display, fraction,
                                            survivors=survivors if full else (),
                                            trainings_for=strategy.trainings_for if full else None)})
        return [value_of(state, g, fraction) for g in batch]

    told = successive_halving(genomes, evaluate_at, rungs, config.search.promote)[-1].genomes
    strategy.revalue(lambda g: value_of(state, g))
    counts = {k: sum(r[k] for r in per_rung) for k in ("evaluations", "cached", "failures")}
    return told, {**counts, "rungs": per_rung} if rungs else counts


def evaluate_genomes(genomes: list[Genome], state: SearchState, config: Config, folder: RunFolder,
                     executor, display, fraction: float = 1.0, *, survivors=(),
                     trainings_for=None) -> dict:
    """Run the trainings this generation wants and the cache lacks (tsearch.search.resample:
    ``trainings_for(set)`` per asked set, default one; one more per survivor), in ask order;
    returns the counts. A training recorded at this generation (before a kill) counts as run
    here, as it did in the interrupted run."""
    step, metric = len(state.logbook), config.search.fitness_metric
    phase = next((k for k, s in state.strategies.items() if not s.done), "search")  # the one asking
    wanted = wanted_trainings(genomes, survivors, trainings_for or (lambda g: 1), state.cache, step,
                              config.search.max_seeds_per_set, fraction)
    ran = ran_this_generation(wanted, state.cache, step, fraction)
    todo = {training_id(g, i, fraction): (g, i) for g, i in missing(wanted, state.cache, fraction)}
    tasks = [evaluation_task(config, g, fraction, i) for g, i in todo.values()]
    seeds = {t.task_id: t.seed for t in tasks}
    failures = 0
    display.evaluating(len(tasks))
    for result in results(executor, tasks, lambda k: None):
        genome, i = todo[result.task_id]
        header = {"step": step, "phase": phase, "hash": genome.hash, "size": genome.size,
                  **({"seed_index": i} if i else {}), **({"fidelity": fraction} if fraction < 1 else {})}
        # the samples kept are those of full-budget evaluations (a rung's would overwrite them);
        # the best step's samples of a set's first training only (the report's grids)
        full = fraction == 1
        samples = {layout.evolve_samples(genome.hash): result.best(metric)} if full and not i else None
        all_steps = (steps_stem(genome.hash, i), seeds[result.task_id]) if full else None
        if folder.record(header, result, samples=samples, grids=False, all_steps=all_steps):
            state.cache.put(genome.hash, fitness_entry({**header, **result_record(result)}, metric),
                            fraction, seed_index=i)
        else:
            failures += 1
        display.evaluated()
    asked_ran = {g.hash for g, _ in ran} & {g.hash for g in genomes}
    return {"evaluations": len(ran), "cached": len(genomes) - len(asked_ran), "failures": failures}


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
    tasks = [EvalTask.from_config(config, task_id=task_id, **training_set(g),
                                  seed=derive_seed(config.run.seed, "reevaluate", g.hash, i))
             for task_id, (g, i) in jobs.items()]
    display.reevaluating(len(tasks))
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
    best = fitness_record(to_jsonable(line), metric)
    return None if best is None or best.get(metric) is None else float(best[metric])

