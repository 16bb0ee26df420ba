"""Report sections of a sweep (a view: it reads the folder and draws figures into it): generated
observations, comparison table, n*(d) with fits,
heat maps, curves per n, timescales against n, sample grids. Numbers come from
tsearch.analysis.sweep; every figure is a PNG under ``figures/`` of the run folder."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

import numpy as np

from ..analysis.sweep import (
    AT_SUPPORT,
    COMPARISON_COLUMNS,
    CURVE_METRICS,
    Analysis,
    Fit,
    analyse,
    analysis_from_summary,
    censored_at_support,
    comparison_rows,
    group_by,
    group_by_fields,
    in_epochs,
    label_of,
    mean_curve,
    n_star_share,
    peak,
    seed_mean,
    steps_of,
)
from ..analysis.timescales import tau_gen, tau_mem
from ..store import layout
from ..store.folder import RunFolder
from ..store.images import read_images, save_grid
from ..tasks import fitness_record
from . import plots
from .sections import Figure, Section, Table, fmt

MAX_SAMPLE_POINTS = 16  # sample-grid figures in a report before we keep only the largest d


def report_sections(folder: RunFolder) -> list[Section]:
    """The sweep's report, from its config and its finished evaluations."""
    run_dir, config, records = folder.path, folder.config, load_evaluations(folder)
    bisect = config.sweep.search == "bisect"
    total = int(np.prod([len(v) for k, v in config.sweep.grid.items() if not (bisect and k == "run.n")]))
    if not records:
        return [Section("What was observed", [f"No evaluation has finished (0 of {total})."])]
    (run_dir / layout.FIGURES).mkdir(exist_ok=True)
    a = analysis_of(folder, records)
    groups = group_by(records, a.group_axes)
    return [Section("What was observed", observations(a, records, total, bisect)),
            comparison_section(a, groups),
            scaling_section(run_dir, a, groups),
            curves_section(run_dir, a, groups),
            timescales_section(run_dir, a),
            *pixel_statistics_section(a, groups),
            samples_section(run_dir, a, groups)]


def analysis_of(folder: RunFolder, records: list[dict]) -> Analysis:
    """The sweep's data product, analysis.json, as the command wrote it; computed here only for
    a folder without one (records appended by a Python caller that wrote no analysis)."""
    if (folder.path / layout.ANALYSIS).is_file():
        return analysis_from_summary(folder.read_json(layout.ANALYSIS), folder.config)
    return analyse(records, folder.config)


def load_evaluations(folder: RunFolder | str | Path) -> list[dict]:
    """Finished evaluations, one per task_id (the first, should a line ever repeat), in grid order."""
    folder = folder if isinstance(folder, RunFolder) else RunFolder.open(folder, "sweep")
    records = folder.records(layout.EVALUATIONS, key=lambda r: r["task_id"])
    return sorted(records, key=lambda r: r["index"])


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_") or "all"


# ----------------------------------------------------------------------------- sections
def observations(a: Analysis, records: Sequence[dict], total: int, bisect: bool = False) -> list[str]:
    done = (f"{len(records)} evaluations (bisection probes) finished over {total} searches of n*"
            if bisect else f"{len(records)} of {total} evaluations finished")
    out = [f"{done}. n*(d) is the smallest training-set "
           f"size n at which the seed mean of some checkpoint's generalization metric reaches "
           f"{a.threshold} (metric per group: " +
           ", ".join(f"{g}: {m}" for g, m in a.metric_of.items()) + ")" +
           ("; coverage_unseen counts only n < S, the support's size." if "coverage_unseen" in a.metric_of.values()
            else ".")]
    groups_by_label = {label_of(a.group_axes, k): rs for k, rs in group_by(records, a.group_axes).items()}
    for label, by_d in a.n_star.items():
        stars = [f"d={d}: {fmt(s) if s is not None else 'not reached'}" for d, (s, _) in by_d.items()]
        out.append(f"{label}: n*(d) = " + "; ".join(stars) + ".")
        fits = a.fits.get(label)
        reached = {s for _, (_, per_seed) in by_d.items() for s in per_seed.values() if s is not None}
        reached_d = [d for d, (_, per_seed) in by_d.items() if any(v is not None for v in per_seed.values())]
        verdict = a.verdicts.get(label)
        if censored_at_support(a, label):
            out.append(f"{label}: {AT_SUPPORT}.")
        elif verdict is not None:
            out.append(f"{label}: censored fit of every seed's n*: {verdict.sentence}.")
        if fits:
            out.append(fit_sentence(label, fits))
        elif len(reached) == 1 and len(reached_d) > 1:
            out.append(f"{label}: every seed that reached the threshold did so at n = {reached.pop()}, "
                       "whatever d: no growth with d to fit.")
        elif len(by_d) > 1:
            out.append(f"{label}: too few reached n* values to fit a scaling law.")
        out.append(timescale_sentence(label, groups_by_label[label]))
        tau = a.tau_fits.get(label)
        if tau is not None:
            out.append(f"{label}: tau_mem grows by {tau.params['b']:.3g} training steps per training "
                       f"image (95% CI [{tau.ci['b'][0]:.3g}, {tau.ci['b'][1]:.3g}], R² = {tau.r2:.2f}, "
                       f"{tau.m} values of n).")
    out.append(best_sentence(records, a))
    return out


