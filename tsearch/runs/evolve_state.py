"""The config and the search state of an evolve run folder: the config checked before any
folder exists, the state fresh or restored on ``--resume`` from its newest
checkpoint (the strategies) and its record (the fitness cache and the logbook, rebuilt from
evaluations.jsonl); the one resume rule for a search (the run's config, or the same config
extended to more generations), and what a checkpoint or record edited by hand gives: one line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import configs, seeding
from ..config import Config, ConfigError, load_config, replace_path
from ..errors import UserError
from ..search.operators import IMAGE_OPERATORS, POLYGON_OPERATORS
from ..search.state import SearchState, eval_hash
from ..store import integrity, layout
from ..store.checkpoint import CheckpointStore, ForeignCheckpoint
from ..store.folder import RunFolder
from ..store.provenance import EXTENDABLE, MAY_CHANGE, first_difference, identity_hash
from ..store.records import ERRORS, EVALUATIONS, malformed
from ..targets import build_target

DEFAULT_CONFIG = "evolve"  # the packaged config (tsearch/configs/evolve.toml)


def default_config_path() -> Path:
    """The packaged evolve config: found from any directory, installed or not."""
    return configs.path(DEFAULT_CONFIG)


def check_config(config: Config) -> None:
    """What the dataclasses cannot check alone; raised before any folder is created."""
    s = config.search
    target = build_target(config.target)
    largest = max(s.n_max, s.size if s.strategy == "single" else 0, *s.size_grid)
    if not s.allow_duplicates and target.support_size is not None and largest > target.support_size:
        raise ConfigError(f"search: training sets of {largest} distinct images, but the target has "
                          f"only {target.support_size} (lower search.n_max / size_grid or set "
                          "search.allow_duplicates = true)")
    target.render(target.sample_params(1, np.random.default_rng(0)))  # can it sample at all?
    check_operators(s, config.target.kind)


def check_operators(s, target_kind: str) -> None:
    """Mutation weights that leave a genome no operator that can ever apply would run the
    search without mutation, silently: refused, naming what each weighted operator needs."""
    own = IMAGE_OPERATORS if s.genome == "images" else POLYGON_OPERATORS
    never = set()
    if s.n_min == s.n_max:
        never |= {"delete", "insert"}  # a set's size never leaves its only allowed value
    if s.genome != "images" and target_kind != "polygons":
        never |= {"add_vertex", "remove_vertex"}  # only polygons have vertices
    usable = [n for n in own if s.weights.get(n, 0) > 0 and n not in never]
    if s.mutation_prob > 0 and not usable:
        weighted = [n for n in own if s.weights.get(n, 0) > 0]
        why = "; delete and insert need n_min < n_max" if s.n_min == s.n_max else ""
        raise ConfigError(f"search.operator_weights: no mutation operator of a {s.genome} genome can apply "
                          f"(weighted: {', '.join(weighted) or 'none'}{why}; its operators: {', '.join(own)}); "
                          "give one a weight > 0, or set search.mutation_prob = 0")


def resumed_config(folder: RunFolder, given: Config | str | Path | None, overrides) -> Config:
    """The run's config, or the run's config extended to more generations."""
    if given is None and not overrides:
        return folder.config
    if not isinstance(given, Config):
        given = (load_config(given, overrides) if given is not None else
                 load_config(None, overrides, defaults=folder.read_json(layout.CONFIG)))
    stored = folder.config.search.generations
    if given.search.generations < stored:
        raise UserError(f"{folder.path}: search.generations: the run has {stored}; a search can be "
                        f"extended, not shortened (given {given.search.generations})")
    folder.check_resumable(replace_path(given, "search.generations", stored))
    return replace_path(folder.config, "search.generations", given.search.generations)


def complete(folder: RunFolder) -> bool:
    """The outputs rest on the config's plan and on the whole record as it is: outputs.json,
    written last (tsearch.store.integrity), names the search's generations and claims every
    line. A folder written before outputs.json existed: every phase's generations logged
    (counted per phase: the control's lines are not the search's) and the outputs written."""
    written = all((folder.path / name).is_file() for name in (layout.PARETO, layout.REPORT_HTML))
    outputs = integrity.read_outputs(folder.path)
    if outputs is not None:
        return (written and planned(outputs) == planned_generations(folder.config, outputs)
                and integrity.covers(folder.path, outputs[integrity.RECORD]))
    logged = logged_generations(folder)
    return written and all(logged.get(phase, 0) >= n for phase, n in planned_generations(folder.config).items())


def logged_generations(folder: RunFolder) -> dict[str, int]:
    """Phase -> generations in logbook.jsonl (one line per step; a resumed run logs a step once)."""
    steps: dict[str, set] = {}
    for entry in folder.records(layout.LOGBOOK):
        steps.setdefault(entry.get("phase") or "search", set()).add(entry["step"])
    return {phase: len(found) for phase, found in steps.items()}


def planned_generations(config: Config, outputs: dict | None = None) -> dict[str, int]:
    """Generations per phase the config plans: the baseline's one, the search's; the control's
    follow from the search's evaluations (as recorded in ``outputs``, when given)."""
    s = config.search
    plan = {"baseline": 1 if s.baseline_per_size else 0, "search": s.generations}
    if outputs is not None and "control" in planned(outputs):
        plan["control"] = planned(outputs)["control"]
    return plan


