"""``tsearch report RUN_DIR``: (re)write report.html and report.md of a run folder."""

from __future__ import annotations

import click

from ..runs.folder import RunFolder
from ..runs.integrity import require_records
from ..runs.views.report import write_report
from . import user_errors


@click.command(help="Write report.html and report.md for a run folder.")
@click.argument("run_dir", metavar="RUN_DIR", type=click.Path())
@user_errors
def command(run_dir):
    folder = RunFolder.open(run_dir)
    require_records(folder.path, folder.meta.get("kind"))
    html, md = write_report(run_dir)
    click.echo(f"{html}\n{md}")
