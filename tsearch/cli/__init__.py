"""The ``tsearch`` command line: click commands only, each in its own module; no logic here.

Every command turns a :class:`tsearch.errors.UserError` (and a usage mistake, and a file of a
run folder that is not what it must be) into one line on stderr and exit 2. A fault during a
run (disk full, permission lost, Ctrl-C) is one line too, naming the ``--resume`` command that
continues the run: exit 1 (130 for Ctrl-C). SIGTERM and SIGHUP (a batch scheduler's time limit,
``scancel``, a closed terminal) are handled as Ctrl-C is: the same line, the folder's lock
released, exit 128 + the signal's number (143 for SIGTERM), as shells and SLURM report it.
"""

from __future__ import annotations

import errno
import functools
import importlib
import signal
import sys
import threading

import click

from ..errors import UserError

# OSErrors that are faults of the machine, not bugs: what each means, in words
FAULTS = {errno.ENOSPC: "no space left on the disk", errno.EDQUOT: "disk quota exceeded",
          errno.EFBIG: "a file reached the size limit", errno.EACCES: "permission denied",
          errno.EPERM: "operation not permitted", errno.EROFS: "the file system is read-only",
          errno.EIO: "input/output error"}
RESUMABLE = ("sweep", "evolve")  # commands with --resume

# command name -> module under tsearch.cli that defines ``command`` (imported lazily so that
# ``tsearch --help`` and config errors answer before torch, ray or shapely load)
COMMANDS = {
    "run": "run",
    "sweep": "sweep",
    "evolve": "evolve",
    "report": "report",
    "validate": "validate",
    "score": "score",
    "export": "export",
    "status": "status",
    "configs": "configs",
    "bench": "bench",
    "study": "study",
}
HELP = {
    "run": "Train one model on one training set and score its samples over training time.",
    "sweep": "Evaluate a grid of random training sets (experiments 1, 2, 4).",
    "evolve": "Search the space of training sets with a genetic algorithm (experiment 3).",
    "report": "Write report.html and report.md for a run folder.",
    "study": "Pool replicated evolve runs (different run.seed), or run R of them (--replicates): "
             "search vs control over runs.",
    "validate": "Check images (an .npz or a folder of PNGs) against a config's target.",
    "score": "Score samples against a training set, or re-score a run folder's saved samples.",
    "export": "Write a run folder's results as a table (CSV, Parquet or JSON lines).",
    "status": "Where a run folder stands: phase, evaluations done, best so far, lock holder, ETA.",
    "configs": "List the configs shipped with tsearch, print one, or copy one to edit.",
    "bench": "Benchmark the batched engine against the one-model-at-a-time loop.",
}


STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class Terminated(KeyboardInterrupt):
    """A stop signal, raised where Ctrl-C's KeyboardInterrupt would be: every clean-up a
    Ctrl-C gets (workers stopped, lock released, records whole) runs for it too."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _raise_terminated(signum, frame):
    raise Terminated(signum)


def interrupted(exc: BaseException | None) -> tuple[str, int]:
    """(what stopped the command, its exit code): Ctrl-C 130, a stop signal 128 + its number."""
    if isinstance(exc, Terminated):
        return f"stopped by {signal.Signals(exc.signum).name}", 128 + exc.signum
    return "interrupted", 130


def fail(message: str, code: int):
    click.echo(f"tsearch: error: {message}", err=True)
    sys.exit(code)


def user_errors(fn):
    """Decorator: UserError -> ``tsearch: error: ...`` on stderr, exit code 2; a fault during a
    run -> one line naming the command that continues it."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UserError as exc:  # RunFolder turns tsearch.atomic's FolderError into one
            fail(str(exc), 2)
        except OSError as exc:
            if exc.errno not in FAULTS:
                raise  # anything else is a bug: its traceback is what a fix needs
            where = f" ({exc.filename})" if exc.filename else ""
            fail(f"{FAULTS[exc.errno]}{where}; {how_to_continue()}", 1)
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM / SIGHUP (Terminated)
            what, code = interrupted(exc)
            fail(f"{what}; {how_to_continue()}", code)

    return wrapper


def how_to_continue() -> str:
    """The command that continues the interrupted run, or what to do when there is none."""
    from ..store.folder import ACTIVE  # numpy and the run code: only once a run has started

    command = click.get_current_context().info_name
    if not ACTIVE:
        return "no run folder was written"
    folder = ACTIVE[-1]
    if command in RESUMABLE:
        return f"continue with: tsearch {command} --resume {folder}"
    return f"{folder} is incomplete: delete it and run the command again"


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
    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """click's main, with its usage mistakes as one ``tsearch: error:`` line (exit 2)."""
        previous = {}
        if threading.current_thread() is threading.main_thread():  # signal handlers live there
            previous = {sig: signal.signal(sig, _raise_terminated) for sig in STOP_SIGNALS}
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:  # plain `tsearch`: the help it asked for
            exc.show()
            code = exc.exit_code
        except click.UsageError as exc:
            path = ["tsearch", *exc.ctx.command_path.split()[1:]] if exc.ctx is not None else ["tsearch"]
            hint = f" (see `{' '.join(path)} --help`)"
            if not standalone_mode:
                raise
            fail(f"{exc.format_message()}{hint}", 2)
        except click.ClickException as exc:
            if not standalone_mode:
                raise
            fail(exc.format_message(), exc.exit_code)
        except click.exceptions.Abort as exc:  # Ctrl-C before a command started: nothing to continue
            if not standalone_mode:
                raise
            fail(*interrupted(exc.__cause__))
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if standalone_mode:
            sys.exit(code if isinstance(code, int) else 0)
        return code

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
