"""``tsearch validate CONFIG IMAGES``: one JSON line per image, is it in the target's support?

``tsearch validate CONFIG [IMAGES] --chance``: one JSON object, the validity rate of random
4-connected blobs with the white areas of IMAGES (or of fresh target samples): the chance level
of the validity test (docs/metrics.md, tsearch/metrics/chance.py).
"""

from __future__ import annotations

import json

import click

from ..errors import UserError
from ..imageio import load_images
from ..runs.pipeline import command_config
from ..targets import build_target
from . import user_errors


@click.command(help="Check images (an .npz or a folder of PNGs) against a config's target; "
                    "with --chance, the validity rate of random blobs of the same white areas.")
@click.argument("config", type=click.Path(dir_okay=False))
@click.argument("images", type=click.Path(), required=False)
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config key, e.g. --set target.side=8 (repeatable).")
@click.option("--chance", is_flag=True,
              help="Report the chance level: validity of random blobs with the images' areas.")
@click.option("--blobs", type=click.IntRange(min=1), default=400, show_default=True,
              help="--chance: number of blobs (the images' areas repeated, or target samples').")
@user_errors
def command(config: str, images: str | None, overrides: tuple[str, ...], chance: bool, blobs: int) -> None:
    cfg = command_config(config, overrides)
    target = build_target(cfg.target)
    if images is None and not chance:
        raise UserError("give IMAGES to validate (or --chance for the chance level of the target)")
    loaded = load_images(images) if images is not None else None
    if loaded is not None and loaded.shape[1:] != target.shape:
        raise UserError(f"{images}: images of size {loaded.shape[1]}x{loaded.shape[2]}; "
                        f"the target expects {target.side}x{target.side}")
    if chance:
        from ..engine.score import chance_summary  # here: the engine loads torch
        click.echo(json.dumps(chance_summary(target, loaded, blobs=blobs, seed=cfg.run.seed)))
        return
    validity = target.is_valid(loaded)
    for i, (valid, reason) in enumerate(zip(validity.valid, validity.reason)):
        click.echo(json.dumps({"index": i, "valid": bool(valid), "reason": str(reason)}))
