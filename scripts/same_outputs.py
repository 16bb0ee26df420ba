"""Do two checkouts of tsearch produce the same run folders? A refactor's before/after check.

    python scripts/same_outputs.py make OUT            # small run, sweep (bisection), evolve into OUT
    python scripts/same_outputs.py compare OLD NEW     # every data product, field by field

``make`` runs the checkout it is started from (``python -m tsearch`` from the current
directory's import path). ``compare`` normalizes what is not a result: wall clock, memory,
batching, the git commit and the time a line was appended, then the checksums over those lines.
Images (PNG) are compared by their pixels; reports (HTML, Markdown) are not compared, their
wall-time lines differ by construction.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

RUN = """
[run]
seed = 3
n = 4
[target]
kind = "dots"
side = 4
[model]
kind = "mlp"
width = 16
depth = 1
[train]
steps = 12
batch_size = 4
n_checkpoints = 2
first_checkpoint = 4
[sampler]
n_steps = 6
n_samples = 32
[metrics]
n_bootstrap = 10
reference_samples = 32
"""
SWEEP = RUN.replace("n = 4", "n = 4\ndistinct = true") + """
[sweep]
search = "bisect"
n_max = 35
threshold = 0.5
generalization_metric = "coverage_unseen"
[sweep.grid]
"target.side" = [4, 5, 6]
"run.seed" = [0, 1]
"""
EVOLVE = RUN.replace('kind = "dots"\nside = 4', 'kind = "polygons"\nside = 8\nmax_vertices = 4\nmin_area = 4.0') + """
[search]
strategy = "nsga2"
generations = 2
population = 4
n_min = 1
n_max = 3
size_grid = [1, 2, 3]
baseline_repeats = 1
reevaluate_seeds = 2
"""
COMMANDS = {"run": RUN, "sweep": SWEEP, "evolve": EVOLVE}

# how a line ran, not what it found (tests/test_robust.py's VOLATILE, plus the clock and the commit)
VOLATILE = {"timings", "peak_memory_mb", "device", "chunk_size", "form", "timing", "appended_at", "git",
            "git_commit", "commit", "started", "finished", "created", "wall_s", "seconds", "evals_per_s",
            "sha256", "host", "hostname", "python", "torch", "platform", "command", "elapsed_s", "pid",
            "written_at", "time", "cpu_s", "versions", "argv", "at"}


def make(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=False)
    for command, text in COMMANDS.items():
        (out / f"{command}.toml").write_text(text)
        done = subprocess.run([sys.executable, "-m", "tsearch", command, str(out / f"{command}.toml"),
                               "--out", str(out / command)], capture_output=True, text=True)
        print(f"{command}: exit {done.returncode}", file=sys.stderr)
        if done.returncode:
            sys.exit(done.stderr)


def strip(value):
    if isinstance(value, dict):
        return {k: strip(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [strip(v) for v in value]
    return value


def content(path: Path):
    """What a file says, without what differs between two runs of the same checkout."""
    if path.suffix == ".json":
        text = path.read_text()
        if path.parent.name == "checkpoints":  # a checksum line, then the state it covers
            text = text.partition("\n")[2]
        return strip(json.loads(text))
    if path.suffix == ".jsonl":
        return sorted(json.dumps(strip(json.loads(line)), sort_keys=True) for line in path.read_text().splitlines())
    if path.suffix == ".npz":
        with np.load(path) as z:
            return {k: hashlib.sha256(np.ascontiguousarray(z[k]).tobytes()).hexdigest() for k in z.files}
    if path.suffix == ".png":
        from PIL import Image
        return hashlib.sha256(np.asarray(Image.open(path)).tobytes()).hexdigest()
    if path.suffix in {".html", ".md", ".toml", ".lock"}:
        return None  # reports carry wall times; the config TOML is the input
    return hashlib.sha256(path.read_bytes()).hexdigest()


def compare(old: Path, new: Path) -> int:
    files = lambda root: {p.relative_to(root) for p in root.rglob("*") if p.is_file()}  # noqa: E731
    a, b = files(old), files(new)
    problems = [f"only in {old}: {p}" for p in sorted(a - b)] + [f"only in {new}: {p}" for p in sorted(b - a)]
    same = 0
    for rel in sorted(a & b):
        if content(old / rel) == content(new / rel):
            same += 1
        else:
            problems.append(f"differs: {rel}")
    print("\n".join(problems) or f"identical: {same} files (reports and TOML inputs not compared)")
    return 1 if problems else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["make"] and len(sys.argv) == 3:
        make(Path(sys.argv[2]))
    elif sys.argv[1:2] == ["compare"] and len(sys.argv) == 4:
        sys.exit(compare(Path(sys.argv[2]), Path(sys.argv[3])))
    else:
        sys.exit(__doc__)
