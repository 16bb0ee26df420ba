"""Driver of ``tsearch run``: one training set, one model, metrics over training time.

Run folder (besides run.json / config.json):

    metrics.jsonl          one line per checkpoint: step, every metric, intervals, loss
    samples/step_XXXXXX.png  the samples of each checkpoint (image grid)
    train_set.png / .npz   the training set actually trained on
    summary.json           best checkpoint by g, tau_gen, tau_mem, with their definitions
    report.html / .md      figures and a generated "what was observed" paragraph
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..config import ORACLE_KINDS, Config
from .files import append_jsonl, new_run_dir, read_json, read_jsonl, write_json, write_provenance
from .grids import save_grid
from .progress import progress_bar
from .report import Figure, Section, Table
from .timescales import best_checkpoint, timescales

CURVE_METRICS = ("valid", "copy", "novel", "g", "g_rel", "coverage_unseen")


def run_single(config: Config, *, out: str | Path | None = None, show_progress: bool = True) -> Path:
    """Evaluate the training set of size ``config.run.n`` drawn with ``config.run.seed``;
    returns the run folder (created only now: the config was validated by the caller)."""
    from ..engine import EvalTask, evaluate  # torch loads only once the config is known good
    from ..engine.device import resolve_device
    from .report import write_report

    resolve_device(config.engine.device)  # no CUDA for engine.device = "cuda": stop before the folder
    name = config.run.name or f"{config.target.kind}-{config.model.kind}-n{config.run.n}"
    run_dir = new_run_dir("run", name, out)
    write_provenance(run_dir, "run", config)
    task = EvalTask.from_config(config, task_id="run", seed=config.run.seed,
                                n_train=config.run.n, keep_samples=True)
    with progress_bar(work_units([task]), "run", enabled=show_progress) as advance:
        [result] = evaluate([task], config.engine, progress=advance)
    if not result.ok:
        write_json(run_dir / "error.json", {"error": result.error})
        raise RuntimeError(f"evaluation failed: {result.error}")
    write_run_files(run_dir, result)
    write_report(run_dir)
    return run_dir


def work_units(tasks) -> int:
    """Total progress units the engine reports for ``tasks``: training steps, 1 per oracle."""
    return sum(1 if t.model.kind in ORACLE_KINDS else t.train.steps for t in tasks)


def write_run_files(run_dir: Path, result) -> None:
    from .records import checkpoint_record

    (run_dir / "samples").mkdir(exist_ok=True)
    records = []
    for cp in result.checkpoints:
        record = checkpoint_record(cp)
        append_jsonl(run_dir / "metrics.jsonl", record)
        records.append(record)
        if cp.samples is not None:
            save_grid(run_dir / "samples" / f"step_{cp.step:06d}.png", cp.samples)
    train = np.asarray(result.train_images)
    np.savez_compressed(run_dir / "train_set.npz", images=train.astype(np.int8))
    save_grid(run_dir / "train_set.png", train)
    write_json(run_dir / "summary.json", {
        **timescales(records), "best": best_checkpoint(records), "n_train": int(len(train)),
        "n_params": result.n_params, "timings": result.timings, "device": result.device,
        "form": result.form, "peak_memory_mb": result.peak_memory_mb})


# ----------------------------------------------------------------------------- report
def report_sections(run_dir: Path) -> list[Section]:
    from .plots import metric_curves

    records = list(read_jsonl(run_dir / "metrics.jsonl"))
    summary = read_json(run_dir / "summary.json")
    config = read_json(run_dir / "config.json")
    metrics = [m for m in CURVE_METRICS if any(r.get(m) is not None for r in records)]
    figures = [Figure("train_set.png", f"training set (n = {summary['n_train']})")]
    if len(records) > 1:
        metric_curves(run_dir / "curves.png", {"": records}, metrics)
        figures.append(Figure("curves.png", "metrics against training step (95% bootstrap bands)"))
    labels: dict[int, list[str]] = {}
    for label, r in (("best", summary["best"]), ("last", records[-1])):
        if r is not None:
            labels.setdefault(r["step"], []).append(label)
    for step, names in labels.items():
        png = f"samples/step_{step:06d}.png"
        if (run_dir / png).is_file():
            figures.append(Figure(png, f"samples at the {' and '.join(names)} checkpoint (step {step})"))
    return [Section("What was observed", [observed_paragraph(config, records, summary)]),
            Section("Metrics per checkpoint", tables=[metrics_table(records, metrics)],
                    figures=figures),
            Section("Timescales", [f"{k}: {v}" for k, v in summary["definitions"].items()],
                    tables=[Table(["tau_gen", "tau_mem", "best step", "n_params"],
                                  [[summary["tau_gen"], summary["tau_mem"], summary["best_step"],
                                    summary["n_params"]]])])]


def metrics_table(records: list[dict], metrics: list[str]) -> Table:
    return Table(["step", *metrics, "loss"],
                 [[r["step"], *(r.get(m) for m in metrics), r.get("loss")] for r in records])


def observed_paragraph(config: dict, records: list[dict], summary: dict) -> str:
    """Numbers only, in sentences: where the curves peak and what the timescales were."""
    target, model = config["target"], config["model"]
    best, last = summary["best"], records[-1]
    parts = [f"A {model['kind']} model trained on n = {summary['n_train']} images of the "
             f"{target['kind']} target (side {target['side']}) was scored at {len(records)} checkpoint(s)."]
    if best is not None:
        parts.append(f"The best checkpoint by g is step {best['step']}: valid = {best['valid']:.3f}, "
                     f"copy = {best['copy']:.3f}, g = {best['g']:.3f}"
                     + (f", g_rel = {best['g_rel']:.3f}." if best.get("g_rel") is not None else "."))
    if last is not best:
        parts.append(f"At the last checkpoint (step {last['step']}): valid = {last['valid']:.3f}, "
                     f"copy = {last['copy']:.3f}, g = {last['g']:.3f}.")
    for key, what in (("tau_gen", "valid first reached 90% of its maximum"),
                      ("tau_mem", "copies first exceeded 5% of the samples")):
        value = summary[key]
        parts.append(f"{what.capitalize()} at step {value}." if value is not None
                     else f"{key}: not reached ({what} never happened).")
    return " ".join(parts)