def timescale_sentence(label: str, members: Sequence[dict]) -> str:
    """tau_gen and tau_mem per n at the group's largest d, with how many seeds reached them."""
    d_max = max(r["d"] for r in members)
    parts = []
    for (n,), rs in sorted(group_by_fields([r for r in members if r["d"] == d_max], ("n_train",)).items()):
        gen = [t for t in (tau_gen(r["checkpoints"]) for r in rs) if t is not None]
        mem = [t for t in (tau_mem(r["checkpoints"]) for r in rs) if t is not None]
        parts.append(f"n={n}: {_mean_of(gen)} / {_mean_of(mem)} ({len(mem)}/{len(rs)} seeds memorized)")
    last = max(c["step"] for r in members for c in r["checkpoints"])
    return (f"{label}, d={d_max}: tau_gen / tau_mem in training steps (seed means over the seeds "
            f"that reached them; checkpoints up to step {last}): " + "; ".join(parts) + ".")


def _mean_of(values: Sequence[float]) -> str:
    return str(steps_of(float(np.mean(values)))) if values else "never"


def fit_sentence(label: str, fits: list[Fit]) -> str:
    best, other = fits
    delta = other.aic - best.aic
    verdict = (f"the data prefer the {best.name} (ΔAIC = {delta:.2f}, Akaike weight {best.weight:.2f})"
               if delta >= 2 else f"AIC does not separate them (ΔAIC = {delta:.2f} < 2)")
    parts = [f"{f.formula} with " + ", ".join(f"{k} = {v:.3g} [{f.ci[k][0]:.3g}, {f.ci[k][1]:.3g}]"
                                              for k, v in f.params.items()) for f in fits]
    return f"{label}: fits over {best.m} (d, per-seed n*) points: " + "; ".join(parts) + f"; {verdict}."


def best_sentence(records: Sequence[dict], a: Analysis) -> str:
    groups = group_by(records, a.group_axes)
    peaks = {label_of(a.group_axes, k): seed_mean([peak(r, "g") for r in rs]) for k, rs in groups.items()}
    ranked = sorted(((v, k) for k, v in peaks.items() if v is not None), reverse=True)
    return ("Mean over grid points of the best-checkpoint g, per group: "
            + ", ".join(f"{k} {v:.3f}" for v, k in ranked) + ".")


def comparison_section(a: Analysis, groups: dict) -> Section:
    return Section("Side by side", [
        "Seed means over the seeds. *_best: at each seed's best checkpoint (the largest g, earliest "
        "on ties), *_last: at its last checkpoint; max_metric: the maximum over checkpoints of the "
        "group's generalization metric (the one n* thresholds); distinct_novel: distinct novel "
        "images per sample (diversity, which g alone does not see); copy_shift, g_shift: copies "
        "and generalization up to translation; chance_valid: validity rate of random blobs of "
        "the samples' areas, g_above_chance = g - chance_valid; precision, recall: fidelity to "
        "and coverage of the target in descriptor space (glossary: docs/metrics.md)."],
        tables=[Table(COMPARISON_COLUMNS, comparison_rows(a, groups))])


PIXEL_STATS = ("white_fraction", "corr_horizontal", "corr_vertical")


