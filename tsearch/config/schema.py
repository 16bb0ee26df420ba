"""Every table a tsearch config may hold, as frozen dataclasses.

A TOML key, a dataclass field and a ``--set`` path are spelled the same way:
``[train] steps = 2000`` is ``Config.train.steps`` is ``--set train.steps=2000``.
Polymorphic tables (``[target]``, ``[model]``) pick their dataclass from ``kind``.
Range checks live in ``__post_init__`` and raise :class:`FieldError` naming the
field; the loader prefixes the file and the table.

Each kind is registered in its seam (tsearch.registry) by a decorator naming its implementation;
the loader and the builders read kinds, metric names and operator names from there. Checks that
span tables (a score model's minimum side, array sizes) are in :func:`check_across_tables`.

Limits (see "limits" below; each error states its estimate): float fields finite; a whole float
(1e9) stands for an integer; train.steps <= 10^7; sampler n_steps, langevin_steps <= 10^5; one
evaluation's float32 arrays (n_samples, batch_size, reference_samples, run.n images of side^2)
<= 4 GiB each; training-set sizes <= 10^6; a sweep <= 10^6 grid points; score networks need
side >= 4; polygons.min_area <= 0.3 side^2.

This module imports nothing heavy: configs load (and fail) before torch starts.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields
from typing import Literal

from ..registry import GOAL_METRICS, METRICS, OPERATORS, Seam, UnknownName, suggestion


class FieldError(ValueError):
    """A value out of range; ``key`` is the field name inside its table."""

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


def check(condition: bool, key: str, message: str) -> None:
    if not condition:
        raise FieldError(key, message)


def check_range(value: int | float, lo: int | float, hi: int | float, key: str) -> None:
    check(lo <= value <= hi, key, f"must be in [{lo:,}, {hi:,}]")


def check_name(names, name: object, key: str) -> None:
    """``names`` (a Seam or Names) knows ``name``, else a FieldError with "did you mean"."""
    try:
        names.kind(name) if isinstance(names, Seam) else names.check(name)
    except UnknownName as exc:
        raise FieldError(key, str(exc)) from None


def check_goal_metric(name: object, key: str) -> None:
    """A metric that grows with generalization (a fitness, a threshold's metric)."""
    check_name(METRICS, name, key)
    check(name in GOAL_METRICS, key, f"{name!r} measures memorization; choose one of "
          f"{', '.join(GOAL_METRICS)}")


# ----------------------------------------------------------------------------- limits
# Sizes beyond these would not fit one machine or one lifetime; each error states the estimate.
MAX_TRAIN_STEPS = 10_000_000  # ~10 days at CPU_STEPS_PER_S
CPU_STEPS_PER_S = 11  # one small UNet on CPU (docs/benchmarks.md: 2,000 steps at ~11 steps/s)
MAX_SAMPLER_STEPS = 100_000
MAX_BOOTSTRAP = 100_000
MAX_ARRAY_GIB = 4.0  # one evaluation's float32 arrays (samples, training batch, reference set)
MAX_TRAINING_SET = 1_000_000  # run.n, search sizes
MAX_SIZE_GRID = 256  # search.size_grid entries: each costs a baseline and a re-evaluation
MAX_NAME_BYTES = 200  # run.name: part of a folder name (255 bytes on most file systems)
MAX_GRID_POINTS = 1_000_000  # a sweep's evaluations
MAX_WIDTH = 8192  # a network's widths, channels, embedding dims (an 8192-wide MLP layer: 256 MiB)
MAX_DEPTH = 256  # a network's blocks or layers
MAX_SEED = 2**63 - 1  # seeds are stored as int64 (packed samples) and fed to numpy and torch
MAX_COUNT = 100_000  # generations, population, chunk sizes, checkpoints kept, repeats
MAX_THREADS = 1024
MIN_NETWORK_SIDE = 4  # smallest side every network is tested at; the polygon encoder pools to 4 x 4
# Largest polygons.min_area, as a fraction of side^2: the sampler's drawings reach it in >= 6 % of
# draws for every max_vertices at sides 4..32 (measured: triangles 6 % at 0.3, 2 % at 0.4), enough
# for 100 rounds of draws to fill a reference set of 4096.
MAX_POLYGON_AREA_FRACTION = 0.3


def _duration(seconds: float) -> str:
    for unit, size in (("years", 365.25 * 86400), ("days", 86400), ("hours", 3600)):
        if seconds >= size:
            return f"{seconds / size:,.0f} {unit}"
    return f"{seconds:,.0f} s"


def _gib(n_floats: float) -> float:
    return 4 * n_floats / 2**30


TARGETS = Seam("target")
MODELS = Seam("model")  # role "network": trained score networks; "oracle": tsearch.oracles
PROCESSES = Seam("diffusion")
SAMPLERS = Seam("sampler")
EXECUTORS = Seam("executor")


# ----------------------------------------------------------------------------- targets
@TARGETS.register("tsearch.targets.dots:DotsTarget")
@dataclass(frozen=True)
class DotsConfig:
    """Exactly ``k`` white pixels, no two 8-adjacent (k = 1: dataset 1 of docs/research.md)."""

    kind: Literal["dots"] = "dots"
    side: int = 8
    k: int | tuple[int, int] = 1  # fixed, or an inclusive range [lo, hi]

    def __post_init__(self):
        check(2 <= self.side <= 256, "side", "must be in [2, 256]")
        lo, hi = (self.k, self.k) if isinstance(self.k, int) else self.k
        check(1 <= lo <= hi, "k", "must be >= 1 (a range must be [lo, hi] with lo <= hi)")
        check(hi <= ((self.side + 1) // 2) ** 2, "k", "too many dots for this side")


@TARGETS.register("tsearch.targets.linear_code:LinearCodeTarget")
@dataclass(frozen=True)
class LinearCodeConfig:
    """Images ``G u mod 2`` of a random binary code; support size 2^m, m = round(rate d)."""

    kind: Literal["linear_code"] = "linear_code"
    side: int = 6
    rate: float = 0.25
    code_seed: int = 0  # the generator matrix G is drawn from this seed alone

    def __post_init__(self):
        check(2 <= self.side <= 64, "side", "must be in [2, 64]")
        check(0.0 < self.rate <= 1.0, "rate", "must be in (0, 1]")
        check(round(self.rate * self.side**2) >= 1, "rate", "gives m = 0 message bits")
        check_range(self.code_seed, 0, MAX_SEED, "code_seed")


@TARGETS.register("tsearch.targets.bernoulli:BernoulliTarget")
@dataclass(frozen=True)
class BernoulliConfig:
    """Control target of experiment 1: iid pixels, white with probability ``p``."""

    kind: Literal["bernoulli"] = "bernoulli"
    side: int = 6
    p: float = 0.2

    def __post_init__(self):
        check(2 <= self.side <= 256, "side", "must be in [2, 256]")
        check(0.0 < self.p < 1.0, "p", "must be in (0, 1)")


@TARGETS.register("tsearch.targets.polygons:PolygonsTarget")
@dataclass(frozen=True)
class PolygonsConfig:
    """Simple polygons with 3..max_vertices vertices, rasterized by pixel centres."""

    kind: Literal["polygons"] = "polygons"
    side: int = 16
    max_vertices: int = 6
    min_area: float = 6.0  # in pixels
    convex: bool = False
    tolerance: int = 0  # pixels a valid image may differ from an exact rasterization

    def __post_init__(self):
        check(4 <= self.side <= 256, "side", "must be in [4, 256]")
        check(3 <= self.max_vertices <= 32, "max_vertices", "must be in [3, 32]")
        largest = MAX_POLYGON_AREA_FRACTION * self.side**2
        check(0.0 <= self.min_area <= largest, "min_area",
              f"must be in [0, {MAX_POLYGON_AREA_FRACTION} * side^2 = {largest:g}]: larger polygons are "
              "too rare among the sampler's drawings")
        check_range(self.tolerance, 0, self.side**2, "tolerance")


TargetConfig = DotsConfig | LinearCodeConfig | BernoulliConfig | PolygonsConfig


# A key added after run folders were written: at its default it is left out of config.json and
# of every hash (tsearch.config.config_to_dict), so a folder written before the key existed is
# the same run today and resumes; set to another value it is written like any key.
ADDED = {"omit_at_default": True}


# ----------------------------------------------------------------------------- models
# What a network outputs (tsearch.diffusion.parameterization): the noise, or the clean image.
# On binary images "x0" memorizes far faster: an MLP copies its 63 codewords of a linear code
# (d = 64) in 5,000 steps (copy 0.99) where "eps" copies half (0.52; docs/experiments.md, exp. 1).
PREDICTIONS = ("eps", "x0")


def check_predicts(predicts: str) -> None:
    check(predicts in PREDICTIONS, "predicts", f"must be one of {', '.join(PREDICTIONS)}")


def check_time_dim(time_dim: int) -> None:
    check(2 <= time_dim <= MAX_WIDTH and time_dim % 2 == 0, "time_dim", f"must be even, in [2, {MAX_WIDTH:,}]")


@MODELS.register("tsearch.models.mlp:MLPScore", context=("side",), role="network")
@dataclass(frozen=True)
class MLPConfig:
    """Residual MLP on the flattened image (no locality); predicts eps (or x0)."""

    kind: Literal["mlp"] = "mlp"
    width: int = 192
    depth: int = 3  # residual blocks
    time_dim: int = 32  # noise-level embedding width
    predicts: str = field(default="eps", metadata=ADDED)  # or "x0"

    def __post_init__(self):
        check_predicts(self.predicts)
        check_range(self.width, 1, MAX_WIDTH, "width")
        check_range(self.depth, 1, MAX_DEPTH, "depth")
        check_time_dim(self.time_dim)


@MODELS.register("tsearch.models.cnn:CNNScore", context=("side",), role="network")
@dataclass(frozen=True)
class CNNConfig:
    """Plain convolutions; receptive field = 1 + depth * (kernel_size - 1); predicts eps (or x0)."""

    kind: Literal["cnn"] = "cnn"
    channels: int = 64
    depth: int = 6  # k x k convolutions in the chain
    kernel_size: int = 3
    groups: int = 8  # GroupNorm groups
    time_dim: int = 32
    predicts: str = field(default="eps", metadata=ADDED)  # or "x0"

    def __post_init__(self):
        check_predicts(self.predicts)
        check_range(self.channels, 1, MAX_WIDTH, "channels")
        check_range(self.depth, 1, MAX_DEPTH, "depth")
        check(1 <= self.kernel_size <= 31 and self.kernel_size % 2 == 1, "kernel_size", "must be odd, in [1, 31]")
        check(self.groups >= 1 and self.channels % self.groups == 0, "groups",
              "must be >= 1 and divide channels")
        check_time_dim(self.time_dim)


@MODELS.register("tsearch.models.unet:UNetScore", context=("side",), role="network")
@dataclass(frozen=True)
class UNetConfig:
    """Small UNet: one resolution per ``channels`` entry, skip connections; predicts eps (or x0)."""

    kind: Literal["unet"] = "unet"
    channels: tuple[int, ...] = (24, 32, 32)  # one entry per resolution (~160k parameters)
    blocks_per_level: int = 1
    groups: int = 8  # GroupNorm groups
    time_dim: int = 48
    predicts: str = field(default="eps", metadata=ADDED)  # or "x0"

    def __post_init__(self):
        check_predicts(self.predicts)
        check(1 <= len(self.channels) <= 4, "channels", "needs 1 to 4 resolutions")
        check(self.groups >= 1, "groups", "must be >= 1")
        check(all(c >= 1 and c % self.groups == 0 for c in self.channels), "channels",
              "every entry must be divisible by groups")
        check(max(self.channels) <= MAX_WIDTH, "channels", f"entries must be <= {MAX_WIDTH:,}")
        check_range(self.blocks_per_level, 1, MAX_DEPTH, "blocks_per_level")
        check_time_dim(self.time_dim)


@MODELS.register("tsearch.models.transformer:TransformerScore", context=("side",), role="network")
@dataclass(frozen=True)
class TransformerConfig:
    """Patch transformer with adaLN-Zero noise conditioning (DiT); predicts eps (or x0)."""

    kind: Literal["transformer"] = "transformer"
    patch: int = 2
    width: int = 64
    depth: int = 4
    heads: int = 4
    mlp_ratio: int = 2
    time_dim: int = 32
    predicts: str = field(default="eps", metadata=ADDED)  # or "x0"

    def __post_init__(self):
        check_predicts(self.predicts)
        check_range(self.patch, 1, 256, "patch")
        check_range(self.width, 1, MAX_WIDTH, "width")
        check_range(self.depth, 1, MAX_DEPTH, "depth")
        check(self.heads >= 1 and self.width % self.heads == 0, "width", "must be divisible by heads")
        check_range(self.mlp_ratio, 1, 64, "mlp_ratio")
        check_time_dim(self.time_dim)


@MODELS.register("tsearch.models.polygon:PolygonScore", context=("side",), role="network")
@dataclass(frozen=True)
class PolygonModelConfig:
    """Experiment 4's crafted model: (x_t, sigma) -> K vertices -> soft rasterization; predicts x0."""

    kind: Literal["polygon"] = "polygon"
    max_vertices: int = 6  # K; polygons with fewer vertices use collinear ones
    channels: int = 32  # encoder CNN channels
    width: int = 128  # encoder MLP width
    time_dim: int = 64
    sharpness: float = 4.0  # soft rasterizer edge sharpness, in 1/pixels (scaled by the network)

    def __post_init__(self):
        check(3 <= self.max_vertices <= 32, "max_vertices", "must be in [3, 32]")
        check_range(self.channels, 1, MAX_WIDTH, "channels")
        check_range(self.width, 1, MAX_WIDTH, "width")
        check(self.sharpness > 0, "sharpness", "must be > 0")
        check_time_dim(self.time_dim)


@MODELS.register("tsearch.oracles.empirical:EmpiricalScore", context=("process", "images"), role="oracle")
@dataclass(frozen=True)
class EmpiricalConfig:
    """Exact score of the Gaussian-smoothed training set (pure memorization)."""

    kind: Literal["empirical"] = "empirical"


@MODELS.register("tsearch.oracles.population:population_score", context=("process", "target", "rng"),
                 role="oracle")
@dataclass(frozen=True)
class PopulationConfig:
    """Exact score of the target (enumerated support) or of a large fresh sample."""

    kind: Literal["population"] = "population"
    reference_size: int = 4096

    def __post_init__(self):
        check(self.reference_size >= 1, "reference_size", "must be >= 1")


@MODELS.register("tsearch.oracles.local:LocalScore", context=("process", "images"), role="oracle")
@dataclass(frozen=True)
class LocalConfig:
    """Equivariant local score machine (Kamb & Ganguli 2025)."""

    kind: Literal["local"] = "local"
    patch: int = 3
    # beyond the frame: "circular" (a torus: exactly translation-equivariant), "black" (-1, the
    # canvas continues), "zero" (0, like zero-padded convolutions); docs/metrics.md
    padding: Literal["circular", "black", "zero"] = "black"  # best r^2 vs trained CNN/UNet

    def __post_init__(self):
        check(1 <= self.patch <= 513 and self.patch % 2 == 1, "patch", "must be odd, in [1, 513]")


ModelConfig = (MLPConfig | CNNConfig | UNetConfig | TransformerConfig | PolygonModelConfig
               | EmpiricalConfig | PopulationConfig | LocalConfig)
ORACLE_KINDS = MODELS.with_role("oracle")
NETWORK_KINDS = MODELS.with_role("network")


# ----------------------------------------------------------------------------- diffusion
@dataclass(frozen=True)
class DiffusionConfig:
    """Forward process. ``ou``: x_t = x_0 e^{-t} + sqrt(1 - e^{-2t}) z, t in [t_min, t_max].
    ``ve``: x_s = x_0 + s z, s in [sigma_min, sigma_max] (t is sigma)."""

    kind: str = "ou"  # a PROCESSES kind
    t_min: float = 1e-3
    t_max: float = 4.0
    sigma_min: float = 0.01
    sigma_max: float = 20.0

    def __post_init__(self):
        check_name(PROCESSES, self.kind, "kind")
        check(0 < self.t_min < self.t_max, "t_min", "need 0 < t_min < t_max")
        check(0 < self.sigma_min < self.sigma_max, "sigma_min", "need 0 < sigma_min < sigma_max")


PROCESSES.add("ou", DiffusionConfig, "tsearch.diffusion.processes:OUProcess", params=("t_min", "t_max"))
PROCESSES.add("ve", DiffusionConfig, "tsearch.diffusion.processes:VEProcess",
              params=("sigma_min", "sigma_max"))


DEFAULT_TRAIN_STEPS = 2000
MAX_EPOCHS = 1_000_000



@dataclass(frozen=True)
class TrainConfig:
    """The training budget is ``steps`` (the same for every training set) or ``epochs`` (a
    budget per training image: a set of n images trains max(min_steps, ceil(epochs n /
    batch_size)) steps, :meth:`steps_for`), never both; without either, ``steps`` = 2000."""

    steps: int | None = None  # None: DEFAULT_TRAIN_STEPS, or 0 when epochs is given
    epochs: float = 0.0  # > 0: the budget per training image (0 = off: use steps)
    # with epochs only: the floor on a set's steps, so that a small set is not trained for a
    # few dozen steps (600 epochs of n = 8 at batch 32 are 150); 0 = no floor
    min_steps: int = field(default=0, metadata=ADDED)
    batch_size: int = 64
    lr: float = 2e-3
    optimizer: Literal["adam", "sgd"] = "adam"
    momentum: float = 0.9  # sgd only
    weight_decay: float = 0.0
    n_checkpoints: int = 8  # scored steps, the last one at the last training step
    first_checkpoint: int = 50
    # spacing of the scored steps: "log" (geometric) or "linear" (a dense, even schedule: the
    # fitness is the best of them, so training length is not decided by one fixed step)
    schedule: Literal["log", "linear"] = "log"
    # stop training once copy >= stop_when_copy at stop_patience consecutive scored steps
    # (0 = never: run and sweep keep the whole curve; evolve turns it on)
    stop_when_copy: float = 0.0
    stop_patience: int = 2
    # stop training once the selection metric (sampler.select_metric) has not exceeded its best
    # for stop_after_peak consecutive scored steps after that best: the generalization window
    # has passed (0 = off)
    stop_after_peak: int = 0

    def __post_init__(self):
        check(0 <= self.epochs <= MAX_EPOCHS, "epochs", f"must be in [0, {MAX_EPOCHS:,}] (0 = use steps)")
        if self.epochs > 0:
            check(self.steps in (None, 0), "steps", "exclusive with train.epochs: give one "
                  "(set train.steps = 0 to train by epochs)")
        steps = 0 if self.epochs > 0 else DEFAULT_TRAIN_STEPS if self.steps is None else self.steps
        object.__setattr__(self, "steps", steps)  # frozen: the resolved value, an int
        check(self.epochs > 0 or self.steps >= 1, "steps", "must be >= 1 (or 0 with train.epochs > 0)")
        check_range(self.min_steps, 0, MAX_TRAIN_STEPS, "min_steps")
        check(self.min_steps == 0 or self.epochs > 0, "min_steps", "a floor on the budget in epochs: "
              "needs train.epochs > 0 (with train.steps every set trains steps; 0 = no floor)")
        check(self.steps <= MAX_TRAIN_STEPS, "steps", f"{self.steps:,} steps exceed the maximum "
              f"{MAX_TRAIN_STEPS:,} (~{_duration(self.steps / CPU_STEPS_PER_S)} at the "
              f"{CPU_STEPS_PER_S} steps/s measured on CPU)")
        check(self.batch_size >= 1, "batch_size", "must be >= 1")
        check(self.lr > 0, "lr", "must be > 0")
        check_range(self.n_checkpoints, 1, MAX_COUNT, "n_checkpoints")
        check_range(self.first_checkpoint, 1, MAX_TRAIN_STEPS, "first_checkpoint")
        check(0 <= self.stop_when_copy <= 1, "stop_when_copy", "must be in (0, 1], or 0 (off)")
        check_range(self.stop_patience, 1, MAX_COUNT, "stop_patience")
        check_range(self.stop_after_peak, 0, MAX_COUNT, "stop_after_peak")

    def steps_for(self, n: int | None) -> int:
        """Training steps of a set of ``n`` images: ``steps``, or max(min_steps, ceil(epochs n /
        batch_size)) (at least 1) when the budget is in epochs."""
        if self.epochs <= 0:
            return self.steps
        if n is None:
            raise ValueError("train.epochs needs the training-set size")
        return max(1, self.min_steps, math.ceil(self.epochs * n / self.batch_size))


@dataclass(frozen=True)
class SamplerConfig:
    kind: str = "reverse_sde"  # a SAMPLERS kind
    n_steps: int = 100
    n_samples: int = 256
    langevin_steps: int = 5  # annealed_langevin: corrector steps per noise level
    # annealed_langevin: step eps_i = 2 (snr sigma_i)^2. score_sde's 0.16 suits a corrector that
    # follows a predictor step; alone, 0.5 tracked a Gaussian's variance within 5 % (0.16: 15-40 %)
    snr: float = 0.5
    solver: Literal["euler", "heun"] = "heun"  # probability_flow: ODE integrator
    # two-stage scoring (0 = off: every scored step gets n_samples). > 0: every scored step is
    # sampled with n_select samples to choose the best step by select_metric; the model as it
    # was at that step is then sampled again with n_samples fresh samples, the reported value
    # (not the maximum of several noisy estimates)
    n_select: int = 0
    select_metric: str = "g"

    def __post_init__(self):
        check_name(SAMPLERS, self.kind, "kind")
        check(1 <= self.n_steps <= MAX_SAMPLER_STEPS, "n_steps", f"must be in [1, {MAX_SAMPLER_STEPS:,}]")
        check(self.n_samples >= 1, "n_samples", "must be >= 1")
        check(1 <= self.langevin_steps <= MAX_SAMPLER_STEPS, "langevin_steps",
              f"must be in [1, {MAX_SAMPLER_STEPS:,}]")
        check(self.snr > 0, "snr", "must be > 0")
        check(0 <= self.n_select <= self.n_samples, "n_select", f"must be in [0, n_samples = "
              f"{self.n_samples:,}] (0 = off; the selection stage is the cheap one)")
        check_goal_metric(self.select_metric, "select_metric")


SAMPLERS.add("reverse_sde", SamplerConfig, "tsearch.diffusion.samplers:ReverseSDESampler",
             params=("n_steps",), context=("process",))
SAMPLERS.add("annealed_langevin", SamplerConfig, "tsearch.diffusion.samplers:AnnealedLangevinSampler",
             params=("n_steps", "langevin_steps", "snr"), context=("process",))
SAMPLERS.add("probability_flow", SamplerConfig, "tsearch.diffusion.samplers:ProbabilityFlowSampler",
             params=("n_steps", "solver"), context=("process",))


@dataclass(frozen=True)
class MetricsConfig:
    copy_ratio: float = 1 / 3  # nearest / second-nearest L2 below this => copy (Yoon 2023)
    n_bootstrap: int = 1000
    reference_samples: int = 4096  # target samples for g_rel when no exact formula
    confidence: float = 0.95
    # copy_shift etc. (docs/metrics.md): equal up to translation, or also the 8 symmetries
    symmetries: Literal["none", "d4"] = "none"
    near_copy_hamming: float = 0.1  # near_copy: Hamming to nearest (shifted) image / area <= this
    precision_recall: bool = True  # precision / recall against a reference sample of the target
    pr_neighbours: int = 3  # k of the k-NN balls (Kynkaanniemi et al. 2019)
    pr_reference_size: int = 1024  # reference target samples (drawn once per target)
    chance_blobs: int = 64  # random blobs per white area for chance_valid (0: off)
    # coverage / learned (docs/metrics.md): each reference ball is sized so that a model sampling
    # the target puts this many of its samples in it on average (expected coverage 1 - e^-beta)
    coverage_beta: float = 2.0
    reference_seed: int = 0  # seed of the reference sample and of the blobs

    def __post_init__(self):
        check(0 < self.copy_ratio < 1, "copy_ratio", "must be in (0, 1)")
        check(0 <= self.n_bootstrap <= MAX_BOOTSTRAP, "n_bootstrap", f"must be in [0, {MAX_BOOTSTRAP:,}]")
        check(self.reference_samples >= 1, "reference_samples", "must be >= 1")
        check(0 < self.confidence < 1, "confidence", "must be in (0, 1)")
        check(0 <= self.near_copy_hamming, "near_copy_hamming", "must be >= 0")
        check_range(self.pr_neighbours, 1, MAX_COUNT, "pr_neighbours")
        check_range(self.reference_seed, 0, MAX_SEED, "reference_seed")
        check_range(self.pr_reference_size, self.pr_neighbours + 1, MAX_TRAINING_SET, "pr_reference_size")
        check_range(self.chance_blobs, 0, MAX_COUNT, "chance_blobs")
        check(0 < self.coverage_beta <= 100, "coverage_beta", "must be in (0, 100]")


@dataclass(frozen=True)
class EngineConfig:
    device: Literal["auto", "cpu", "cuda"] = "auto"
    form: Literal["auto", "vmap", "loop"] = "auto"
    chunk_size: int = 0  # tasks trained together; 0 = chosen from device memory
    # bf16 autocast: on | off | cuda (CUDA only) | native (CUDA, and a CPU with AVX-512 BF16 or
    # AMX for the model kinds measured faster there: tsearch.engine.device). auto: native on
    # such a CPU, else cuda; a run folder records the resolved value, so a resume takes its path.
    bf16: Literal["auto", "on", "off", "cuda", "native"] = "auto"
    compile: Literal["auto", "on", "off"] = "auto"
    metric_threads: int = 2  # CPU threads for polygon validity
    threads: int = 0  # torch intra-op threads of the process (0 = auto: 1 on CPU)

    def __post_init__(self):
        check_range(self.chunk_size, 0, MAX_COUNT, "chunk_size")
        check_range(self.metric_threads, 1, MAX_THREADS, "metric_threads")
        check_range(self.threads, 0, MAX_THREADS, "threads")


@dataclass(frozen=True)
class RunConfig:
    """One training set: ``tsearch run``."""

    seed: int = 0
    n: int = 8  # training-set size
    name: str = ""
    # true: n distinct support images, drawn without replacement (a finite support: n <= its
    # size); false: n independent target samples, repeats possible
    distinct: bool = False

    def __post_init__(self):
        check(1 <= self.n <= MAX_TRAINING_SET, "n", f"must be in [1, {MAX_TRAINING_SET:,}]")
        check_range(self.seed, 0, MAX_SEED, "seed")
        check(isinstance(self.name, str) and len(self.name.encode()) <= MAX_NAME_BYTES, "name",
              f"must be text of at most {MAX_NAME_BYTES} bytes (it names the run folder; file systems "
              "allow 255 per name)")


SWEEP_SEARCHES = ("grid", "bisect")
MAX_SWEEP_N = MAX_TRAINING_SET


GRID_CASE = "case"  # the grid axis whose values are named bundles of overrides


@dataclass(frozen=True)
class SweepConfig:
    """A Cartesian grid: each key is a dotted config path, each value the list it takes.

    e.g. ``grid = {"target.side" = [4, 6, 8], "run.n" = [2, 4, 8], "run.seed" = [0, 1, 2]}``.
    One axis may be ``case``: tables each holding a ``name`` and overrides that go together
    (e.g. a target with the model and budget that memorize it), applied like grid keys; the
    point's id and its group in the analysis say the name. ``smoke`` holds overrides applied
    by ``--smoke``.
    """

    grid: dict = field(default_factory=dict)
    smoke: dict = field(default_factory=dict)
    # n*(d) = smallest n at which some checkpoint reaches metric >= threshold (seed mean)
    generalization_metric: str = "g_rel"
    threshold: float = 0.5
    # per target kind, a metric replacing generalization_metric (dots: {dots = "coverage_unseen"})
    metric_by_target: dict = field(default_factory=dict)
    # "grid": evaluate every grid point; "bisect": per (grid point without run.n), find n* by
    # galloping n = 1, 2, 4, ... then bisecting on integers (tsearch.search.bisect); run.n in
    # the grid is then ignored and n_max bounds the search (an n* beyond it is censored)
    search: str = "grid"
    n_max: int = 64

    def __post_init__(self):
        check(self.search in SWEEP_SEARCHES, "search", f"must be one of {', '.join(SWEEP_SEARCHES)}")
        check(1 <= self.n_max <= MAX_SWEEP_N, "n_max", f"must be in [1, {MAX_SWEEP_N:,}]")
        for key, values in self.grid.items():
            check(isinstance(values, list) and len(values) > 0, "grid", f"{key!r} needs a non-empty list")
        check(0.0 < self.threshold <= 1.0, "threshold", "must be in (0, 1]")
        check_goal_metric(self.generalization_metric, "generalization_metric")
        for kind, metric in self.metric_by_target.items():
            check_name(TARGETS, kind, "metric_by_target")
            check_goal_metric(metric, f"metric_by_target.{kind}")
        for key in self.grid:
            if key == GRID_CASE:
                check_cases(self.grid[key], [k for k in self.grid if k != GRID_CASE], "grid")
            else:
                check_config_path(key, "grid")
        for key, value in self.smoke.items():
            if key == "grid":
                check(isinstance(value, dict), "smoke.grid", "expected a table")
                for grid_key in value:
                    if grid_key == GRID_CASE:
                        check_cases(value[grid_key], [k for k in value if k != GRID_CASE], "smoke.grid")
                    else:
                        check_config_path(grid_key, "smoke.grid")
            else:
                check_config_path(key, "smoke")


# relative weights of the mutation operators (tsearch.search.operators); a table given in a
# config overrides these entry by entry
OPERATOR_WEIGHTS = {"perturb": 3.0, "add_vertex": 1.0, "remove_vertex": 1.0, "replace": 1.0,
                    "delete": 1.0, "insert": 1.0,
                    # an images genome's (search.genome = "images"; replace, delete, insert shared)
                    "flip": 2.0, "dilate": 1.0, "erode": 1.0, "shift": 1.0, "stroke": 1.0, "shape": 1.0}
assert tuple(OPERATOR_WEIGHTS) == OPERATORS.names, "a default weight per registered operator"


MAX_SCREEN_FACTOR = 64  # candidates per trained set: beyond it the surrogate, not the training, costs


@dataclass(frozen=True)
class SearchConfig:
    """``tsearch evolve``: the genetic search over training sets (experiment 3).

    ``generations`` counts every evaluated generation, the initial population included. The
    ``random`` baseline (training sets drawn from the target, ``baseline_repeats`` per size of
    ``size_grid``) runs first in every ``nsga2`` / ``single`` search, by the same loop; the
    ``control`` arm (a random search with the search's evaluation budget) runs after it.
    """

    strategy: Literal["nsga2", "single", "random"] = "nsga2"
    generations: int = 6
    population: int = 12
    n_min: int = 2
    n_max: int = 16
    size_grid: tuple[int, ...] = (2, 4, 8, 16)  # sizes the random baseline runs at
    fitness_metric: str = "g"
    crossover_prob: float = 0.5
    mutation_prob: float = 0.8
    vertex_sigma: float = 0.05  # std of vertex perturbations, in units of the image side
    allow_duplicates: bool = False
    keep_checkpoints: int = 3
    fixed_size: int = 0  # single: the training-set size (0 = n_max)
    baseline_repeats: int = 2  # random training sets per size of size_grid (0 = no baseline)
    threshold: float = 0.5  # "generalizes": fitness metric >= threshold
    operator_weights: dict = field(default_factory=dict)  # e.g. {perturb = 3, insert = 1}
    # fresh training seeds per Pareto-front set (of the search and of the control) and per best
    # random set after the search: in-search values are maxima over noisy evaluations, biased
    # upward; every comparison is made on these (0 = no re-evaluation, no comparison)
    reevaluate_seeds: int = 5
    # the control arm (tsearch.search.control): "random_search" = training sets drawn from the
    # target with exactly the search's evaluations at each size, by the same loop; "none" = off
    control: Literal["random_search", "none"] = "random_search"
    alpha: float = 0.05  # family-wise error rate of the search-vs-control tests (Holm)
    # multi-fidelity (successive halving): offspring trained first to these fractions of
    # their training budget, the best `promote` fraction of each rung (NSGA-II rank, crowding) going
    # on, and the survivors of the last to the full budget. () = every offspring at full budget
    rungs: tuple[float, ...] = ()
    promote: float = 0.5
    # a noisy fitness (tsearch.search.resample): an evaluation is one training with one seed, and
    # a set's fitness is the mean over its trainings. seeds_per_set: trainings of each new set
    # (of every arm, the baseline included); resample_survivors: a set that stays in the
    # population is trained once more, with a new seed, every generation until it holds
    # max_seeds_per_set trainings, so a lucky value regresses to its mean
    seeds_per_set: int = 1
    resample_survivors: bool = False
    max_seeds_per_set: int = 8
    # what a training set is: "polygons" = target parameters rendered by the target (always in
    # its support); "images" = free binary images of the target's side, started from the same
    # target samples, which the image operators may take out of the support (flip_rate: the
    # flip operator's per-pixel probability; splice_prob: the share of crossovers that splice
    # two images along a line rather than exchange whole images)
    genome: Literal["polygons", "images"] = "polygons"
    flip_rate: float = 0.02
    splice_prob: float = 0.5
    # screening (tsearch.search.screening): each generation the search makes screen_factor x
    # population candidate sets and trains population of them, chosen by a surrogate fit on
    # the sets it and the baseline trained (upper confidence bound, NSGA-II over (bound, size));
    # screen_explore: the share of those picks drawn at random instead. 1 = no screening
    screen_factor: int = 1
    screen_explore: float = 0.25
    # screen_oracle: the surrogate also sees the local (ELS) oracle's train-free fitness of
    # each set (sampled, not trained: tsearch.runs.screen_oracle)
    screen_oracle: bool = False
    # the surrogate: "gp" (Gaussian process, ARD RBF) or "linear" (Bayesian ridge)
    screen_model: Literal["gp", "linear"] = "gp"

    def __post_init__(self):
        check_range(self.generations, 1, MAX_COUNT, "generations")
        check_range(self.seeds_per_set, 1, MAX_COUNT, "seeds_per_set")
        check(self.seeds_per_set <= self.max_seeds_per_set <= MAX_COUNT, "max_seeds_per_set",
              f"must be in [seeds_per_set, {MAX_COUNT:,}] (seeds_per_set = {self.seeds_per_set})")
        check_range(self.population, 2, MAX_COUNT, "population")
        check(1 <= self.n_min <= self.n_max, "n_min", "need 1 <= n_min <= n_max")
        check(self.n_max <= MAX_TRAINING_SET, "n_max", f"must be <= {MAX_TRAINING_SET:,}")
        check(1 <= len(self.size_grid) <= MAX_SIZE_GRID, "size_grid",
              f"needs 1 to {MAX_SIZE_GRID} sizes (each is a baseline, an answer row and fresh "
              f"re-evaluations), got {len(self.size_grid):,}")
        check(all(1 <= n <= MAX_TRAINING_SET for n in self.size_grid),
              "size_grid", f"needs sizes in [1, {MAX_TRAINING_SET:,}]")
        repeated = sorted({n for n in self.size_grid if self.size_grid.count(n) > 1})
        check(not repeated, "size_grid", f"lists {', '.join(map(str, repeated))} more than once "
              "(each size is one row of the answer)")
        check(0 <= self.crossover_prob <= 1, "crossover_prob", "must be in [0, 1]")
        check(0 <= self.mutation_prob <= 1, "mutation_prob", "must be in [0, 1]")
        check(self.vertex_sigma > 0, "vertex_sigma", "must be > 0")
        check_range(self.keep_checkpoints, 1, MAX_COUNT, "keep_checkpoints")
        check(0 <= self.fixed_size <= MAX_TRAINING_SET, "fixed_size", f"must be in [0, {MAX_TRAINING_SET:,}]")
        check_range(self.baseline_repeats, 0, MAX_COUNT, "baseline_repeats")
        check_range(self.reevaluate_seeds, 0, MAX_COUNT, "reevaluate_seeds")
        check(0 < self.alpha < 1, "alpha", "must be in (0, 1)")
        check_goal_metric(self.fitness_metric, "fitness_metric")
        check(all(0 < f < 1 for f in self.rungs) and list(self.rungs) == sorted(set(self.rungs)),
              "rungs", "fractions of train.steps in (0, 1), increasing (the full budget comes last)")
        check(0 < self.promote <= 1, "promote", "must be in (0, 1]")
        check(0 < self.flip_rate <= 0.5, "flip_rate", "must be in (0, 0.5]")
        check(0 <= self.splice_prob <= 1, "splice_prob", "must be in [0, 1]")
        check(isinstance(self.screen_factor, int) and 1 <= self.screen_factor <= MAX_SCREEN_FACTOR,
              "screen_factor", f"must be an integer in [1, {MAX_SCREEN_FACTOR}] (1 = no screening)")
        check(self.screen_factor == 1 or self.strategy != "random", "screen_factor",
              "a random search has no offspring to screen (use nsga2 or single)")
        check(0 <= self.screen_explore <= 1, "screen_explore", "must be in [0, 1]")
        for name, weight in self.operator_weights.items():
            check_name(OPERATORS, name, "operator_weights")
            check(isinstance(weight, (int, float)) and not isinstance(weight, bool)
                  and math.isfinite(weight) and weight >= 0,
                  f"operator_weights.{name}", f"must be a finite number >= 0, got {weight!r}")
        check(sum(self.weights.values()) > 0, "operator_weights", "all weights are 0")

    @property
    def weights(self) -> dict[str, float]:
        """The operator weights in effect: the defaults overridden by ``operator_weights``."""
        return {**OPERATOR_WEIGHTS, **{k: float(v) for k, v in self.operator_weights.items()}}

    @property
    def size(self) -> int:
        """The fixed training-set size of the ``single`` strategy."""
        return self.fixed_size or self.n_max

    @property
    def baseline_per_size(self) -> int:
        """Training sets of the baseline generation per size of ``size_grid``: there is a
        baseline (this is > 0) when a searching strategy has ``baseline_repeats`` > 0; a
        random search is its own reference."""
        return self.baseline_repeats if self.strategy != "random" else 0


@dataclass(frozen=True)
class ExecutorConfig:
    kind: str = "local"  # an EXECUTORS kind
    address: str = ""  # ray: "" starts a local Ray, "auto" or HOST:PORT joins a cluster
    num_actors: int = 0  # ray: 0 = one per GPU share / CPU
    num_gpus: float = 0.0  # ray: GPU share per actor (fractional allowed)
    num_cpus: float = 1.0  # ray: CPUs per actor
    tasks_per_chunk: int = 4
    max_retries: int = 2  # retries of a chunk whose worker died (process or node)
    workers: int = 0  # local: worker processes (0 = the cores this process may use; 1 = in-process)
    start_timeout_s: float = 300.0  # ray: fail queued chunks if no actor can start this long

    def __post_init__(self):
        check_name(EXECUTORS, self.kind, "kind")
        check_range(self.num_actors, 0, MAX_COUNT, "num_actors")
        check_range(self.num_gpus, 0, MAX_THREADS, "num_gpus")
        check(self.num_gpus <= 1 or float(self.num_gpus).is_integer(), "num_gpus",
              "a share above 1 GPU must be a whole number (Ray's rule)")
        check(0 < self.num_cpus <= MAX_THREADS, "num_cpus", f"must be in (0, {MAX_THREADS:,}]")
        check_range(self.tasks_per_chunk, 1, MAX_COUNT, "tasks_per_chunk")
        check_range(self.max_retries, 0, 100, "max_retries")
        check_range(self.workers, 0, MAX_THREADS, "workers")
        check(self.start_timeout_s > 0, "start_timeout_s", "must be > 0")


EXECUTORS.add("local", ExecutorConfig, "tsearch.executors.local:LocalExecutor",
              params=("tasks_per_chunk", "workers", "max_retries"),
              context=("engine", "evaluate_fn"))
EXECUTORS.add("ray", ExecutorConfig, "tsearch.executors.ray_executor:RayExecutor",
              params=("address", "num_actors", "num_gpus", "num_cpus", "tasks_per_chunk", "max_retries",
                      "start_timeout_s"),
              context=("engine", "evaluate_fn"))


@dataclass(frozen=True)
class Config:
    target: TargetConfig = field(default_factory=DotsConfig)
    model: ModelConfig = field(default_factory=UNetConfig)
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    engine: EngineConfig = field(default_factory=EngineConfig)
    run: RunConfig = field(default_factory=RunConfig)
    sweep: SweepConfig = field(default_factory=SweepConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    executor: ExecutorConfig = field(default_factory=ExecutorConfig)

    def __post_init__(self):
        check_across_tables(self)


# table -> its seam; POLYMORPHIC: the tables whose kind picks the dataclass
SEAMS: dict[str, Seam] = {"target": TARGETS, "model": MODELS, "diffusion": PROCESSES, "sampler": SAMPLERS,
                          "executor": EXECUTORS}
POLYMORPHIC: dict[str, Seam] = {"target": TARGETS, "model": MODELS}


def check_across_tables(config: Config) -> None:
    """Checks that span tables; the FieldError's key is the dotted path to blame."""
    side, d = config.target.side, config.target.side**2
    if config.model.kind in NETWORK_KINDS:
        check(side >= MIN_NETWORK_SIDE, "target.side",
              f"score networks need side >= {MIN_NETWORK_SIDE}, got {side} (or use an oracle model.kind)")
    arrays = {"sampler.n_samples": (config.sampler.n_samples, "samples"),
              "train.batch_size": (config.train.batch_size, "batch images"),
              "metrics.reference_samples": (config.metrics.reference_samples, "reference samples"),
              "run.n": (config.run.n, "training images")}
    if config.model.kind == "population":
        arrays["model.reference_size"] = (config.model.reference_size, "population reference images")
    for key, (count, what) in arrays.items():
        gib = _gib(count * d)
        check(gib <= MAX_ARRAY_GIB, key, f"{count:,} {what} of {side}x{side} take {gib:,.1f} GiB as "
              f"float32 (max {MAX_ARRAY_GIB:g} GiB per evaluation)")
    if config.train.epochs > 0:  # the budget per image: the largest set trains the longest
        for key, n in (("run.n", config.run.n), ("search.n_max", max(config.search.n_max, *config.search.size_grid))):
            steps = config.train.steps_for(n)
            check(steps <= MAX_TRAIN_STEPS, "train.epochs", f"{config.train.epochs:g} epochs of {key} = {n:,} "
                  f"images are {steps:,} steps, above the maximum {MAX_TRAIN_STEPS:,}")
    # a goal metric computed from a part of the metrics reference that is switched off is NaN
    # at every step: a search or a threshold on it would see nothing
    needs = {"g_above_chance": ("chance_blobs", config.metrics.chance_blobs > 0),
             "g_shift_above_chance": ("chance_blobs", config.metrics.chance_blobs > 0),
             "precision": ("precision_recall", config.metrics.precision_recall),
             "recall": ("precision_recall", config.metrics.precision_recall),
             "coverage": ("precision_recall", config.metrics.precision_recall),
             "learned": ("precision_recall and metrics.chance_blobs",
                         config.metrics.precision_recall and config.metrics.chance_blobs > 0)}
    goals = {"search.fitness_metric": config.search.fitness_metric,
             "sampler.select_metric": config.sampler.select_metric,
             "sweep.generalization_metric": config.sweep.generalization_metric,
             **{f"sweep.metric_by_target.{k}": v for k, v in config.sweep.metric_by_target.items()}}
    for key, metric in goals.items():
        switch, on = needs.get(metric, ("", True))
        check(on, key, f"{metric!r} needs metrics.{switch}, which is off")
    points = math.prod(len(v) for v in config.sweep.grid.values())
    check(points <= MAX_GRID_POINTS, "sweep.grid",
          f"{points:,} grid points exceed the maximum {MAX_GRID_POINTS:,}")


def check_cases(cases: list, axes: list[str], grid: str) -> None:
    """``sweep.grid.case``: tables with a unique name and overrides of config paths that no
    other grid axis sets (a case cannot say one thing and an axis another)."""
    names = []
    for i, case in enumerate(cases):
        where = f"{grid}.{GRID_CASE}[{i}]"
        check(isinstance(case, dict), where, "expected a table (name = ..., then overrides)")
        name = case.get("name")
        check(isinstance(name, str) and re.fullmatch(r"[A-Za-z0-9_-]+", name or "") is not None, f"{where}.name",
              "needs a name of letters, digits, '_' or '-'")
        check(name not in names, f"{where}.name", f"{name!r} is given twice")
        names.append(name)
        for key in case:
            if key != "name":
                check_config_path(key, where)
                check(key not in axes, where, f"{key} is also a grid axis")


def check_config_path(dotted: str, key: str) -> None:
    """``dotted`` ("train.steps", "target") names a table or a key of one (any kind's, for a
    polymorphic table): a sweep's grid and smoke keys are checked when the config loads."""
    table, *rest = dotted.split(".")
    tables = [f.name for f in fields(Config)]
    if table not in tables:
        raise FieldError(key, f"{table}: unknown table{suggestion(table, tables)}")
    if not rest:
        return
    classes = ([s.config_class(k) for k in s.kinds] if (s := POLYMORPHIC.get(table))
               else [Config.__dataclass_fields__[table].default_factory])
    paths = list(dict.fromkeys(f"{table}.{f.name}" for cls in classes for f in fields(cls)))
    if f"{table}.{rest[0]}" not in paths:
        raise FieldError(key, f"{dotted}: unknown key{suggestion(dotted, paths)}")
