"""``tsearch study RUN_DIR... --out DIR``: pool replicated evolve runs (tsearch.runs.study)."""

from __future__ import annotations

import click

from . import user_errors


@click.command(help="Pool finished evolve folders of one config run with different run.seed: "
                    "each arm's best set per size over runs, search vs control paired by run.")
@click.argument("run_dirs", metavar="RUN_DIR...", nargs=-1, required=True, type=click.Path())
@click.option("--out", required=True, type=click.Path(), help="the study folder to create")
@click.option("--allow-mixed", is_flag=True, help="Pool runs that are not comparable (unequal arm budgets, "
              "engine.bf16, git commit) anyway; what differs is recorded in study.json and the report.")
@user_errors
def command(run_dirs, out, allow_mixed):
    from ..runs.study import study  # numpy, scipy, matplotlib: only once the command runs
    click.echo(study(list(run_dirs), out, allow_mixed=allow_mixed))
