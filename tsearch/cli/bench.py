"""``tsearch bench [--device D] [--tasks P] [--workload reference|cpu|evolve]``: one JSON line per path.

``--workload evolve``: the evaluations of a search config (default: the packaged evolve config), serial
against parallel local workers, without and with stopping at memorization
(tsearch.executors.bench)."""

from __future__ import annotations

import json

import click

from ..config import EngineConfig
from . import user_errors


@click.command(help="Benchmark the batched engine against the one-model-at-a-time loop, or "
                    "(--workload evolve) serial against parallel workers on a search's evaluations.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--tasks", "n_tasks", type=click.IntRange(min=1), default=None,
              help="Tasks (training sets) per path [default: the workload's: reference 128, cpu 4, "
                   "evolve 24].")
@click.option("--loop-tasks", type=click.IntRange(min=1), default=None,
              help="Tasks of the loop path (a rate: fewer suffice) [default: 4].")
@click.option("--workload", type=click.Choice(["reference", "cpu", "evolve"]), default=None,
              help="Default: cpu on a CPU, reference on a GPU.")
@click.option("--config", "config_path", default=None,
              help="evolve: the search config (a TOML file or a packaged config's name) "
                   "[default: the packaged evolve config].")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="evolve: override a config value (repeatable).")
@click.option("--workers", type=click.IntRange(min=0), default=0, show_default=True,
              help="evolve: workers of the parallel paths (0: every core).")
@click.option("--form", type=click.Choice(["auto", "vmap", "loop"]), default="auto", show_default=True,
              help="Form of the batched path.")
@click.option("--chunk-size", type=click.IntRange(min=0), default=0, show_default=True,
              help="Tasks trained together (0: from device memory).")
@click.option("--bf16", type=click.Choice(["auto", "on", "off", "cuda", "native"]), default="auto",
              show_default=True, help="bf16 autocast (engine.bf16).")
@click.option("--compile", "compile_", type=click.Choice(["auto", "on", "off"]), default="auto",
              show_default=True)
@click.option("--threads", type=click.IntRange(min=0), default=0, show_default=True,
              help="torch intra-op threads (0: torch's default).")
@user_errors
def command(device, n_tasks, loop_tasks, workload, config_path, overrides, workers, form, chunk_size,
            bf16, compile_, threads):
    if workload == "evolve":
        return evolve_bench(config_path, overrides, n_tasks or 24, workers)
    # the engine loads torch: only once the command runs, so `tsearch --help` stays quick
    from ..engine.bench import run_bench
    from ..engine.device import resolve_device

    resolved = resolve_device(device)  # a UserError if cuda is asked for and absent
    workload = workload or ("cpu" if resolved.type == "cpu" else "reference")
    engine = EngineConfig(form=form, chunk_size=chunk_size, bf16=bf16, compile=compile_,
                          threads=threads)
    for record in run_bench(workload, device=resolved.type, n_tasks=n_tasks or 0,
                            loop_tasks=loop_tasks or 0, engine=engine):
        click.echo(json.dumps({"workload": workload, **record}))


def evolve_bench(config_path: str | None, overrides, n_tasks: int, workers: int) -> None:
    from .. import configs
    from ..config import load_config
    from ..executors.bench import run_evolve_bench
    from ..runs.evolve_state import default_config_path

    path = configs.resolve(config_path) if config_path else default_config_path()
    config = load_config(path, overrides)
    for record in run_evolve_bench(config, n_tasks=n_tasks, workers=workers):
        click.echo(json.dumps({"workload": "evolve", "config": str(path), **record}))
