"""``tsearch evolve [CONFIG] [--out DIR] [--resume RUN_DIR] [--set ...] [--executor local|ray]
[--address auto|HOST:PORT]``; with no CONFIG it runs the packaged config ``evolve``."""

from __future__ import annotations

import click

from ..errors import UserError
from ..runs.evolve import dry_run as evolve_dry_run
from ..runs.evolve import evolve
from . import config_argument, executor_options, user_errors


@click.command(help="Search the space of training sets with a genetic algorithm (experiment 3). "
                    "CONFIG: a TOML file or a packaged config's name; without it, the packaged evolve config.")
@click.argument("config_path", metavar="[CONFIG]", required=False, type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config key, e.g. --set search.generations=10 (repeatable).")
@click.option("--out", type=click.Path(file_okay=False), help="Run folder (default: results/NNNNN-evolve-NAME).")
@click.option("--resume", type=click.Path(file_okay=False), metavar="RUN_DIR",
              help="Continue the search in this folder from its newest valid checkpoint.")
@click.option("--dry-run", is_flag=True,
              help="Print the resolved config (TOML), the number of evaluations and a rough time; run nothing.")
@click.option("--repair", is_flag=True,
              help="With --resume: a record cut short (full disk, interrupted copy) goes back to the newest "
                   "state it covers and the missing evaluations are computed again.")
@executor_options
@click.option("--quiet", is_flag=True, help="No progress bar: one log line per generation instead.")
@user_errors
def command(config_path, overrides, out, resume, dry_run, repair, executor_kind, address, quiet):
    if repair and resume is None:
        raise UserError("--repair goes with --resume DIR")
    if dry_run:
        if resume is not None:
            raise UserError("--dry-run and --resume are exclusive")
        click.echo(evolve_dry_run(config_argument(config_path), overrides, executor_kind=executor_kind,
                                  address=address), nl=False)
        return
    run_dir = evolve(config_argument(config_path), overrides, out=out, resume=resume, executor_kind=executor_kind,
                     address=address, show_progress="lines" if quiet else True, repair=repair)
    click.echo(str(run_dir))
