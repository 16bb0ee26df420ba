"""The ``tsearch`` command line: click commands only, each in its own module; no logic here.

Every command turns a :class:`tsearch.errors.UserError` into one line on stderr and exit 2.
"""

from __future__ import annotations

import functools
import importlib
import sys

import click

from ..errors import UserError

# command name -> module under tsearch.cli that defines ``command`` (imported lazily so that
# ``tsearch --help`` and config errors answer before torch, ray or shapely load)
COMMANDS = {
    "run": "run",
    "sweep": "sweep",
    "evolve": "evolve",
    "report": "report",
    "validate": "validate",
    "export": "export",
    "configs": "configs",
    "bench": "bench",
}
HELP = {
    "run": "Train one model on one training set and score its samples over training time.",
    "sweep": "Evaluate a grid of random training sets (experiments 1, 2, 4).",
    "evolve": "Search the space of training sets with a genetic algorithm (experiment 3).",
    "report": "Write report.html and report.md for a run folder.",
    "validate": "Check images (an .npz or a folder of PNGs) against a config's target.",
    "export": "Write a run folder's results as a table (CSV, Parquet or JSON lines).",
    "configs": "List the configs shipped with tsearch, print one, or copy one to edit.",
    "bench": "Benchmark the batched engine against the one-model-at-a-time loop.",
}


def user_errors(fn):
    """Decorator: UserError -> ``tsearch: error: ...`` on stderr, exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UserError as exc:
            click.echo(f"tsearch: error: {exc}", err=True)
            sys.exit(2)

    return wrapper


def config_argument(value: str | None):
    """A command's CONFIG: a TOML file, or the name of a packaged config (``exp1``)."""
    from .. import configs

    return None if value is None else configs.resolve(value)


def executor_options(fn):
    """``--executor local|ray`` and ``--address auto|HOST:PORT``: where evaluations run."""
    fn = click.option("--address", metavar="auto|HOST:PORT",
                      help="Ray cluster to join (implies --executor ray); without it Ray starts locally.")(fn)
    return click.option("--executor", "executor_kind", type=click.Choice(["local", "ray"]),
                        help="Where evaluations run (default: the config's [executor] kind).")(fn)


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module = importlib.import_module(f"{__name__}.{COMMANDS[name]}")
        return module.command

    def format_commands(self, ctx, formatter):
        with formatter.section("Commands"):
            formatter.write_dl([(name, HELP[name]) for name in COMMANDS], col_max=12)


@click.group(cls=LazyGroup)
@click.version_option(package_name="tsearch")
def main():
    """tsearch: what does a diffusion model learn from its training set?"""
