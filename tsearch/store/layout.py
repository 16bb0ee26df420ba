"""Every file of a run folder, named once: the folder format.

    run.json            provenance (kind, command, git commit, versions, config and its hash,
                        the format below); written last when a folder starts: it commits it
    config.json         the resolved config: the folder's identity, which a resume must match
    config.toml         the same as a file a command takes back (tsearch KIND DIR/config.toml)
    tsearch.lock        who writes the folder (one writer: store.lock)
    evaluations.jsonl   sweep, evolve: one line per evaluation, append-only (store.records)
    errors.jsonl        sweep, evolve: one line per failed evaluation
    record.json         the writer's claim on evaluations.jsonl: lines and chained digest
    outputs.json        evolve: written last, the phases' generations and the claim they rest on
    logbook.jsonl       evolve: one line per generation
    checkpoints/        evolve: ckpt-NNNNNN.json and .npz, the search's state (store.checkpoint)
    pareto.json         evolve: the fronts, the answer per size, the comparisons
    analysis.json       sweep: n*(d), fits and verdicts
    study.json          study: the replicates pooled
    metrics.jsonl       run: one line per scored checkpoint
    summary.json        run: what the run found, written at its end
    error.json          run: why it failed
    train_set.npz       run: the training images
    samples/            the generated images (.npz) per evaluation and step
    sets/, best/        evolve: grids of the fronts' training sets and their samples
    figures/            sweep: the report's figures
    report.html, report.md, *.png   the report (tsearch report DIR rewrites them)

Only tsearch.store opens these files by name; every other layer asks a RunFolder.
"""

from __future__ import annotations

import re

# run.json's "format": the version of everything this module names. A folder of a newer format
# is refused (store.provenance.read_provenance); one made before the key existed has none and
# is format 1: the same files and fields. A change of format raises it and keeps a reader for
# the formats before it.
FORMAT = 1

RUN = "run.json"
CONFIG = "config.json"
CONFIG_TOML = "config.toml"
LOCK = "tsearch.lock"

EVALUATIONS = "evaluations.jsonl"
ERRORS = "errors.jsonl"
RECORD_CLAIM = "record.json"
OUTPUTS = "outputs.json"
LOGBOOK = "logbook.jsonl"
CHECKPOINTS = "checkpoints"
PARETO = "pareto.json"
ANALYSIS = "analysis.json"
STUDY = "study.json"

METRICS = "metrics.jsonl"
SUMMARY = "summary.json"
ERROR = "error.json"
TRAIN_SET = "train_set.npz"

SAMPLES = "samples"
STEPS = f"{SAMPLES}/steps.npz"  # run: the samples of every scored step
SETS = "sets"
BEST = "best"
FIGURES = "figures"

REPORT_HTML = "report.html"
REPORT_MD = "report.md"
# the report's figures
TRAIN_SET_GRID = "train_set.png"
CURVES_PLOT = "curves.png"
PARETO_PLOT = "pareto.png"
PROGRESS_PLOT = "progress.png"
ANSWER_PLOT = "answer.png"
STUDY_PLOT = "study.png"
N_STAR_PLOT = f"{FIGURES}/n_star.png"
N_STAR_BRACKETS_PLOT = f"{FIGURES}/n_star_brackets.png"
N_STAR_SHARE_PLOT = f"{FIGURES}/n_star_share.png"
TIMESCALES_PLOT = f"{FIGURES}/timescales.png"


def checkpoint_stem(step: int) -> str:
    """A search checkpoint, inside CHECKPOINTS: ckpt-NNNNNN.json (its state) and .npz (its genomes)."""
    return f"ckpt-{step:06d}"


def checkpoint(step: int, suffix: str) -> str:
    return f"{checkpoint_stem(step)}.{suffix}"


def checkpoint_glob(suffix: str) -> str:
    return f"ckpt-*.{suffix}"


CHECKPOINT_FILE = re.compile(r"^ckpt-(\d{6,})\.(json|npz)$")  # a checkpoint's name: (step, suffix)


# files named after what they hold (stems are given without their suffix where the writer
# adds it: RunFolder.record writes STEM.npz, write_grid the .png it is given)
def sweep_point(index: int, what: str) -> str:
    """A sweep point's images: samples/pNNNNN_{train,best,last,steps}."""
    return f"{SAMPLES}/p{index:05d}_{what}"


def run_step_grid(step: int) -> str:
    """A run's samples at one scored step, as a grid."""
    return f"{SAMPLES}/step_{step:06d}.png"


def evolve_samples(genome_hash: str, seed_index: int = 0, *, steps: bool = False) -> str:
    """An evolve set's samples at its selected step (or, ``steps``, at every scored step) of
    training ``seed_index``."""
    return f"{SAMPLES}/{genome_hash[:16]}{f'-s{seed_index}' if seed_index else ''}{'_steps' if steps else ''}"


def set_grid(n: int, which: str, *, samples: bool = False) -> str:
    """The report's picture of the best or worst set of size n (or of its samples)."""
    return f"{SETS}/n{n:03d}-{which}{'-samples' if samples else ''}.png"


def front_member(size: int, genome_hash: str) -> str:
    """A front member's files: best/STEM-train.png, -train.npz, -samples.png."""
    return f"{BEST}/n{size:03d}-{genome_hash[:12]}"


def replicate(seed: int) -> str:
    """A study's replicate: an evolve folder inside the study folder."""
    return f"replicates/seed-{seed:04d}"


def figure(name: str) -> str:
    """A sweep report's figure."""
    return f"{FIGURES}/{name}.png"
