"""``tsearch run CONFIG [--set key=value ...] [--out DIR] [--dry-run] [--executor local|ray]
[--address auto|HOST:PORT]``."""

from __future__ import annotations

import click

from ..runs.estimate import dry_run_text, estimate_run
from ..runs.pipeline import command_config
from ..runs.run import run_single
from . import executor_options, user_errors


@click.command(help="Train one model on one training set and score its samples over training time. "
                    "CONFIG: a TOML file or a packaged config's name (tsearch configs).")
@click.argument("config_path", metavar="CONFIG", type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config key, e.g. --set train.steps=500 (repeatable).")
@click.option("--out", type=click.Path(file_okay=False), help="Run folder (default: results/NNNNN-run-NAME).")
@click.option("--dry-run", is_flag=True, help="Print the resolved config (TOML) and a rough time; run nothing.")
@executor_options
@click.option("--quiet", is_flag=True, help="No progress bar: one log line per finished evaluation instead.")
@user_errors
def command(config_path, overrides, out, dry_run, executor_kind, address, quiet):
    config = command_config(config_path, overrides, executor_kind=executor_kind, address=address)
    if dry_run:
        click.echo(dry_run_text("run", config, estimate_run(config)), nl=False)
        return
    run_dir = run_single(config, out=out, show_progress="lines" if quiet else True)
    click.echo(str(run_dir))
