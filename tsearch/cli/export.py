"""``tsearch export RUN_DIR [--format csv|parquet|jsonl] [--out FILE]``: tsearch.results.export."""

from __future__ import annotations

import click

from ..report.tables import export
from . import user_errors


@click.command(help="Write a run folder's results as one flat table: one row per evaluation and "
                    "scored training step (run kind, phase, generation, n, seed, training-set hash, "
                    "overrides, every metric and its interval). Parquet needs tsearch[results].")
@click.argument("run_dir", metavar="RUN_DIR", type=click.Path())
@click.option("--format", "fmt", default="csv", metavar="csv|parquet|jsonl", show_default=True,
              help="File format.")
@click.option("--out", type=click.Path(dir_okay=False), metavar="FILE",
              help="Where to write (default: RUN_DIR/results.FORMAT).")
@user_errors
def command(run_dir, fmt, out):
    click.echo(str(export(run_dir, fmt, out)))
