"""``tsearch status RUN_DIR [--json]``: where a run folder stands (tsearch.runs.status)."""

from __future__ import annotations

import json

import click

from ..runs.status import render, status
from . import user_errors


@click.command(help="Where a run folder stands: phase, evaluations done / planned, failures, the best "
                    "value so far, which process works on it (or idle), the last record and an ETA. "
                    "Reads only; never waits for or takes the folder's lock.")
@click.argument("run_dir", metavar="RUN_DIR", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of text.")
@user_errors
def command(run_dir, as_json):
    s = status(run_dir)
    click.echo(json.dumps(s, sort_keys=True) if as_json else render(s), nl=as_json)
