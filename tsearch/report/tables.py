"""Run folders as tables: one flat row per evaluation x scored training step.

    rows(DIR)                         -> list of dicts (no pandas needed)
    load(DIR or exported file)        -> pandas.DataFrame        (pip install "tsearch[results]")
    export(DIR, format="csv" | "parquet" | "jsonl", out=None) -> the written file

Works for the three kinds of run folder (``run.json`` says which). Columns, in this order:

    run_kind        "run" | "sweep" | "evolve"
    phase           run: "run"; sweep: "sweep"; evolve: "baseline" | "search" | "reevaluate"
    generation      evolve: the generation within its phase (the logbook's); else empty
    search_step     evolve: the logbook line the evaluation belongs to (re-evaluations: the
                    number of generations); else empty
    hypervolume     evolve: the hypervolume of the phase's (size, metric) front after that
                    generation (tsearch.analysis.hypervolume; reference point (n_max + 1, 0)); else empty
    task_id         the evaluation's identity in its folder (sweep: its grid point spelled out)
    seed_index      evolve: which training of the set (search phases: 0..; re-evaluations: which
                    fresh seed, 0..reevaluate_seeds-1); else empty
    n               training-set size
    seed            the evaluation's seed (evolve: derived from (run seed, genome hash) exactly as
                    the driver derives it)
    train_set_hash  evolve: the genome hash of evaluations.jsonl (sha256 of the training set's
                    parameters); run and sweep: sha256 of the training images as saved (int8,
                    shape-prefixed), so equal training sets have equal hashes within a kind
    target_kind, model_kind
    overrides       sweep: the grid point's overrides as JSON; else empty
    config/KEY      sweep: one column per grid key (tables as JSON)
    step            the training step of the scored checkpoint
    fitness, fitness_step   sweep and evolve: the evaluation's fitness (evolve: search.fitness_metric;
                    sweep: g) and the step it is read at, by tsearch.tasks.fitness_record, the one
                    reader status, pareto.json and the report use (with two-stage scoring the fresh
                    full-sample scoring of the selected step, not the maximum over scored steps);
                    the same on every row of an evaluation
    METRIC          every metric the checkpoint carries (valid, copy, novel, g, g_rel, ...)
    loss, n_params
    METRIC_lo, METRIC_hi   the metric's bootstrap interval, where computed

CSV and JSON lines are written with the standard library; Parquet and DataFrames need pandas and
pyarrow, imported only when used so that the rest of tsearch works without them.
"""

from __future__ import annotations

import csv
import hashlib
import importlib
import io
import json
import math
from pathlib import Path

import numpy as np

from ..atomic import write_atomic
from ..errors import UserError
from ..seeding import derive_seed, training_seed
from ..store import layout
from ..store.folder import RunFolder
from ..store.images import read_images
from ..store.integrity import require_records
from ..store.records import EVALUATIONS, malformed
from ..tasks import fitness_record

FORMATS = ("csv", "parquet", "jsonl")
EXTRA = 'pip install "tsearch[results]"'
IDENTITY = ("run_kind", "phase", "generation", "search_step", "hypervolume", "task_id", "seed_index",
            "n", "seed", "train_set_hash", "target_kind", "model_kind", "overrides")
NOT_METRICS = {"step", "intervals", "loss", "extra"}
FITNESS = ("fitness", "fitness_step")


# ----------------------------------------------------------------------------- rows
def rows(run_dir: str | Path) -> list[dict]:
    """The folder's rows (see the module docstring), in evaluation order then step order."""
    folder = RunFolder.read(run_dir)  # a record cut short is refused, never read as a smaller run
    kind = folder.meta.get("kind")
    if kind not in READERS:
        raise UserError(f"{folder.path}: run.json has kind {kind!r}; expected run, sweep or evolve")
    require_records(folder.path, kind)
    record = folder.path / (EVALUATIONS if kind != "run" else layout.METRICS)
    with malformed(record, "record (a field of the wrong type)"):
        return [{**head, **_scored_columns(scored), "n_params": n_params}
                for head, steps, n_params in READERS[kind](folder)
                for scored in steps]


def columns(table: list[dict]) -> list[str]:
    """A fixed column order: identity, config/..., step, metrics, loss, n_params, intervals."""
    keys = {k for row in table for k in row}
    config_keys = sorted(k for k in keys if k.startswith("config/"))
    intervals = sorted(k for k in keys if k.endswith(("_lo", "_hi")))
    fitness = [k for k in FITNESS if k in keys]
    rest = {"step", "loss", "n_params", *IDENTITY, *FITNESS, *config_keys, *intervals}
    metrics = sorted(keys - rest)
    return [*IDENTITY, *config_keys, "step", *fitness, *metrics, "loss", "n_params", *intervals]


def _scored_columns(cp: dict) -> dict:
    row = {"step": cp["step"], "loss": cp.get("loss")}
    row.update({k: v for k, v in cp.items() if k not in NOT_METRICS})
    for metric, (lo, hi) in sorted((cp.get("intervals") or {}).items()):
        row[f"{metric}_lo"], row[f"{metric}_hi"] = lo, hi
    return row


def _common(kind: str, phase: str, config, **values) -> dict:
    return {"run_kind": kind, "phase": phase, "target_kind": config.target.kind,
            "model_kind": config.model.kind, **values}


def _run_records(folder: RunFolder):
    config = folder.config
    head = _common("run", "run", config, task_id="run", n=config.run.n, seed=config.run.seed,
                   train_set_hash=_images_hash(folder.path / layout.TRAIN_SET))
    summary = folder.read_json(layout.SUMMARY) if (folder.path / layout.SUMMARY).is_file() else {}
    yield head, folder.records(layout.METRICS, key=lambda r: r["step"]), summary.get("n_params")


