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
def check_time_dim(time_dim: int) -> None:
    check(time_dim >= 2 and time_dim % 2 == 0, "time_dim", "must be even and >= 2")


@dataclass(frozen=True)
class MLPConfig:
    """Residual MLP on the flattened image (no locality); predicts eps."""

    kind: Literal["mlp"] = "mlp"
    width: int = 192
    depth: int = 3  # residual blocks
    time_dim: int = 32  # noise-level embedding width

    def __post_init__(self):
        check(self.width >= 1, "width", "must be >= 1")
        check(self.depth >= 1, "depth", "must be >= 1")
        check_time_dim(self.time_dim)


@dataclass(frozen=True)
class CNNConfig:
    """Plain convolutions; receptive field = 1 + depth * (kernel_size - 1); predicts eps."""

    kind: Literal["cnn"] = "cnn"
    channels: int = 64
    depth: int = 6  # k x k convolutions in the chain
    kernel_size: int = 3
    groups: int = 8  # GroupNorm groups
    time_dim: int = 32

    def __post_init__(self):
        check(self.channels >= 1, "channels", "must be >= 1")
        check(self.depth >= 1, "depth", "must be >= 1")
        check(self.kernel_size >= 1 and self.kernel_size % 2 == 1, "kernel_size", "must be odd and >= 1")
        check(self.groups >= 1 and self.channels % self.groups == 0, "groups",
              "must be >= 1 and divide channels")
        check_time_dim(self.time_dim)


@dataclass(frozen=True)
class UNetConfig:
    """Small UNet: one resolution per ``channels`` entry, skip connections; predicts eps."""

    kind: Literal["unet"] = "unet"
    channels: tuple[int, ...] = (24, 32, 32)  # one entry per resolution (~160k parameters)
    blocks_per_level: int = 1
    groups: int = 8  # GroupNorm groups
    time_dim: int = 48

    def __post_init__(self):
        check(1 <= len(self.channels) <= 4, "channels", "needs 1 to 4 resolutions")
        check(self.groups >= 1, "groups", "must be >= 1")
        check(all(c >= 1 and c % self.groups == 0 for c in self.channels), "channels",
              "every entry must be divisible by groups")
        check(self.blocks_per_level >= 1, "blocks_per_level", "must be >= 1")
        check_time_dim(self.time_dim)


@dataclass(frozen=True)
class TransformerConfig:
    """Patch transformer with adaLN-Zero noise conditioning (DiT); predicts eps."""

    kind: Literal["transformer"] = "transformer"
    patch: int = 2
    width: int = 64
    depth: int = 4
    heads: int = 4
    mlp_ratio: int = 2
    time_dim: int = 32

    def __post_init__(self):
        check(self.patch >= 1, "patch", "must be >= 1")
        check(self.width >= 1, "width", "must be >= 1")
        check(self.depth >= 1, "depth", "must be >= 1")
        check(self.heads >= 1 and self.width % self.heads == 0, "width", "must be divisible by heads")
        check(self.mlp_ratio >= 1, "mlp_ratio", "must be >= 1")
        check_time_dim(self.time_dim)


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
        check(self.channels >= 1, "channels", "must be >= 1")
        check(self.width >= 1, "width", "must be >= 1")
        check(self.sharpness > 0, "sharpness", "must be > 0")
        check_time_dim(self.time_dim)


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
    # stop training once copy >= stop_when_copy at stop_patience consecutive scored steps
    # (0 = never: run and sweep keep the whole curve; evolve turns it on)
    stop_when_copy: float = 0.0
    stop_patience: int = 2

    def __post_init__(self):
        check(self.steps >= 1, "steps", "must be >= 1")
        check(self.batch_size >= 1, "batch_size", "must be >= 1")
        check(self.lr > 0, "lr", "must be > 0")
        check(self.n_checkpoints >= 1, "n_checkpoints", "must be >= 1")
        check(1 <= self.first_checkpoint, "first_checkpoint", "must be >= 1")
        check(0 <= self.stop_when_copy <= 1, "stop_when_copy", "must be in (0, 1], or 0 (off)")
        check(self.stop_patience >= 1, "stop_patience", "must be >= 1")


@dataclass(frozen=True)
class SamplerConfig:
    kind: Literal["reverse_sde", "annealed_langevin", "probability_flow"] = "reverse_sde"
    n_steps: int = 100
    n_samples: int = 256
    langevin_steps: int = 5  # annealed_langevin: corrector steps per noise level
    # annealed_langevin: step eps_i = 2 (snr sigma_i)^2. score_sde's 0.16 suits a corrector that
    # follows a predictor step; alone, 0.5 tracked a Gaussian's variance within 5 % (0.16: 15-40 %)
    snr: float = 0.5
    solver: Literal["euler", "heun"] = "heun"  # probability_flow: ODE integrator

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
    threads: int = 0  # torch intra-op threads of the process (0 = auto: 1 on CPU)

    def __post_init__(self):
        check(self.chunk_size >= 0, "chunk_size", "must be >= 0")
        check(self.metric_threads >= 1, "metric_threads", "must be >= 1")
        check(self.threads >= 0, "threads", "must be >= 0")


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
    # n*(d) = smallest n at which some checkpoint reaches metric >= threshold (seed mean)
    generalization_metric: str = "g_rel"
    threshold: float = 0.5
    # per target kind, a metric replacing generalization_metric (dots: {dots = "coverage_unseen"})
    metric_by_target: dict = field(default_factory=dict)

    def __post_init__(self):
        for key, values in self.grid.items():
            check(isinstance(values, list) and len(values) > 0, "grid", f"{key!r} needs a non-empty list")
        check(0.0 < self.threshold <= 1.0, "threshold", "must be in (0, 1]")
        for kind, metric in self.metric_by_target.items():
            check(kind in TARGET_CONFIGS, "metric_by_target", f"unknown target kind {kind!r}")
            check(isinstance(metric, str), "metric_by_target", f"{kind}: expected a metric name")


