"""Report sections of ``tsearch run``: metric curves, samples at the best and last scored
steps, timescales, and a generated "what was observed" paragraph (numbers only)."""

from __future__ import annotations

from ..store import layout
from ..store.folder import RunFolder
from .plots import metric_curves
from .sections import Figure, Section, Table

CURVE_METRICS = ("valid", "copy", "copy_shift", "g", "g_shift", "g_rel", "coverage_unseen",
                 "chance_valid", "precision", "recall")


def report_sections(folder: RunFolder) -> list[Section]:
    run_dir = folder.path
    records = folder.records(layout.METRICS)
    summary = folder.read_json(layout.SUMMARY)
    config = folder.read_json(layout.CONFIG)
    metrics = [m for m in CURVE_METRICS if any(r.get(m) is not None for r in records)]
    figures = [Figure(layout.TRAIN_SET_GRID, f"training set (n = {summary['n_train']})")]
    if len(records) > 1:
        metric_curves(run_dir / layout.CURVES_PLOT, {"": records}, metrics)
        figures.append(Figure(layout.CURVES_PLOT, "metrics against training step (95% bootstrap bands)"))
    labels: dict[int, list[str]] = {}
    for label, r in (("best", summary["best"]), ("last", records[-1])):
        if r is not None:
            labels.setdefault(r["step"], []).append(label)
    for step, names in labels.items():
        png = layout.run_step_grid(step)
        if (run_dir / png).is_file():
            figures.append(Figure(png, f"samples at the {' and '.join(names)} scored step (step {step})"))
    return [Section("What was observed", [observed_paragraph(config, records, summary)]),
            Section("Metrics per scored step", tables=[metrics_table(records, metrics)],
                    figures=figures),
            Section("Timescales", [f"{k}: {v}" for k, v in summary["definitions"].items()],
                    tables=[Table(TIMESCALE_COLUMNS, [[summary.get(k) for k in TIMESCALE_COLUMNS]])])]


TIMESCALE_COLUMNS = ["tau_gen", "tau_mem", "tau_gen_epochs", "tau_mem_epochs", "tau_gen_valid",
                     "tau_mem_copy", "best_step", "n_params"]


def metrics_table(records: list[dict], metrics: list[str]) -> Table:
    return Table(["step", *metrics, "loss"],
                 [[r["step"], *(r.get(m) for m in metrics), r.get("loss")] for r in records])


def observed_paragraph(config: dict, records: list[dict], summary: dict) -> str:
    """Numbers only, in sentences: where the curves peak and what the timescales were."""
    target, model = config["target"], config["model"]
    best, last = summary["best"], records[-1]
    parts = [f"A {model['kind']} model trained on n = {summary['n_train']} images of the "
             f"{target['kind']} target (side {target['side']}) was scored at {len(records)} training step(s)."]
    if best is not None:
        parts.append(f"The best scored step by g is step {best['step']}: valid = {best['valid']:.3f}, "
                     f"copy = {best['copy']:.3f}, g = {best['g']:.3f}"
                     + (f", g_rel = {best['g_rel']:.3f}" if best.get("g_rel") is not None else "")
                     + beside_g(best) + ".")
    if last is not best:
        parts.append(f"At the last scored step (step {last['step']}): valid = {last['valid']:.3f}, "
                     f"copy = {last['copy']:.3f}, g = {last['g']:.3f}.")
    for key, what in (("tau_gen", "g_shift first reached 90% of its maximum"),
                      ("tau_mem", "copies up to translation first exceeded 5% of the samples")):
        value = summary[key]
        parts.append(f"{what.capitalize()} at step {value}." if value is not None
                     else f"{key}: not reached ({what} never happened).")
    return " ".join(parts)


BESIDE_G = ("copy_shift", "g_shift", "chance_valid", "g_above_chance", "precision", "recall")


def beside_g(record: dict) -> str:
    """', copy_shift = ..., ...' for the metrics beside g that the record holds (finite)."""
    return "".join(f", {m} = {record[m]:.3f}" for m in BESIDE_G if record.get(m) is not None)
