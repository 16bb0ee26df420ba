"""Figures of run and sweep reports (matplotlib, Agg backend, PNG written atomically).

Records are metrics.jsonl-style dicts: ``step``, metric names, optional ``intervals``.
matplotlib is imported inside the functions that draw: the CLI imports the drivers, which
import the views, and ``tsearch --help`` or a config error should not wait for matplotlib.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..atomic import write_atomic


def figure(n_panels: int, *, width: float = 3.6, height: float = 3.0):
    """A figure of ``n_panels`` axes, at most 4 per row; returns (figure, axes)."""
    # matplotlib loads here, not at import: drivers import the views, and the CLI the drivers
    import matplotlib

    matplotlib.use("Agg")  # no display, no work at import time
    import matplotlib.pyplot as plt

    n_cols = min(n_panels, 4)
    n_rows = -(-n_panels // n_cols)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(width * n_cols, height * n_rows), squeeze=False)
    for ax in axes.flat[n_panels:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n_panels])


def null_formatter():
    from matplotlib.ticker import NullFormatter

    return NullFormatter()


def save(fig, path: str | Path) -> None:
    """The figure as a PNG, written atomically; the figure is closed."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")  # keeps outside legends
    plt.close(fig)
    write_atomic(path, buffer.getvalue())


def no_data(ax, what: str = "no data") -> None:
    """An axes with nothing to draw says so, instead of showing empty axes."""
    ax.text(0.5, 0.5, what, transform=ax.transAxes, ha="center", va="center", color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


def _has_finite(values) -> bool:
    return bool(np.isfinite(np.asarray(values, dtype=float)).any()) if len(values) else False


def metric_curves(path: str | Path, curves: dict[str, Sequence[dict]], metrics: Sequence[str],
                  *, title: str = "") -> None:
    """One panel per metric, one line per label, x = training step (log), CI bands if known."""
    fig, axes = figure(len(metrics))
    for ax, metric in zip(axes, metrics):
        if not any(r.get(metric) is not None for records in curves.values() for r in records):
            ax.set_title(metric)
            no_data(ax)
            continue
        for label, records in curves.items():
            pts = [r for r in records if r.get(metric) is not None]
            if not pts:
                continue
            steps = np.array([max(r["step"], 1) for r in pts])
            line, = ax.plot(steps, [r[metric] for r in pts], "o-", ms=3, label=label or None)
            band = [r.get("intervals", {}).get(metric) for r in pts]
            if all(b is not None for b in band):
                lo, hi = np.array(band, dtype=float).T
                ax.fill_between(steps, lo, hi, color=line.get_color(), alpha=0.2)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(null_formatter())  # minor labels collide on short ranges
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("training step")
        ax.set_title(metric)
        if len(curves) > 1 and ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    save(fig, path)


def heatmaps(path: str | Path, panels: Sequence[tuple[str, np.ndarray, Sequence, Sequence]],
             *, xlabel: str = "training step", ylabel: str = "n", label: str = "g") -> None:
    """Panels (title, values (rows, cols), row labels, column labels), a shared [0, 1] scale."""
    fig, axes = figure(len(panels))
    for ax, (title, values, rows, cols) in zip(axes, panels):
        image = ax.imshow(np.asarray(values, dtype=float), vmin=0, vmax=1, cmap="viridis",
                          aspect="auto", origin="lower")
        ax.set_xticks(range(len(cols)), [str(c) for c in cols], rotation=60, fontsize=7)
        ax.set_yticks(range(len(rows)), [str(r) for r in rows], fontsize=7)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=9)
        fig.colorbar(image, ax=ax, label=label)
    save(fig, path)