def pixel_statistics_section(a: Analysis, groups: dict) -> list[Section]:
    """Targets that describe their samples' pixel statistics (iid pixels: the white fraction
    against p, neighbour correlations against 0), at the best and the last checkpoint."""
    rows = []
    for key, members in groups.items():
        label = label_of(a.group_axes, key)
        for (d, n), rs in sorted(group_by_fields(members, ("d", "n_train")).items()):
            best = [(fitness_record(r) or r["checkpoints"][-1]).get("extra") or {} for r in rs]
            last = [r["checkpoints"][-1].get("extra") or {} for r in rs]
            if not all(stat in e for e in best + last for stat in PIXEL_STATS):
                continue
            rows.append([label, d, n, best[0].get("p"),
                         *(seed_mean([e[stat] for e in best]) for stat in PIXEL_STATS),
                         *(seed_mean([e[stat] for e in last]) for stat in PIXEL_STATS)])
    if not rows:
        return []
    return [Section("Pixel statistics of the samples", [
        "Seed means of the samples' white-pixel fraction (target: p) and correlations of "
        "horizontally and vertically adjacent pixels (target: 0, the pixels are independent), "
        "at the best checkpoint (by g) and the last one."],
        tables=[Table(["group", "d", "n", "p", *(f"{s}_best" for s in PIXEL_STATS),
                       *(f"{s}_last" for s in PIXEL_STATS)], rows)])]


def scaling_section(run_dir: Path, a: Analysis, groups: dict) -> Section:
    rows = [[label, d, s, ", ".join(f"{k}:{fmt(v)}" for k, v in per_seed.items())]
            for label, by_d in a.n_star.items() for d, (s, per_seed) in by_d.items()]
    section = Section("n*(d)", [f"Threshold {a.threshold}; 'None' = not reached at any n of the grid "
                                "(left out of the OLS fits below; lower bounds in the censored fits after them)."],
                      tables=[Table(["group", "d", "n* (seed mean)", "n* per seed"], rows)])
    fit_rows = [[label, f.formula, *(f"{v:.3g} [{f.ci[k][0]:.3g}, {f.ci[k][1]:.3g}]"
                                     for k, v in f.params.items()), f.aic, f.weight, f.m]
                for label, fits in a.fits.items() if fits for f in fits]
    if fit_rows:
        section.tables.append(Table(["group", "model", "a [95% CI]", "b or c [95% CI]", "AIC",
                                     "Akaike weight", "points"], fit_rows))
    series = {label: tuple(zip(*[(d, s) for d, (_, ps) in by_d.items() for s in ps.values()
                                 if s is not None])) or ((), ()) for label, by_d in a.n_star.items()}
    if any(len(x) for x, _ in series.values()):  # the points even where no fit is possible
        # fixed order, whatever AIC says: power law solid, exponential dashed (the caption's styles)
        fits = {label: {f.name: f.predict for f in sorted(fs, key=lambda f: f.name != "power law")}
                for label, fs in a.fits.items() if fs}
        plots.scaling_plot(run_dir / layout.N_STAR_PLOT, series, fits)
        section.figures.append(Figure(layout.N_STAR_PLOT, "per-seed n*(d) (points) with the "
                                      "power-law (solid) and exponential (dashed) fits where "
                                      "there are enough points, log axes"))
    censored_part(run_dir, a, section)
    section.figures += heatmap_figures(run_dir, a, groups)
    return section