# relative weights of the mutation operators (tsearch.search.operators); a table given in a
# config overrides these entry by entry
OPERATOR_WEIGHTS = {"perturb": 3.0, "add_vertex": 1.0, "remove_vertex": 1.0, "replace": 1.0,
                    "delete": 1.0, "insert": 1.0}


@dataclass(frozen=True)
class SearchConfig:
    """``tsearch evolve``: the genetic search over training sets (experiment 3).

    ``generations`` counts every evaluated generation, the initial population included. The
    ``random`` baseline (training sets drawn from the target, ``baseline_repeats`` per size of
    ``size_grid``) runs first in every ``nsga2`` / ``single`` search, by the same loop.
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
    # fresh training seeds per Pareto-front set and per best random set after the search: its
    # values are maxima over noisy evaluations, biased upward (0 = no re-evaluation)
    reevaluate_seeds: int = 3
    # multi-fidelity (successive halving): offspring trained first to these fractions of
    # train.steps, the best `promote` fraction of each rung (NSGA-II rank, crowding) going on,
    # and the survivors of the last to the full budget. () = every offspring at full budget
    rungs: tuple[float, ...] = ()
    promote: float = 0.5

    def __post_init__(self):
        check(self.generations >= 1, "generations", "must be >= 1")
        check(self.population >= 2, "population", "must be >= 2")
        check(1 <= self.n_min <= self.n_max, "n_min", "need 1 <= n_min <= n_max")
        check(len(self.size_grid) >= 1 and all(n >= 1 for n in self.size_grid), "size_grid",
              "needs sizes >= 1")
        check(0 <= self.crossover_prob <= 1, "crossover_prob", "must be in [0, 1]")
        check(0 <= self.mutation_prob <= 1, "mutation_prob", "must be in [0, 1]")
        check(self.vertex_sigma > 0, "vertex_sigma", "must be > 0")
        check(self.keep_checkpoints >= 1, "keep_checkpoints", "must be >= 1")
        check(self.fixed_size >= 0, "fixed_size", "must be >= 0")
        check(self.baseline_repeats >= 0, "baseline_repeats", "must be >= 0")
        check(self.reevaluate_seeds >= 0, "reevaluate_seeds", "must be >= 0")
        check(all(0 < f < 1 for f in self.rungs) and list(self.rungs) == sorted(set(self.rungs)),
              "rungs", "fractions of train.steps in (0, 1), increasing (the full budget comes last)")
        check(0 < self.promote <= 1, "promote", "must be in (0, 1]")
        for name, weight in self.operator_weights.items():
            check(name in OPERATOR_WEIGHTS, "operator_weights",
                  f"unknown operator {name!r} (choose among {', '.join(OPERATOR_WEIGHTS)})")
            check(isinstance(weight, (int, float)) and not isinstance(weight, bool) and weight >= 0,
                  "operator_weights", f"{name}: must be a number >= 0")
        check(sum(self.weights.values()) > 0, "operator_weights", "all weights are 0")

    @property
    def weights(self) -> dict[str, float]:
        """The operator weights in effect: the defaults overridden by ``operator_weights``."""
        return {**OPERATOR_WEIGHTS, **{k: float(v) for k, v in self.operator_weights.items()}}

    @property
    def size(self) -> int:
        """The fixed training-set size of the ``single`` strategy."""
        return self.fixed_size or self.n_max


@dataclass(frozen=True)
class ExecutorConfig:
    kind: Literal["local", "ray"] = "local"
    address: str = ""  # ray: "" starts a local Ray, "auto" or HOST:PORT joins a cluster
    num_actors: int = 0  # ray: 0 = one per GPU share / CPU
    num_gpus: float = 0.0  # ray: GPU share per actor (fractional allowed)
    num_cpus: float = 1.0  # ray: CPUs per actor
    tasks_per_chunk: int = 4
    max_retries: int = 2  # retries of a chunk whose worker died (process or node)
    workers: int = 0  # local: worker processes (0 = the cores this process may use; 1 = in-process)
    start_timeout_s: float = 300.0  # ray: fail queued chunks if no actor can start this long

    def __post_init__(self):
        check(self.num_actors >= 0, "num_actors", "must be >= 0")
        check(self.num_gpus >= 0, "num_gpus", "must be >= 0")
        check(self.num_gpus <= 1 or float(self.num_gpus).is_integer(), "num_gpus",
              "a share above 1 GPU must be a whole number (Ray's rule)")
        check(self.num_cpus > 0, "num_cpus", "must be > 0")
        check(self.tasks_per_chunk >= 1, "tasks_per_chunk", "must be >= 1")
        check(self.max_retries >= 0, "max_retries", "must be >= 0")
        check(self.workers >= 0, "workers", "must be >= 0")
        check(self.start_timeout_s > 0, "start_timeout_s", "must be > 0")


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
