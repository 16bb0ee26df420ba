"""Every table a tsearch config may hold, as frozen dataclasses.

A TOML key, a dataclass field and a ``--set`` path are spelled the same way:
``[train] steps = 2000`` is ``Config.train.steps`` is ``--set train.steps=2000``.
Polymorphic tables (``[target]``, ``[model]``) pick their dataclass from ``kind``.
Range checks live in ``__post_init__`` and raise :class:`FieldError` naming the
field; the loader prefixes the file and the table.

This module imports nothing heavy: configs load (and fail) before torch starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


class FieldError(ValueError):
    """A value out of range; ``key`` is the field name inside its table."""

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


def check(condition: bool, key: str, message: str) -> None:
    if not condition:
        raise FieldError(key, message)


# ----------------------------------------------------------------------------- targets
@dataclass(frozen=True)
class DotsConfig:
    """Exactly ``k`` white pixels, no two 8-adjacent (k = 1: the seed's dataset 1)."""

    kind: Literal["dots"] = "dots"
    side: int = 8
    k: int | tuple[int, int] = 1  # fixed, or an inclusive range [lo, hi]

    def __post_init__(self):
        check(2 <= self.side <= 256, "side", "must be in [2, 256]")
        lo, hi = (self.k, self.k) if isinstance(self.k, int) else self.k
        check(1 <= lo <= hi, "k", "must be >= 1 (a range must be [lo, hi] with lo <= hi)")
        check(hi <= ((self.side + 1) // 2) ** 2, "k", "too many dots for this side")


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


@dataclass(frozen=True)
class BernoulliConfig:
    """Control target of experiment 1: iid pixels, white with probability ``p``."""

    kind: Literal["bernoulli"] = "bernoulli"
    side: int = 6
    p: float = 0.2

    def __post_init__(self):
        check(2 <= self.side <= 256, "side", "must be in [2, 256]")
        check(0.0 < self.p < 1.0, "p", "must be in (0, 1)")


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
        check(0.0 <= self.min_area < self.side**2, "min_area", "must be in [0, side^2)")
        check(self.tolerance >= 0, "tolerance", "must be >= 0")


TargetConfig = DotsConfig | LinearCodeConfig | BernoulliConfig | PolygonsConfig
TARGET_CONFIGS: dict[str, type] = {
    "dots": DotsConfig,
    "linear_code": LinearCodeConfig,
    "bernoulli": BernoulliConfig,
    "polygons": PolygonsConfig,
}


# ----------------------------------------------------------------------------- models
@dataclass(frozen=True)
class MLPConfig:
    kind: Literal["mlp"] = "mlp"
    width: int = 256
    depth: int = 3
    time_dim: int = 32

    def __post_init__(self):
        check(self.width >= 1, "width", "must be >= 1")
        check(self.depth >= 1, "depth", "must be >= 1")


@dataclass(frozen=True)
class CNNConfig:
    """Plain convolutions; receptive field = 1 + depth * (kernel_size - 1)."""

    kind: Literal["cnn"] = "cnn"
    channels: int = 64
    depth: int = 6
    kernel_size: int = 3
    time_dim: int = 32

    def __post_init__(self):
        check(self.channels >= 1, "channels", "must be >= 1")
        check(self.depth >= 1, "depth", "must be >= 1")
        check(self.kernel_size % 2 == 1, "kernel_size", "must be odd")


@dataclass(frozen=True)
class UNetConfig:
    kind: Literal["unet"] = "unet"
    channels: tuple[int, ...] = (32, 64, 64)  # one entry per resolution
    blocks_per_level: int = 1
    groups: int = 8  # GroupNorm groups
    time_dim: int = 64

    def __post_init__(self):
        check(1 <= len(self.channels) <= 4, "channels", "needs 1 to 4 resolutions")
        check(all(c % self.groups == 0 for c in self.channels), "channels",
              "every entry must be divisible by groups")
        check(self.blocks_per_level >= 1, "blocks_per_level", "must be >= 1")


@dataclass(frozen=True)
class TransformerConfig:
    kind: Literal["transformer"] = "transformer"
    patch: int = 2
    width: int = 96
    depth: int = 4
    heads: int = 4

    def __post_init__(self):
        check(self.patch >= 1, "patch", "must be >= 1")
        check(self.width % self.heads == 0, "width", "must be divisible by heads")


@dataclass(frozen=True)
class PolygonModelConfig:
    """Experiment 4's crafted model: (x_t, t) -> K vertices -> soft rasterization."""

    kind: Literal["polygon"] = "polygon"
    max_vertices: int = 6
    width: int = 128
    sharpness: float = 4.0  # soft rasterizer edge sharpness, in 1/pixels

    def __post_init__(self):
        check(3 <= self.max_vertices <= 32, "max_vertices", "must be in [3, 32]")
        check(self.sharpness > 0, "sharpness", "must be > 0")


@dataclass(frozen=True)
class EmpiricalConfig:
    """Exact score of the Gaussian-smoothed training set (pure memorization)."""

    kind: Literal["empirical"] = "empirical"


@dataclass(frozen=True)
class PopulationConfig:
    """Exact score of the target (enumerated support) or of a large fresh sample."""

    kind: Literal["population"] = "population"
    reference_size: int = 4096

    def __post_init__(self):
        check(self.reference_size >= 1, "reference_size", "must be >= 1")


@dataclass(frozen=True)
class LocalConfig:
    """Equivariant local score machine (Kamb & Ganguli 2025)."""

    kind: Literal["local"] = "local"
    patch: int = 3

    def __post_init__(self):
        check(self.patch >= 1 and self.patch % 2 == 1, "patch", "must be odd and >= 1")


ModelConfig = (MLPConfig | CNNConfig | UNetConfig | TransformerConfig | PolygonModelConfig
               | EmpiricalConfig | PopulationConfig | LocalConfig)
MODEL_CONFIGS: dict[str, type] = {
    "mlp": MLPConfig,
    "cnn": CNNConfig,
    "unet": UNetConfig,
    "transformer": TransformerConfig,
    "polygon": PolygonModelConfig,
    "empirical": EmpiricalConfig,
    "population": PopulationConfig,
    "local": LocalConfig,
}
ORACLE_KINDS = frozenset({"empirical", "population", "local"})


# ----------------------------------------------------------------------------- diffusion
@dataclass(frozen=True)
class DiffusionConfig:
    """Forward process. ``ou``: x_t = x_0 e^{-t} + sqrt(1 - e^{-2t}) z, t in [t_min, t_max].
    ``ve``: x_s = x_0 + s z, s in [sigma_min, sigma_max] (t is sigma)."""

    kind: Literal["ou", "ve"] = "ou"
    t_min: float = 1e-3
    t_max: float = 4.0
    sigma_min: float = 0.01
    sigma_max: float = 20.0

    def __post_init__(self):
        check(0 < self.t_min < self.t_max, "t_min", "need 0 < t_min < t_max")
        check(0 < self.sigma_min < self.sigma_max, "sigma_min", "need 0 < sigma_min < sigma_max")


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 2000
    batch_size: int = 64
    lr: float = 2e-3
    optimizer: Literal["adam", "sgd"] = "adam"
    momentum: float = 0.9  # sgd only
    weight_decay: float = 0.0
    n_checkpoints: int = 8  # log-spaced in training steps, the last one at `steps`
    first_checkpoint: int = 50

    def __post_init__(self):
        check(self.steps >= 1, "steps", "must be >= 1")
        check(self.batch_size >= 1, "batch_size", "must be >= 1")
        check(self.lr > 0, "lr", "must be > 0")
        check(self.n_checkpoints >= 1, "n_checkpoints", "must be >= 1")
        check(1 <= self.first_checkpoint, "first_checkpoint", "must be >= 1")


@dataclass(frozen=True)
class SamplerConfig:
    kind: Literal["reverse_sde", "annealed_langevin", "probability_flow"] = "reverse_sde"
    n_steps: int = 100
    n_samples: int = 256
    langevin_steps: int = 5  # annealed_langevin: corrector steps per noise level
    snr: float = 0.16  # annealed_langevin: signal-to-noise ratio of the step size

    def __post_init__(self):
        check(self.n_steps >= 1, "n_steps", "must be >= 1")
        check(self.n_samples >= 1, "n_samples", "must be >= 1")
        check(self.langevin_steps >= 1, "langevin_steps", "must be >= 1")
        check(self.snr > 0, "snr", "must be > 0")


@dataclass(frozen=True)
class MetricsConfig:
    copy_ratio: float = 1 / 3  # nearest / second-nearest L2 below this => copy (Yoon 2023)
    n_bootstrap: int = 1000
    reference_samples: int = 4096  # target samples for g_rel when no exact formula
    confidence: float = 0.95

    def __post_init__(self):
        check(0 < self.copy_ratio < 1, "copy_ratio", "must be in (0, 1)")
        check(self.n_bootstrap >= 0, "n_bootstrap", "must be >= 0")
        check(0 < self.confidence < 1, "confidence", "must be in (0, 1)")


@dataclass(frozen=True)
class EngineConfig:
    device: Literal["auto", "cpu", "cuda"] = "auto"
    form: Literal["auto", "vmap", "loop"] = "auto"
    chunk_size: int = 0  # tasks trained together; 0 = chosen from device memory
    bf16: Literal["auto", "on", "off"] = "auto"
    compile: Literal["auto", "on", "off"] = "auto"
    metric_threads: int = 2  # CPU threads for polygon validity

    def __post_init__(self):
        check(self.chunk_size >= 0, "chunk_size", "must be >= 0")
        check(self.metric_threads >= 1, "metric_threads", "must be >= 1")


@dataclass(frozen=True)
class RunConfig:
    """One training set: ``tsearch run``."""

    seed: int = 0
    n: int = 8  # training-set size
    name: str = ""

    def __post_init__(self):
        check(self.n >= 1, "n", "must be >= 1")


@dataclass(frozen=True)
class SweepConfig:
    """A Cartesian grid: each key is a dotted config path, each value the list it takes.

    e.g. ``grid = {"target.side" = [4, 6, 8], "run.n" = [2, 4, 8], "run.seed" = [0, 1, 2]}``.
    ``smoke`` holds overrides applied by ``--smoke``.
    """

    grid: dict = field(default_factory=dict)
    smoke: dict = field(default_factory=dict)
    generalization_metric: str = "g_rel"
    threshold: float = 0.5


@dataclass(frozen=True)
class SearchConfig:
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

    def __post_init__(self):
        check(self.generations >= 1, "generations", "must be >= 1")
        check(self.population >= 2, "population", "must be >= 2")
        check(1 <= self.n_min <= self.n_max, "n_min", "need 1 <= n_min <= n_max")
        check(0 <= self.crossover_prob <= 1, "crossover_prob", "must be in [0, 1]")
        check(0 <= self.mutation_prob <= 1, "mutation_prob", "must be in [0, 1]")
        check(self.keep_checkpoints >= 1, "keep_checkpoints", "must be >= 1")


@dataclass(frozen=True)
class ExecutorConfig:
    kind: Literal["local", "ray"] = "local"
    address: str = ""  # ray: "" starts a local Ray, "auto" or HOST:PORT joins a cluster
    num_actors: int = 0  # ray: 0 = one per GPU share / CPU
    num_gpus: float = 0.0  # ray: GPU share per actor (fractional allowed)
    num_cpus: float = 1.0  # ray: CPUs per actor
    tasks_per_chunk: int = 4
    max_retries: int = 2

    def __post_init__(self):
        check(self.num_actors >= 0, "num_actors", "must be >= 0")
        check(self.num_gpus >= 0, "num_gpus", "must be >= 0")
        check(self.num_cpus > 0, "num_cpus", "must be > 0")
        check(self.tasks_per_chunk >= 1, "tasks_per_chunk", "must be >= 1")
        check(self.max_retries >= 0, "max_retries", "must be >= 0")


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


POLYMORPHIC: dict[str, dict[str, type]] = {"target": TARGET_CONFIGS, "model": MODEL_CONFIGS}