def scaling_plot(path: str | Path, series: dict[str, tuple[Sequence, Sequence]],
                 fits: dict[str, dict[str, Callable]], *, xlabel: str = "d", ylabel: str = "n*(d)") -> None:
    """Points (x, y) per label with fitted curves (name -> f(x)) on log-log axes."""
    fig, [ax] = figure(1, width=8.0, height=4.2)  # room for the legend beside the axes
    if not any(_has_finite(y) for _, y in series.values()):
        no_data(ax, f"no data: {ylabel} was not reached at any point of the grid")
        save(fig, path)
        return
    for label, (x, y) in series.items():
        points, = ax.plot(x, y, "o", label=label)
        if len(x) == 0:
            continue
        grid = np.linspace(min(x), max(x), 50)
        for (name, f), style in zip(fits.get(label, {}).items(), ("-", "--", ":")):
            ax.plot(grid, f(grid), style, color=points.get_color(), label=f"{label}: {name}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    xs = [v for x, _ in series.values() for v in x]
    ys = [v for _, y in series.values() for v in y]
    plain_log_ticks(ax, xticks=xs, yticks=ys)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if ax.get_legend_handles_labels()[0]:  # outside the axes, so it hides no point
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    save(fig, path)


def n_star_plot(path: str | Path, series: dict[str, list[tuple[float, float, float, bool]]],
                fits: dict[str, dict[str, Callable]]) -> None:
    """n*(d) per label on log-log (left) and semi-log (right) axes: a power law is straight on
    the first, an exponential on the second. series: label -> [(d, lo, hi, censored)]; a point
    sits at hi with the bracket (lo, hi] as its error bar; a censored one (n* > lo) is an
    upward triangle at lo. fits: label -> {name: f(d) = n*}."""
    fig, axes = figure(2, width=4.6, height=3.6)
    ds = [d for pts in series.values() for d, *_ in pts]
    for ax, title in zip(axes, ("log-log: a power law is straight", "semi-log: an exponential is straight")):
        for label, pts in series.items():
            found = [(d, lo, hi) for d, lo, hi, cens in pts if not cens]
            cens = [(d, lo) for d, lo, _, c in pts if c]
            color = None
            if found:
                d, lo, hi = map(np.asarray, zip(*found))
                bar = ax.errorbar(d, hi, yerr=[hi - np.maximum(lo, 0.5), 0 * hi],  # log y: no 0
                                  fmt="o", capsize=3, label=f"{label}: n* (bracket)")
                color = bar[0].get_color()
            if cens:
                d, lo = map(np.asarray, zip(*cens))
                line, = ax.plot(d, lo, "^", color=color, mfc="none", label=f"{label}: not reached (n* > n)")
                color = line.get_color()
            if ds:
                grid = np.linspace(min(ds), max(ds), 60)
                for (name, f), style in zip(fits.get(label, {}).items(), ("-", "--")):
                    ax.plot(grid, f(grid), style, color=color, label=f"{label}: {name}")
        ax.set_yscale("log")
        if ax is axes[0]:
            ax.set_xscale("log")
        plain_log_ticks(ax, xticks=ds, yticks=[hi for pts in series.values() for _, _, hi, _ in pts])
        ax.set_xlabel("d")
        ax.set_ylabel("n*(d)")
        ax.set_title(title, fontsize=8)
    finish_pair(fig, axes, path, searched=bool(ds))


def share_plot(path: str | Path, series: dict[str, list[tuple[float, float, bool]]]) -> None:
    """n*/S (the share of the support that had to be shown) against d, per label, on log-log
    (left) and semi-log (right) axes. series: label -> [(d, share, censored)]; a censored point
    (n* = S: not reached at S - 1) is an upward triangle at 1."""
    fig, axes = figure(2, width=4.6, height=3.6)
    ds = [d for pts in series.values() for d, *_ in pts]
    for ax, title in zip(axes, ("log-log", "semi-log")):
        for label, pts in series.items():
            found = [(d, v) for d, v, cens in pts if not cens]
            cens = [(d, v) for d, v, c in pts if c]
            color = None
            if found:
                line, = ax.plot(*zip(*found), "o", label=f"{label}: n*/S")
                color = line.get_color()
            if cens:
                ax.plot(*zip(*cens), "^", color=color, mfc="none", label=f"{label}: n* = S (censored)")
        ax.set_yscale("log")
        if ax is axes[0]:
            ax.set_xscale("log")
        low = min((v for pts in series.values() for _, v, _ in pts), default=1.0)
        plain_log_ticks(ax, xticks=ds, yticks=[t for t in (0.05, 0.1, 0.2, 0.3, 0.5, 1.0) if t >= low / 1.5])
        ax.set_xlabel("d")
        ax.set_ylabel("n*/S")
        ax.set_title(title, fontsize=8)
    finish_pair(fig, axes, path, searched=bool(ds))


def finish_pair(fig, axes, path: str | Path, *, searched: bool) -> None:
    """The n* figures' two panels: "no data" on an empty one, the left panel's legend beside the
    right one, saved."""
    if not searched:
        no_data(axes[0], "no n* searched")
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        axes[1].legend(handles, labels, fontsize=6, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    save(fig, path)


def plain_log_ticks(ax, *, xticks=(), yticks=()) -> None:
    """Log axes labelled with the data's own values (16, 25, 36), not 2x10^1."""
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    for axis, ticks in ((ax.xaxis, xticks), (ax.yaxis, yticks)):
        if len(ticks):
            axis.set_ticks(sorted(set(ticks)))
        axis.set_major_formatter(ScalarFormatter())
        axis.set_minor_formatter(NullFormatter())


def timescale_plot(path: str | Path, series: dict[str, dict[str, tuple[Sequence, Sequence]]],
                   fits: dict[str, Callable] | None = None) -> None:
    """tau_gen and tau_mem against n, per label; optional fitted line per label (tau_mem)."""
    fig, axes = figure(2, width=4.5)
    for ax, key in zip(axes, ("tau_gen", "tau_mem")):
        if not any(_has_finite(taus[key][1]) for taus in series.values()):
            ax.set_title(key)
            no_data(ax, f"no data: {key} was never reached")
            continue
        for label, taus in series.items():
            n, tau = taus[key]
            if not _has_finite(tau):  # a group that never reached it: named in the tables, not here
                continue
            points, = ax.plot(n, tau, "o", label=label or None)
            if key == "tau_mem" and fits and label in fits and len(n):
                grid = np.linspace(min(n), max(n), 20)
                ax.plot(grid, fits[label](grid), "-", color=points.get_color())
        ax.set_xscale("log", base=2)  # n is on a geometric grid
        plain_log_ticks(ax, xticks=[v for taus in series.values() for v in taus[key][0]])
        ax.set_xlabel("n (training set size)")
        ax.set_ylabel(f"{key} (training steps)")
        ax.set_title(key)
        if len(series) > 1 and ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    save(fig, path)
