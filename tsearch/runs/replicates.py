"""``tsearch study CONFIG --replicates R``: a replicated study in one command, resumable.

R searches of one config, ``run.seed`` = s, s + 1, ..., s + R - 1 (s: the config's run.seed, 0
by default), each a normal evolve folder inside the study folder, run one after the other (each
with the whole executor: on Ray every replicate's trainings go to the cluster), then pooled as
``tsearch study RUN_DIR... --out DIR`` pools folders made by hand (tsearch.runs.study):

    STUDY_DIR/
        run.json, config.json, config.toml   kind "study": the config of the first replicate,
                                             run.json's "replicates": R
        replicates/seed-NNNN/                the evolve folders (run.seed = NNNN)
        study.json, study.png, report.*      the pool, written once every replicate has finished

Killed at any point, ``tsearch study --resume STUDY_DIR`` (with or without CONFIG; a CONFIG
that differs from the study's is refused, naming the key; a larger ``--replicates`` adds
replicates: the second stage of a study planned from its first replicates' spread) goes on: a finished replicate is left
as it is, an interrupted one is resumed (tsearch evolve --resume: it ends bit-identical), a
missing one is started; the pool is written from the folders, so it is the uninterrupted
study's, and the one of pooling its folders by hand.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from ..config import Config, replace_path
from ..errors import UserError
from ..store import layout
from ..store.folder import RunFolder
from ..store.lock import holder
from ..store.provenance import command_line, first_difference, now
from ..store.records import write_json
from .evolve import evolve
from .evolve_state import DEFAULT_CONFIG, check_config, complete
from .pipeline import command_config, open_executor, with_executor
from .study import MAY_DIFFER, mixed, write_study


def replicate_dir(study_dir: Path, seed: int) -> Path:
    return study_dir / layout.replicate(seed)


def run_study(config_path: str | None, overrides=(), *, replicates: int | None, out: str | None = None,
              resume: str | None = None, executor_kind: str | None = None, address: str | None = None,
              quiet: bool = True) -> Path:
    """Run (or resume) the study; returns its folder. Every user error is raised before a folder
    is created or touched."""
    with ExitStack() as held:  # the study folder's lock, released when the study ends
        if resume is not None:
            if out is not None:
                raise UserError("--out and --resume are exclusive (a resumed study writes into its folder)")
            folder = held.enter_context(RunFolder.resume(resume, "study"))
            count = folder.meta.get("replicates")
            if not isinstance(count, int) or count < 2:
                raise UserError(f"{folder.path / layout.RUN}: no replicate count (not a study made by --replicates)")
            if replicates is not None and replicates < count:
                raise UserError(f"--replicates: the study in {folder.path} has {count}; a study can be "
                                f"extended, not shortened (given {replicates})")
            if config_path is not None or overrides:
                given = command_config(config_path, overrides)
                why = first_difference(folder.config, given, labels=("in the study", "given"), ignore=MAY_DIFFER)
                if why:
                    raise UserError(f"{folder.path}: a study of another config ({why})")
            config = folder.config
            if replicates is not None and replicates > count:  # a second stage of a planned study
                extend(folder, replicates)
                count = replicates
        else:
            if replicates is None or replicates < 2:
                raise UserError("--replicates: a study needs at least 2 replicates (given "
                                f"{replicates if replicates is not None else 'none'})")
            config = command_config(config_path, overrides, default=DEFAULT_CONFIG)
            check_config(config)
            if address is not None:  # an unreachable cluster stops here, before the study's folder exists
                with open_executor(with_executor(config, executor_kind, address)):
                    pass
            name = config.run.name or (Path(config_path).stem if config_path else "evolve")
            folder = held.enter_context(RunFolder.create("study", name, config, out, replicates=replicates))
            count = replicates
        runs = []
        for seed in seeds(config, count):
            path = replicate_dir(folder.path, seed)
            started = (path / layout.CONFIG).is_file()  # a start killed before run.json resumes too
            if started and (path / layout.RUN).is_file() and complete(RunFolder.open(path, "evolve")):
                runs.append(path)
                continue
            runs.append(evolve(None if started else replicate_config(config, seed),
                               out=None if started else str(path), resume=str(path) if started else None,
                               executor_kind=executor_kind, address=address,
                               show_progress="lines" if not quiet else False))
        folders = [RunFolder.open(r, "evolve") for r in runs]
        # replicates resumed under other code or arithmetic are pooled, and the study says so
        write_study(folder.path, folders, mixed(folders, [f.read_json(layout.PARETO) for f in folders]))
        return folder.path


def extend(folder: RunFolder, replicates: int) -> None:
    """More replicates of the same config: run.json's count grows and notes the change."""
    extended = [*folder.meta.get("extended", []), {"key": "replicates", "change": f"{folder.meta['replicates']} -> "
                                                   f"{replicates}", "command": command_line(folder.path), "at": now()}]
    folder.meta = {**folder.meta, "replicates": replicates, "extended": extended}
    write_json(folder.path / layout.RUN, folder.meta)


def seeds(config: Config, count: int) -> list[int]:
    return [config.run.seed + r for r in range(count)]


def replicate_config(config: Config, seed: int) -> Config:
    return replace_path(config, "run.seed", seed)


def study_status(folder: RunFolder) -> dict:
    """tsearch status of a study folder: replicates finished, running (a process holds the
    folder's lock), started and idle, and not started; the pool once written."""
    count = folder.meta.get("replicates") or 0
    state = {"finished": [], "running": [], "idle": [], "left": []}
    for seed in seeds(folder.config, count):
        path = replicate_dir(folder.path, seed)
        if (path / layout.PARETO).is_file():
            state["finished"].append(seed)
        elif holder(path) is not None:
            state["running"].append(seed)
        elif (path / layout.CONFIG).is_file():
            state["idle"].append(seed)
        else:
            state["left"].append(seed)
    pooled = (folder.path / layout.STUDY).is_file() and len(state["finished"]) == count
    return {"phase": "finished" if pooled else "replicates", "finished": pooled,
            "done": {"replicates": len(state["finished"])}, "planned": {"replicates": count},
            "best": None, "replicates": state}


def replicates_line(s: dict) -> str:
    r = s["replicates"]
    return ", ".join(f"{k} {len(v)}" + (f" (seeds {', '.join(map(str, v))})" if v else "")
                     for k, v in r.items())
