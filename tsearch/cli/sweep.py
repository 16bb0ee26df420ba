"""``tsearch sweep CONFIG [--set ...] [--out DIR] [--resume DIR] [--smoke] [--executor local|ray]
[--address auto|HOST:PORT]``."""

from __future__ import annotations

import click

from ..errors import UserError
from ..runs.pipeline import command_config
from ..runs.sweep import dry_run as sweep_dry_run
from ..runs.sweep import run_sweep, sweep_verdicts
from . import executor_options, user_errors


@click.command(help="Evaluate a grid of random training sets (experiments 1, 2, 4). "
                    "CONFIG: a TOML file or a packaged config's name (exp1, exp2, exp4).")
@click.argument("config_path", metavar="CONFIG", required=False, type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config key, e.g. --set train.steps=500 (repeatable).")
@click.option("--out", type=click.Path(file_okay=False), help="Run folder (default: results/NNNNN-sweep-NAME).")
@click.option("--resume", type=click.Path(file_okay=False),
              help="Continue the sweep in this folder; finished evaluations are not recomputed.")
@click.option("--dry-run", is_flag=True,
              help="Print the resolved config (TOML), the number of evaluations and a rough time; run nothing.")
@click.option("--smoke", is_flag=True, help="Apply the config's [sweep.smoke] overrides (a ~1 minute run).")
@click.option("--repair", is_flag=True,
              help="With --resume: a record cut short (full disk, interrupted copy) goes back to the newest "
                   "state it covers and the missing evaluations are computed again.")
@executor_options
@click.option("--quiet", is_flag=True, help="No progress bar: one log line per finished evaluation instead.")
@user_errors
def command(config_path, overrides, out, resume, dry_run, repair, smoke, executor_kind, address, quiet):
    if config_path is None and resume is None:
        raise UserError("give a CONFIG, or --resume DIR")
    if resume is not None and out is not None:
        raise UserError("--out and --resume are exclusive (a resumed sweep writes into its folder)")
    config = command_config(config_path, overrides) if config_path is not None else None
    if repair and resume is None:
        raise UserError("--repair goes with --resume DIR")
    if dry_run:
        if config is None:
            raise UserError("--dry-run needs a CONFIG")
        click.echo(sweep_dry_run(config, source=str(config_path), smoke=smoke,
                                 executor_kind=executor_kind, address=address), nl=False)
        return
    run_dir = run_sweep(config, source=str(config_path or "<resume>"), out=out, resume=resume,
                        smoke=smoke, show_progress="lines" if quiet else True, executor_kind=executor_kind,
                        address=address, repair=repair)
    for line in sweep_verdicts(run_dir):
        click.echo(line)
    click.echo(str(run_dir))