def planned(outputs: dict) -> dict:
    generations = outputs.get("generations")
    return generations if isinstance(generations, dict) else {}


def fresh_state(config: Config, target) -> SearchState:
    return SearchState.fresh(config, target, lambda phase: seeding.numpy_rng(
        config.run.seed, "evolve", phase))


def load_state(folder: RunFolder, config: Config, target, warn) -> SearchState:
    """The newest valid checkpoint's strategies (fresh ones if none), with the fitness cache
    and the logbook rebuilt from the record."""
    checkpoint, problems = latest_checkpoint(folder, config, warn)
    for line in problems:
        warn(line)
    if checkpoint is None and (n := len(folder.records(EVALUATIONS))):
        warn(f"{folder.path / 'checkpoints'}: no valid checkpoint; the search starts again from "
             f"generation 0, reusing the {n} evaluations of evaluations.jsonl (only the missing "
             "ones are computed; no file is emptied)")
    if checkpoint is None:  # killed in its first generation: its recorded evaluations still count
        state = fresh_state(config, target)
    else:
        with malformed(folder.inside(f"{layout.CHECKPOINTS}/{layout.checkpoint(checkpoint.step, 'json')}"),
                       "its search state; delete it to resume from the previous checkpoint"):
            state = SearchState.restore(checkpoint.payload, checkpoint.genomes, config.search, target)
        # the search phase runs to the config's length: more than the checkpoint's if extended
        state.strategies["search"].generations = config.search.generations
    if state.cache.eval_hash != eval_hash(config):
        raise UserError(f"{folder.path}: its checkpoints belong to a different evaluation config")
    with malformed(folder.path / EVALUATIONS, "a record (or logbook.jsonl's); it was edited"):
        state.replay(folder.records(EVALUATIONS), folder.records(layout.LOGBOOK),
                     0 if checkpoint is None else checkpoint.step, config.search.fitness_metric)
    return state


def plan_control(control, state: SearchState, folder: RunFolder) -> None:
    """The control arm's plan, once the search has finished: the search's evaluations read
    from the record (tsearch.search.control); a resumed control keeps its checkpointed plan,
    topped up with what an extended search added since (the same trainings at each size)."""
    lines = folder.records(EVALUATIONS) + folder.records(ERRORS)
    if not control.planned:
        control.plan_from(state, lines)
    else:
        control.top_up(state, lines)


def latest_checkpoint(folder: RunFolder, config: Config, warn):
    """CheckpointStore.load_latest for this run: a checkpoint of another config (another run's,
    or written before config.json was edited) is refused naming the first difference."""
    store = CheckpointStore(folder.inside(layout.CHECKPOINTS))
    try:
        return store.load_latest(config_hash=identity_hash(config))
    except ForeignCheckpoint as exc:
        if exc.stored_hash is not None:
            why = exc.stored_config and first_difference(
                exc.stored_config, config, labels=("in the checkpoint", "in this run"),
                ignore=MAY_CHANGE + EXTENDABLE)
            raise UserError(f"{exc.path}: a checkpoint of another run or config "
                            f"({why or 'its config hash differs'}); remove it to resume") from None
    warn(f"{folder.path / 'checkpoints'}: written by an older tsearch without a config hash; "
         "checked by their evaluation settings only")
    return store.load_latest()
