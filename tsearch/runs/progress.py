"""Progress on stderr (tqdm): a bar with an ETA fed by the engine's progress callback
(run, sweep), and the generation display of a search (evolve)."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator

from tqdm import tqdm


@contextlib.contextmanager
def progress_bar(total: int, desc: str, *, unit: str = "step",
                 enabled: bool = True) -> Iterator[Callable[[int], None]]:
    """Yields ``advance(k)``: k more units done. The bar shows rate and time left."""
    with tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, disable=not enabled,
              mininterval=0.5, dynamic_ncols=True) as bar:
        yield lambda k=1: bar.update(k)


# ----------------------------------------------------------------------------- evolve
class SilentDisplay:
    def start(self, total: int, done: int) -> None: ...
    def evaluating(self, n: int) -> None: ...
    def evaluated(self) -> None: ...
    def generation(self, entry: dict) -> None: ...
    def close(self) -> None: ...

    def warn(self, line: str) -> None:
        print(f"tsearch: warning: {line}", file=sys.stderr)


class LiveDisplay(SilentDisplay):
    """A tqdm bar over generations (ETA) whose postfix shows phase, generation, best value,
    front size, evaluations in this generation and evaluations per second."""

    def __init__(self, metric: str):
        self.metric, self.bar, self.info = metric, None, {}
        self.n_evals, self.started = 0, time.perf_counter()

    def start(self, total, done):
        self.bar = tqdm(total=total, initial=done, desc="evolve", unit="gen", file=sys.stderr,
                        dynamic_ncols=True)

    def evaluating(self, n):
        self.todo, self.done = n, 0
        self._show()

    def evaluated(self):
        self.done += 1
        self.n_evals += 1
        self._show()

    def generation(self, entry):
        best = entry["best"]
        self.info = {"phase": entry["phase"], "gen": entry["generation"],
                     f"best {self.metric}": "-" if best is None else f"{best['value']:.3f} (n={best['size']})",
                     "front": entry["front_size"]}
        self.bar.update(1)
        self._show()

    def _show(self):
        rate = self.n_evals / max(time.perf_counter() - self.started, 1e-9)
        self.bar.set_postfix({**self.info, "evals": f"{getattr(self, 'done', 0)}/{getattr(self, 'todo', 0)}",
                              "evals/s": f"{rate:.2f}"}, refresh=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()
