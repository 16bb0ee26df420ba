"""``tsearch configs [NAME] [--out FILE]``: the packaged configs, listed, printed or copied."""

from __future__ import annotations

import click

from .. import configs
from ..errors import UserError
from . import user_errors


@click.command(help="List the configs shipped with tsearch; with NAME print it, with --out copy it "
                    "to a file to edit. Every command also takes a packaged config by its name.")
@click.argument("name", required=False)
@click.option("--out", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write NAME to FILE (an existing file is never overwritten).")
@user_errors
def command(name, out):
    if name is None:
        if out is not None:
            raise UserError("--out needs a NAME: tsearch configs NAME --out FILE")
        click.echo(configs.listing())
    elif out is not None:
        click.echo(str(configs.copy(name, out)))
    else:
        click.echo(configs.text(name), nl=False)
