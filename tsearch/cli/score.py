"""``tsearch score``: score samples against a training set, or re-score a run folder."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..errors import UserError
from ..runs.pipeline import command_config
from . import user_errors


@click.command(help="Score samples against a training set (CONFIG --train T.npz --samples S.npz: "
                    "one JSON object), or re-score a run folder (DIR: one JSON line per scored step).")
@click.argument("source", type=click.Path())
@click.option("--train", "train", type=click.Path(), help="Training images (.npz with 'images', ±1 or 0/1).")
@click.option("--samples", "samples", type=click.Path(), help="Samples to score (.npz with 'images').")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config key, e.g. --set metrics.symmetries=d4 (repeatable).")
@click.option("--check", is_flag=True,
              help="DIR only: compare with the recorded metrics; exit 1 if any value differs.")
@user_errors
def command(source: str, train: str | None, samples: str | None, overrides: tuple[str, ...],
            check: bool) -> None:
    from ..runs.rescore import compare, rescore_folder, score_files  # torch loads only now

    if Path(source).is_dir():
        if train or samples or overrides:
            raise UserError(f"{source}: a run folder is re-scored with its own config and files; "
                            "--train, --samples and --set are for CONFIG")
        records = list(rescore_folder(source))  # reads only: no lock (a read-only archive, a running search)
        for record in records:
            click.echo(json.dumps(record, sort_keys=True))
        if check:
            differences = compare(source, records)
            for line in differences:
                click.echo(line, err=True)
            click.echo(f"re-scored {len(records)} scored steps: "
                       f"{len(differences) or 'no'} differences from the records", err=True)
            sys.exit(1 if differences else 0)
        return
    if check:
        raise UserError("--check re-scores a run folder; give DIR, not a config")
    if not train or not samples:
        raise UserError(f"{source}: scoring with a config needs --train TRAIN.npz and --samples SAMPLES.npz")
    config = command_config(source, overrides)
    click.echo(json.dumps(score_files(config, train, samples), sort_keys=True))
