"""n*(d) by search instead of a grid: the smallest training-set size n at which the
generalization metric reaches its threshold, found by galloping then bisecting on integers.

A search is a source of tasks (the sweep driver's loop asks it for the next size, evaluates
it, and tells it the outcome). Its state is nothing but the outcomes seen so far, so a killed
run resumes by replaying the recorded probes: no probe is repeated. Pure: no torch, no I/O.

    gallop   n = 1, 2, 4, ... (the last one capped at n_max) until one passes
    bisect   between the largest failing and the smallest passing size, on integers

With a monotone metric and n* in (2^(k-1), 2^k], it takes k + 1 gallop probes and k - 1
bisection probes (2k in all; 1 when n* = 1). An n* not reached by n_max is censored: a lower
bound (n* > n_max), not a value.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class NStarSearch:
    """The search for one (target, d, seed). ``outcomes``: size -> passed the threshold."""

    n_max: int
    outcomes: dict[int, bool] = field(default_factory=dict)

    def __post_init__(self):
        if self.n_max < 1:
            raise ValueError(f"n_max must be >= 1, got {self.n_max}")

    def tell(self, n: int, passed: bool) -> None:
        self.outcomes[int(n)] = bool(passed)

    @property
    def bracket(self) -> tuple[int, int | None]:
        """(lo, hi): the largest failing size below the smallest passing one (0: none failed),
        and the smallest passing size (None: none passed yet)."""
        passing = [n for n, ok in self.outcomes.items() if ok]
        hi = min(passing) if passing else None
        failing = [n for n, ok in self.outcomes.items() if not ok and (hi is None or n < hi)]
        return (max(failing) if failing else 0), hi

    def next_probe(self) -> int | None:
        """The next size to evaluate, or None when the search is over."""
        lo, hi = self.bracket
        if hi is None:
            if lo >= self.n_max:
                return None  # censored: not reached by n_max
            return min(self.n_max, _next_power_of_two(lo))
        if hi - lo <= 1:
            return None
        return (lo + hi) // 2

    @property
    def done(self) -> bool:
        return self.next_probe() is None

    @property
    def censored(self) -> bool:
        """Over without reaching the threshold: n* > n_max."""
        return self.done and self.bracket[1] is None

    @property
    def n_star(self) -> int | None:
        """The answer once over (None if censored or still searching)."""
        lo, hi = self.bracket
        return hi if self.done else None


def _next_power_of_two(n: int) -> int:
    """The gallop's next size after the largest failing size n (0: start at 1)."""
    p = 1
    while p <= n:
        p *= 2
    return p