def _sweep_records(folder: RunFolder):
    config, path = folder.config, folder.path
    for record in folder.records(EVALUATIONS, key=lambda r: r["task_id"]):  # first line per task
        overrides = record.get("overrides") or {}
        head = _common("sweep", "sweep", config, task_id=record["task_id"], n=record["n_train"],
                       seed=record["seed"], target_kind=record.get("target_kind"),
                       model_kind=record.get("model_kind"),
                       train_set_hash=_images_hash(path / f"{layout.sweep_point(record['index'], 'train')}.npz"),
                       overrides=json.dumps(overrides, sort_keys=True),
                       **{f"config/{k}": _cell(v) for k, v in overrides.items()}, **_fitness(record, "g"))
        yield head, record["checkpoints"], record.get("n_params")


def _evolve_records(folder: RunFolder):
    config = folder.config
    logbook = {e["step"]: e for e in folder.records(layout.LOGBOOK, key=lambda e: e["step"])}
    # the first line per evaluation counts, as when the driver replays the record on a resume
    for record in folder.records(EVALUATIONS, key=lambda r: (r.get("phase"), r["task_id"])):
        step, genome = record["step"], record["hash"]
        entry = logbook.get(step, {})
        if record.get("phase") == "reevaluate":
            phase, generation, index = "reevaluate", None, record["seed_index"]
            seed = derive_seed(config.run.seed, "reevaluate", genome, index)
        else:  # a search or baseline evaluation: its logbook line names the phase
            phase = record.get("phase") or entry.get("phase")  # older folders: the logbook's
            generation, index = entry.get("generation"), record.get("seed_index", 0)
            seed = training_seed(config.run.seed, genome, index)
        head = _common("evolve", phase, config, generation=generation, search_step=step,
                       hypervolume=entry.get("hypervolume") if phase != "reevaluate" else None,
                       task_id=record["task_id"], seed_index=index, n=record["size"], seed=seed,
                       train_set_hash=genome, **_fitness(record, config.search.fitness_metric))
        yield head, record["checkpoints"], record.get("n_params")


def _fitness(record: dict, metric: str) -> dict:
    """The evaluation's fitness as every reader reads it (tsearch.tasks.fitness_record)."""
    best = fitness_record(record, metric)
    return {"fitness": None if best is None else best.get(metric),
            "fitness_step": None if best is None else best.get("step")}


READERS = {"run": _run_records, "sweep": _sweep_records, "evolve": _evolve_records}


def _images_hash(npz: Path) -> str | None:
    if not npz.is_file():
        return None
    images = np.asarray(read_images(npz), np.int8)
    digest = hashlib.sha256(str(images.shape).encode())
    digest.update(images.tobytes())
    return digest.hexdigest()


def _cell(value):
    """A table cell: scalars as they are, lists and tables as JSON text."""
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else value


# ----------------------------------------------------------------------------- files
def export(run_dir: str | Path, format: str = "csv", out: str | Path | None = None) -> Path:
    """Write the folder's rows to ``out`` (default ``DIR/results.FORMAT``); returns its path."""
    if format not in FORMATS:
        raise UserError(f"--format {format!r}: choose one of {', '.join(FORMATS)}")
    table = rows(run_dir)
    out = Path(out) if out is not None else Path(run_dir) / f"results.{format}"
    if not out.parent.is_dir():
        raise UserError(f"{out.parent}: no such directory")
    names = columns(table)
    if format == "parquet":
        write_atomic(out, _parquet_bytes(table, names))
    elif format == "csv":
        write_atomic(out, _csv_text(table, names))
    else:
        write_atomic(out, "".join(json.dumps({k: _finite(row.get(k)) for k in names}) + "\n"
                                  for row in table))
    return out


def _finite(value):
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _csv_text(table: list[dict], names: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=names, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: _finite(row.get(k)) for k in names} for row in table)
    return buffer.getvalue()


def _parquet_bytes(table: list[dict], names: list[str]) -> bytes:
    _optional("pyarrow")
    buffer = io.BytesIO()
    _dataframe(table, names).to_parquet(buffer, index=False)
    return buffer.getvalue()


def load(source: str | Path):
    """A pandas DataFrame of a run folder's rows, or of a file ``export`` wrote."""
    source = Path(source)
    if source.is_dir():
        table = rows(source)
        return _dataframe(table, columns(table))
    pandas = _pandas()
    suffix = source.suffix.lstrip(".")
    if not source.is_file():
        raise UserError(f"{source}: no such run folder or file")
    if suffix == "csv":
        # pandas 3 parses floats exactly by default (and deprecates the option); pandas 2 needs it
        exact = {} if int(pandas.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
        return pandas.read_csv(source, **exact)
    if suffix == "parquet":
        _optional("pyarrow")
        return pandas.read_parquet(source)
    if suffix == "jsonl":
        table = [json.loads(line) for line in source.read_text().splitlines() if line.strip()]
        return _dataframe(table, columns(table) if table else [])
    raise UserError(f"{source}: not a run folder nor a .csv, .parquet or .jsonl file")


def _dataframe(table: list[dict], names: list[str]):
    pandas = _pandas()
    frame = pandas.DataFrame.from_records(table, columns=names)
    return frame.fillna(value=np.nan).infer_objects()


def _pandas():
    return _optional("pandas")


def _optional(name: str):
    # pandas and pyarrow are an optional extra: imported only when a table is asked for
    try:
        return importlib.import_module(name)
    except ImportError:
        raise UserError(f"tables need {name}, which is not installed: {EXTRA}") from None
