"""Driver of ``tsearch run``: one training set, one model, metrics over training time.

The shared loop (tsearch.runs.pipeline) with a source of one task. Run folder (besides
run.json / config.json):

    metrics.jsonl            one line per scored step: step, every metric, intervals, loss
    samples/step_XXXXXX.png  the samples of each scored step (image grid)
    samples/steps.npz        all samples of every scored step, packed bits (tsearch score DIR)
    train_set.png / .npz     the training set actually trained on
    summary.json             best scored step by g, tau_gen, tau_mem, with their definitions
    report.html / .md        figures and a generated "what was observed" paragraph
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import numpy as np

from ..analysis.timescales import timescales
from ..config import Config
from ..report.render import write_report
from ..store import layout
from ..store.folder import RunFolder, as_folder
from ..store.images import pack_samples
from ..store.records import scored_record
from ..tasks import EvalResult, EvalTask, best_record
from .pipeline import drive, open_executor


def run_single(config: Config, *, out: str | Path | None = None, show_progress: bool | str = True) -> Path:
    """Evaluate the training set of size ``config.run.n`` drawn with ``config.run.seed``;
    returns the run folder (created only now: the config was validated by the caller)."""
    task = EvalTask.from_config(config, task_id="run", seed=config.run.seed,
                                n_train=config.run.n, keep_samples=True)
    with ExitStack() as held:  # the folder's lock, released when the run ends
        with open_executor(config) as executor:
            name = config.run.name or f"{config.target.kind}-{config.model.kind}-n{config.run.n}"
            folder = held.enter_context(RunFolder.create("run", name, config, out))
            results: list[EvalResult] = []
            drive(executor, [task], results.append, desc="run", show_progress=show_progress)
        [result] = results
        if not result.ok:
            folder.write_json(layout.ERROR, {"error": result.error})
            raise RuntimeError(f"evaluation failed: {result.error}")
        write_run_files(folder, result, seed=config.run.seed, batch_size=config.train.batch_size)
        write_report(folder)
        return folder.path


def write_run_files(run: str | Path | RunFolder, result: EvalResult, *, seed: int,
                    batch_size: int | None = None) -> None:
    """metrics.jsonl, the sample grids and packed samples, the training set and summary.json of
    a finished run (``seed``: the task's, for re-scoring)."""
    folder = as_folder(run)
    records = []
    for scored in result.scored:
        records.append(scored_record(scored))
        folder.append(layout.METRICS, records[-1])
        if scored.samples is not None:
            folder.write_grid(layout.run_step_grid(scored.step), scored.samples)
    train = np.asarray(result.train_images)
    folder.write_npz(layout.TRAIN_SET, images=train.astype(np.int8))
    if any(s.samples is not None for s in result.scored):
        folder.write_npz(layout.STEPS, **pack_samples(result, seed=seed))
    folder.write_grid(layout.TRAIN_SET_GRID, train)
    folder.write_json(layout.SUMMARY, {
        **timescales(records, batch_size=batch_size, n_train=len(train)), "best": best_record(records),
        "n_train": int(len(train)),
        "n_params": result.n_params, "timings": result.timings, "device": result.device,
        "form": result.form, "peak_memory_mb": result.peak_memory_mb})
