"""The smallest config the CLI tests run, as TOML: a 4x4 dot, an MLP of width 16, 6 training
steps, 16 samples. Each test module adds the sections it exercises ([sweep], [search], ...)."""


def tiny_toml(*, seed: int = 5, n: int = 3, n_bootstrap: int = 10) -> str:
    return f"""
[run]
seed = {seed}
n = {n}
[target]
kind = "dots"
side = 4
[model]
kind = "mlp"
width = 16
depth = 1
[train]
steps = 6
batch_size = 4
n_checkpoints = 2
first_checkpoint = 3
[sampler]
n_steps = 6
n_samples = 16
[metrics]
n_bootstrap = {n_bootstrap}
reference_samples = 32
"""


def keep_lines(folder, lines: int) -> None:
    """What a run killed after ``lines`` evaluations leaves: evaluations.jsonl cut back to its
    first ``lines`` lines and record.json claiming exactly those (the writer's claim follows
    each line; a record shorter than its claim is a cut record, refused: tsearch.store.integrity)."""
    import json
    from pathlib import Path

    from tsearch.store import integrity

    path = Path(folder) / "evaluations.jsonl"
    kept = path.read_text().splitlines(keepends=True)[:lines]
    path.write_text("".join(kept))
    scan = integrity.scan(path)
    mark = json.loads((Path(folder) / integrity.MARK).read_text())
    mark[integrity.RECORD] = {"lines": scan.count, "sha256": scan.digests[-1]}
    (Path(folder) / integrity.MARK).write_text(json.dumps(mark))
