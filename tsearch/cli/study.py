"""``tsearch study RUN_DIR... --out DIR``: pool replicated evolve runs (tsearch.runs.study);
``tsearch study [CONFIG] --replicates R [--out DIR] [--resume DIR]``: run them first, into
one study folder (tsearch.runs.replicates)."""

from __future__ import annotations

import click

from ..errors import UserError
from . import config_argument, executor_options, user_errors


@click.command(help="Pool finished evolve folders of one config run with different run.seed: "
                    "each arm's best set per size over runs, search vs control paired by run. "
                    "With --replicates R: run the R searches of CONFIG (run.seed s .. s+R-1; without "
                    "CONFIG the packaged evolve) into one study folder, then pool them; --resume "
                    "STUDY_DIR continues one after a kill.")
@click.argument("paths", metavar="RUN_DIR... | [CONFIG]", nargs=-1, type=click.Path())
@click.option("--out", type=click.Path(), help="the study folder to create")
@click.option("--replicates", type=int, metavar="R", help="Run R replicated searches of CONFIG (R >= 2).")
@click.option("--resume", type=click.Path(file_okay=False), metavar="STUDY_DIR",
              help="Continue a study made by --replicates: finished replicates kept, the others resumed.")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="With --replicates: override a config key (repeatable).")
@executor_options
@click.option("--quiet", is_flag=True, help="With --replicates: no log lines per generation.")
@click.option("--allow-mixed", is_flag=True, help="Pool runs that are not comparable (unequal arm budgets, "
              "engine.bf16, git commit) anyway; what differs is recorded in study.json and the report.")
@user_errors
def command(paths, out, replicates, resume, overrides, executor_kind, address, quiet, allow_mixed):
    if replicates is not None or resume is not None:
        if len(paths) > 1:
            raise UserError("--replicates and --resume take one CONFIG (or none), not run folders")
        from ..runs.replicates import run_study  # the evolve driver: only once the command runs
        click.echo(run_study(config_argument(paths[0]) if paths else None, overrides, replicates=replicates,
                             out=out, resume=resume, executor_kind=executor_kind, address=address,
                             quiet=quiet))
        return
    if overrides or executor_kind or address:
        raise UserError("--set, --executor and --address go with --replicates (pooling runs nothing)")
    if not paths or out is None:
        raise UserError("give RUN_DIR... --out DIR (pool finished runs) or CONFIG --replicates R")
    from ..runs.study import study  # numpy, scipy, matplotlib: only once the command runs
    click.echo(study(list(paths), out, allow_mixed=allow_mixed))