def censored_part(run_dir: Path, a: Analysis, section: Section) -> None:
    """Every seed's bracket of n*, the censored ML fits (they count lower bounds) and their
    figure on log-log and semi-log axes (tsearch.analysis.censored)."""
    rows = [[label, d, seed, lo, "not reached" if hi is None else hi,
             f"n* > {lo}" if hi is None else (f"{hi}" if hi - lo <= 1 else f"({lo}, {hi}]")]
            for label, by_d in a.brackets.items() for d, by_seed in by_d.items()
            for seed, (lo, hi) in by_seed.items()]
    if not rows:
        return
    section.tables.append(Table(["group", "d", "seed", "largest failing n", "smallest passing n", "n*"], rows))
    fit_rows = [[label, f.formula, f"{f.beta:.3g} [{f.beta_ci[0]:.3g}, {f.beta_ci[1]:.3g}]",
                 f"{f.sigma:.3g}", f.aic, f.weight, f.points, f.censored]
                for label, v in a.verdicts.items() for f in v.fits]
    section.paragraphs.append("Censored maximum-likelihood fits (log n* normal about the law; a seed "
                              "that never reached the threshold counts as n* > the largest n tried; "
                              "95% profile-likelihood intervals): " +
                              " ".join(f"{label}: {AT_SUPPORT if censored_at_support(a, label) else v.sentence}."
                                       for label, v in a.verdicts.items()))
    if fit_rows:
        section.tables.append(Table(["group", "model", "exponent b or c [95% profile CI]", "sigma (log n*)",
                                     "AIC", "Akaike weight", "points", "censored"], fit_rows))
    series = {label: [(d, lo, hi if hi is not None else lo, hi is None)
                      for d, by_seed in by_d.items() for lo, hi in by_seed.values()]
              for label, by_d in a.brackets.items()}
    fits = {label: {f.name: (lambda x, f=f: np.exp(f.mu(x)))
                    for f in sorted(v.fits, key=lambda f: f.name != "power law")}
            for label, v in a.verdicts.items()}
    plots.n_star_plot(run_dir / layout.N_STAR_BRACKETS_PLOT, series, fits)
    section.figures.append(Figure(layout.N_STAR_BRACKETS_PLOT, "every seed's n*(d) with its "
                                  "bracket (error bar); triangles: not reached (lower bounds); "
                                  "censored ML fits, power law solid, exponential dashed; log-log "
                                  "left, semi-log right"))
    shares = {label: [(d, n_star_share(lo, hi, a.support[label].get(d)), hi is None)
                      for d, by_seed in by_d.items() for lo, hi in by_seed.values()]
              for label, by_d in a.brackets.items() if all(a.support[label].values())}
    if shares:
        section.paragraphs.append("n* against the support's size S: " + " ".join(
            f"{label}: {a.against_support[label]}." for label in shares))
        plots.share_plot(run_dir / layout.N_STAR_SHARE_PLOT, shares)
        section.figures.append(Figure(layout.N_STAR_SHARE_PLOT, "every seed's n*/S (the share of "
                                      "the support that had to be shown) against d; triangles: "
                                      "n* = S (not reached at S - 1); log-log left, semi-log right"))


def heatmap_figures(run_dir: Path, a: Analysis, groups: dict) -> list[Figure]:
    """Per group, the seed mean of its generalization metric (the one n* thresholds) over
    (n, training step), one panel per d; blank cells: no value at that step."""
    figures = []
    for key, members in groups.items():
        label = label_of(a.group_axes, key)
        metric = a.metric_of[label]
        panels = []
        for (d,), rs in sorted(group_by_fields(members, ("d",)).items()):
            curves = {n: mean_curve(m) for (n,), m in sorted(group_by_fields(rs, ("n_train",)).items())}
            steps = sorted({p["step"] for c in curves.values() for p in c})
            grid = np.array([[_value_at(c, s, metric) for s in steps] for c in curves.values()])
            panels.append((f"{label}, d={d}", grid, list(curves), steps))
        path = layout.figure(f"heat_{_slug(label)}")
        plots.heatmaps(run_dir / path, panels, label=metric)
        figures.append(Figure(path, f"{label}: seed-mean {metric} over (n, training step), "
                                    "one panel per d"))
    return figures


def _value_at(curve: Sequence[dict], step: int, metric: str) -> float:
    value = next((p.get(metric) for p in curve if p["step"] == step), None)
    return np.nan if value is None else value


def curves_section(run_dir: Path, a: Analysis, groups: dict) -> Section:
    section = Section("Curves", ["Seed means per n; bands span the seeds (min to max)."])
    for key, members in groups.items():
        label = label_of(a.group_axes, key)
        for (d,), rs in sorted(group_by_fields(members, ("d",)).items()):
            curves = {f"n={n}": mean_curve(m) for (n,), m in sorted(group_by_fields(rs, ("n_train",)).items())}
            path = layout.figure(f"curves_{_slug(label)}_d{d}")
            metrics = [*CURVE_METRICS, *([a.metric_of[label]] if a.metric_of[label] not in CURVE_METRICS else [])]
            plots.metric_curves(run_dir / path, curves, metrics, title=f"{label}, d={d}")
            section.figures.append(Figure(path, f"{label}, d={d}: metrics against training step"))
    return section


