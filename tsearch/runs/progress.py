"""A progress bar with an ETA on stderr (tqdm), fed by the engine's progress callback."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def progress_bar(total: int, desc: str, *, unit: str = "step",
                 enabled: bool = True) -> Iterator[Callable[[int], None]]:
    """Yields ``advance(k)``: k more units done. The bar shows rate and time left."""
    from tqdm import tqdm

    with tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, disable=not enabled,
              mininterval=0.5, dynamic_ncols=True) as bar:
        yield lambda k=1: bar.update(k)
