"""``tsearch report RUN_DIR``: (re)write report.html and report.md of a run folder."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from ..report.render import write_live_report, write_report
from ..runs.sweep import write_analysis
from ..store import integrity, lock
from ..store.folder import RunFolder
from ..store.integrity import require_records
from . import user_errors


@click.command(help="Write report.html and report.md for a run folder. Of a search that is still "
                    "running: an in-progress report from what it has recorded so far, written to a "
                    "temporary folder (or --out), without the folder's lock.")
@click.argument("run_dir", metavar="RUN_DIR", type=click.Path())
@click.option("--out", type=click.Path(file_okay=False), help="Where an in-progress report goes "
              "(default: a new temporary folder).")
@user_errors
def command(run_dir, out):
    folder = RunFolder.open(run_dir)
    require_records(folder.path, folder.meta.get("kind"))
    if lock.holder(folder.path) is not None:  # a writer works on it: read, never lock
        target = Path(out) if out else Path(tempfile.mkdtemp(prefix="tsearch-live-report-"))
        target.mkdir(parents=True, exist_ok=True)
        html, md = write_live_report(folder, target)
    else:
        with folder:  # the folder's writer for the time of the report
            folder.hold()
            integrity.check(folder.path)  # a cut record is refused before anything is rewritten
            if folder.meta.get("kind") == "sweep":
                write_analysis(folder)  # the data product the report draws, from the whole record
            html, md = write_report(folder)
    click.echo(f"{html}\n{md}")
