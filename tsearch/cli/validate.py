"""``tsearch validate CONFIG IMAGES``: one JSON line per image, is it in the target's support?"""

from __future__ import annotations

import json

import click

from ..config import load_config
from ..errors import UserError
from ..imageio import load_images
from ..targets import build_target
from . import config_argument, user_errors


@click.command(help="Check images (an .npz or a folder of PNGs) against a config's target.")
@click.argument("config", type=click.Path(dir_okay=False))
@click.argument("images", type=click.Path())
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config key, e.g. --set target.side=8 (repeatable).")
@user_errors
def command(config: str, images: str, overrides: tuple[str, ...]) -> None:
    target = build_target(load_config(config_argument(config), overrides).target)
    loaded = load_images(images)
    if loaded.shape[1:] != target.shape:
        raise UserError(f"{images}: images of size {loaded.shape[1]}x{loaded.shape[2]}; "
                        f"the target expects {target.side}x{target.side}")
    validity = target.is_valid(loaded)
    for i, (valid, reason) in enumerate(zip(validity.valid, validity.reason)):
        click.echo(json.dumps({"index": i, "valid": bool(valid), "reason": str(reason)}))