def timescales_section(run_dir: Path, a: Analysis) -> Section:
    rows = [[label, d, n, steps_of(tg), steps_of(tm), in_epochs(tg, a.batch_size, n),
             in_epochs(tm, a.batch_size, n)] for label, table in a.timescales.items()
            for (d, n), (tg, tm) in table.items()]
    section = Section("Timescales", ["tau_gen: first step where g_shift (valid, not a copy up to "
                                     "translation) >= 0.9 x its maximum; tau_mem: first step where "
                                     "copy_shift > 0.05; epochs = steps x batch size / n; seed means "
                                     "over the seeds where they were reached. The linear fit of "
                                     "tau_mem on n uses the largest d of each group."],
                      tables=[Table(["group", "d", "n", "tau_gen", "tau_mem", "tau_gen (epochs)",
                                     "tau_mem (epochs)"], rows)])
    fit_rows = [[label, f"{f.params['a']:.3g} [{f.ci['a'][0]:.3g}, {f.ci['a'][1]:.3g}]",
                 f"{f.params['b']:.3g} [{f.ci['b'][0]:.3g}, {f.ci['b'][1]:.3g}]", f.r2, f.m]
                for label, f in a.tau_fits.items() if f is not None]
    if fit_rows:
        section.tables.append(Table(["group", "a [95% CI]", "b (steps per image) [95% CI]", "R²",
                                     "points"], fit_rows, caption="tau_mem = a + b n"))
    series, fits = {}, {}
    for label, table in a.timescales.items():
        d_max = max(d for d, _ in table)
        rows_d = [(n, tg, tm) for (d, n), (tg, tm) in table.items() if d == d_max]
        n, tg, tm = (np.array([r[i] for r in rows_d], dtype=float) for i in range(3))
        series[label] = {"tau_gen": (n, tg), "tau_mem": (n, tm)}
        if a.tau_fits.get(label) is not None:
            fits[label] = a.tau_fits[label].predict
    if any(len(s["tau_gen"][0]) > 1 for s in series.values()):
        plots.timescale_plot(run_dir / layout.TIMESCALES_PLOT, series, fits)
        section.figures.append(Figure(layout.TIMESCALES_PLOT,
                                      "tau_gen and tau_mem against n (largest d per group)"))
    return section


def samples_section(run_dir: Path, a: Analysis, groups: dict) -> Section:
    section = Section("Training sets and samples", ["First seed of each grid point: the training "
                                                    "set, then the samples at the best scored "
                                                    "step (by g) and at the last one."])
    picks = []
    for key, members in groups.items():
        label = label_of(a.group_axes, key)
        first_seed = min(r["seed"] for r in members)
        chosen = [r for r in members if r["seed"] == first_seed]
        picks += [(label, r) for r in chosen]
    if len(picks) > MAX_SAMPLE_POINTS:
        d_max = {lab: max(r["d"] for l2, r in picks if l2 == lab) for lab, _ in picks}
        picks = [(lab, r) for lab, r in picks if r["d"] == d_max[lab]]
    for label, r in picks:
        train = layout.sweep_point(r["index"], "train") + ".png"
        if train_grid(run_dir, r["index"]):
            section.figures.append(Figure(train, f"{label}, d={r['d']}, n={r['n_train']}, "
                                                 f"seed {r['seed']}: the training set"))
        for which in ("best", "last"):
            path = layout.sweep_point(r["index"], which) + ".png"
            if (run_dir / path).is_file():
                section.figures.append(Figure(path, f"{label}, d={r['d']}, n={r['n_train']}, "
                                                    f"seed {r['seed']}: {which} checkpoint"))
    return section


def train_grid(run_dir: Path, index: int) -> bool:
    """The training set's image grid beside its samples: drawn from the .npz the driver saved
    (the view draws its own figures; the record is never touched)."""
    npz, png = (run_dir / f"{layout.sweep_point(index, 'train')}.{ext}" for ext in ("npz", "png"))
    if not npz.is_file():
        return False
    if not png.is_file():
        save_grid(png, read_images(npz))
    return True
