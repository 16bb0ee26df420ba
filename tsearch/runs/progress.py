"""Progress on stderr: a tqdm bar on a terminal, plain log lines everywhere else.

A batch job's log (stderr piped to a file) gets one line per finished evaluation (run, sweep)
or per generation (evolve), with the fields the bar shows and no carriage return; ``--quiet``
gives those lines on a terminal too, without the bar. Modes:

    "bar"    a terminal and progress wanted (the default)
    "lines"  stderr is not a terminal, or --quiet
    "off"    show_progress=False (library calls that want silence)

The evolve display has two stages, each with its own label and total: the generations
("evolve", in generations) and the fresh-seed re-evaluation ("reevaluate", in evaluations).
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator

from tqdm import tqdm


def progress_mode(show_progress: bool | str) -> str:
    """``True``: a bar on a terminal, else lines; ``"lines"``: lines (--quiet); ``False``: off."""
    if show_progress == "lines":
        return "lines"
    if not show_progress:
        return "off"
    return "bar" if sys.stderr.isatty() else "lines"


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def clock(seconds: float | None) -> str:
    """H:MM:SS or MM:SS; '?' when unknown."""
    if seconds is None:
        return "?"
    minutes, s = divmod(int(round(seconds)), 60)
    h, m = divmod(minutes, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def time_left(elapsed: float, done: float, total: float) -> float | None:
    return elapsed * (total - done) / done if done > 0 else None


class Progress:
    """Units (training steps) and finished evaluations of a run or a sweep."""

    def __init__(self, total: int, n_tasks: int, desc: str, unit: str, mode: str):
        self.total, self.n_tasks, self.desc, self.unit, self.mode = total, n_tasks, desc, unit, mode
        self.units = self.finished_tasks = 0
        self.started = time.perf_counter()
        self.bar = (tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, mininterval=0.5,
                         dynamic_ncols=True) if mode == "bar" else None)

    def advance(self, k: int = 1) -> None:
        self.units += k
        if self.bar is not None:
            self.bar.update(k)

    def finished(self, task_id: str, ok: bool = True) -> None:
        """One evaluation done: in "lines" mode, its log line."""
        self.finished_tasks += 1
        if self.mode != "lines":
            return
        elapsed = time.perf_counter() - self.started
        log(f"{self.desc}: evaluation {self.finished_tasks}/{self.n_tasks} {'done' if ok else 'FAILED'}"
            f" ({task_id}) | {self.units}/{self.total} {self.unit}s | {self.units / max(elapsed, 1e-9):.1f} "
            f"{self.unit}s/s | elapsed {clock(elapsed)} | left {clock(time_left(elapsed, self.units, self.total))}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@contextlib.contextmanager
def progress(total: int, n_tasks: int, desc: str, *, unit: str = "step",
             show_progress: bool | str = True) -> Iterator[Progress]:
    """A :class:`Progress` for ``n_tasks`` evaluations worth ``total`` units."""
    shown = Progress(total, n_tasks, desc, unit, progress_mode(show_progress))
    try:
        yield shown
    finally:
        shown.close()


# ----------------------------------------------------------------------------- evolve
class SilentDisplay:
    def start(self, total: int, done: int) -> None: ...
    def retotal(self, total: int) -> None: ...
    def evaluating(self, n: int) -> None: ...
    def evaluated(self) -> None: ...
    def generation(self, entry: dict) -> None: ...
    def reevaluating(self, n: int) -> None: ...
    def close(self) -> None: ...

    def warn(self, line: str) -> None:
        print(f"tsearch: warning: {line}", file=sys.stderr)


class LiveDisplay(SilentDisplay):
    """Generations, then re-evaluations. The bar's postfix (or each log line) shows phase,
    generation, best value, front size, hypervolume, evaluations and evaluations per second."""

    stage = "evolve"  # then "reevaluate"

    def __init__(self, metric: str, show_progress: bool | str = True):
        self.metric, self.mode, self.bar, self.info = metric, progress_mode(show_progress), None, {}
        self.n_evals, self.todo, self.done = 0, 0, 0
        self.total = self.generations_done = 0
        self.started = time.perf_counter()

    def start(self, total, done):
        self.total, self.generations_done = total, done
        if self.mode == "bar":
            self.bar = tqdm(total=total, initial=done, desc="evolve", unit="gen", file=sys.stderr,
                            dynamic_ncols=True)

    def retotal(self, total):
        """The control arm is planned (or topped up) once the search has run: every phase counts."""
        self.total = total
        if self.bar is not None:
            self.bar.total = total
            self.bar.refresh()

    def evaluating(self, n):
        self.todo, self.done = n, 0
        self._show()

    def evaluated(self):
        self.done += 1
        self.n_evals += 1
        if self.stage == "reevaluate":
            self._reevaluated()
        else:
            self._show()

    def generation(self, entry):
        best, hv = entry["best"], entry.get("hypervolume")
        self.info = {"phase": entry["phase"], "gen": entry["generation"],
                     f"best {self.metric}": "-" if best is None else f"{best['value']:.3f} (n={best['size']})",
                     "front": entry["front_size"], **({} if hv is None else {"hv": f"{hv:.3f}"})}
        self.generations_done += 1
        if self.bar is not None:
            self.bar.update(1)
            self._show()
        elif self.mode == "lines":
            elapsed = time.perf_counter() - self.started
            fields = " | ".join(f"{k}={v}" for k, v in self.info.items())
            log(f"evolve: generation {self.generations_done}/{self.total} | {fields} | "
                f"evals={entry['evaluations']} cached={entry['cached']} failed={entry['failures']} | "
                f"evals/s={self._rate():.2f} | elapsed {clock(elapsed)}")

    def reevaluating(self, n):
        """The fresh-seed re-evaluation: its own bar (label and total), or a header line."""
        self.stage, self.todo, self.done, self.reevaluation_started = "reevaluate", n, 0, time.perf_counter()
        if self.bar is not None:
            self.bar.close()
            self.bar = tqdm(total=n, desc="reevaluate", unit="eval", file=sys.stderr, dynamic_ncols=True)
        elif self.mode == "lines" and n:
            log(f"reevaluate: {n} evaluations of the front and the random bests with fresh seeds")

    def _reevaluated(self):
        if self.bar is not None:
            self.bar.update(1)
        elif self.mode == "lines":
            elapsed = time.perf_counter() - self.reevaluation_started
            log(f"reevaluate: evaluation {self.done}/{self.todo} done | elapsed {clock(elapsed)} | "
                f"left {clock(time_left(elapsed, self.done, self.todo))}")

    def _rate(self) -> float:
        return self.n_evals / max(time.perf_counter() - self.started, 1e-9)

    def _show(self):
        if self.bar is not None:
            self.bar.set_postfix({**self.info, "evals": f"{self.done}/{self.todo}",
                                  "evals/s": f"{self._rate():.2f}"}, refresh=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()
