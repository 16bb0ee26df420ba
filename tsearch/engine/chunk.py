"""One chunk of tasks that share a model config, image side, diffusion, training and sampler:
train together (vmap) or alone (loop, a chunk of 1), sample and score at every checkpoint.

Failures stay inside the chunk: a model whose loss turns non-finite is dropped from the stack
(its optimizer moments with it) and reported ``ok=False``; the others train on unchanged.
A model that has memorized (``train.stop_when_copy``, engine/train.py) leaves the stack the
same way, ``ok`` with ``stopped_at`` and ``skipped_steps`` set, and so does one whose selection
metric has passed its peak (``train.stop_after_peak``).

Two-stage scoring (``sampler.n_select`` > 0): every scored step is sampled with ``n_select``
samples; a copy of a model's weights is kept whenever its selection metric reaches a new best,
and after training that copy is sampled with ``n_samples`` fresh samples (their own generator
stream, "select_sample") and scored: ``result.selected``, the reported value.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from .. import torch_seeding
from ..targets.base import Target, binarize
from ..tasks import EvalResult, EvalTask, ScoredStep
from .device import MemoryMeter
from .score import sample_generators, sample_models, score_step, validities
from .stacked import SingleNet, StackedNet
from .train import CHECK_EVERY, TrainData, Trainer, memorized, past_peak, seeded_model


@dataclass(eq=False)  # compared by identity
class Job:
    """A task inside the engine: its target, training set and result being filled in."""

    task: EvalTask
    target: Target
    train: np.ndarray  # (n, H, W) float32 in {-1, +1}
    novel_mass: float
    result: EvalResult
    best_net: object = None  # two-stage scoring: the weights at the best selection step so far
    best_step: int | None = None

    def fail(self, reason: str) -> None:
        self.result.ok, self.result.error = False, reason

    def add_time(self, key: str, seconds: float) -> None:
        self.result.timings[key] = self.result.timings.get(key, 0.0) + seconds


@dataclass(frozen=True)
class ChunkSettings:
    """How the chunks of a group run (form, sizes, precision); decided once per group
    (tsearch.engine.evaluator.group_settings)."""

    device: torch.device
    form: str  # "vmap" | "loop"
    chunk_size: int  # models trained together (1 for loop)
    per_call: int  # models sampled together
    bf16: bool
    compile: bool
    metric_threads: int


Progress = Callable[[int], None]


def run_chunk(jobs: list[Job], settings: ChunkSettings, progress: Progress) -> None:
    """Train, sample and score ``jobs`` as one stack; fills each job's result in place."""
    from ..diffusion import build_process, build_sampler, denoising_loss, make_score_fn

    task = jobs[0].task
    process = build_process(task.diffusion)
    sampler = build_sampler(task.sampler, process)
    meter = MemoryMeter(settings.device).start()
    data = TrainData.stack([j.train for j in jobs], settings.device)
    generators = [torch_seeding.torch_generator(j.task.seed, "train", device=settings.device) for j in jobs]
    trainer = Trainer(net=_build_net(jobs, settings), data=data, train=task.train, process=process,
                      loss_fn=denoising_loss, generators=generators)
    alive, step = list(jobs), 0
    for stop in sorted(task.scored_steps):
        t0 = time.perf_counter()
        while step < stop and alive:
            n = min(CHECK_EVERY, stop - step)
            for _ in range(n):
                trainer.step()
            step += n
            progress(n * len(alive))
            alive = _drop_failed(trainer, alive, step, n, progress)
            meter.poll()
        _share_time(alive, "train_s", t0)
        if not alive:
            break
        losses = trainer.take_mean_loss() if step > 0 else [None] * len(alive)
        samples = _sample(trainer, alive, step, process, sampler, make_score_fn, settings)
        meter.poll()
        scored = _score(alive, samples, losses, step, settings, progress)
        _keep_best_weights(trainer, alive, scored)
        going_on = [j for j in scored if not _stop_if_done(j, step, progress)]
        if 0 < len(going_on) < len(alive):  # non-finite samples or memorized: those leave the stack
            trainer.keep([i for i, j in enumerate(alive) if j in going_on])
        alive = going_on
    _score_selected([j for j in jobs if j.result.ok], process, sampler, make_score_fn, settings)
    for job in jobs:
        job.result.peak_memory_mb = meter.peak_mb()
        job.result.chunk_size = len(jobs)


def _build_net(jobs: list[Job], settings: ChunkSettings):
    from ..models import build_model

    task = jobs[0].task
    models = [seeded_model(build_model, task.model, side=j.target.side, device=settings.device,
                           generator=torch_seeding.torch_generator(j.task.seed, "init"))
              for j in jobs]
    n_params = sum(p.numel() for p in models[0].parameters())
    for job in jobs:
        job.result.n_params = n_params
    if settings.form == "loop":
        return SingleNet(model=models[0], bf16=settings.bf16, compile=settings.compile)
    return StackedNet(models=models, bf16=settings.bf16, compile=settings.compile,
                      key=(task.model, jobs[0].target.side))


def _drop_failed(trainer: Trainer, alive: list[Job], step: int, n: int, progress: Progress) -> list[Job]:
    bad = set(trainer.failed())
    if not bad:
        return alive
    for i in sorted(bad):
        _retire(alive[i], f"training loss became non-finite (nan/inf) between steps {step - n} "
                f"and {step} (lr = {alive[i].task.train.lr:g})", step, progress)
    keep = [i for i in range(len(alive)) if i not in bad]
    if keep:
        trainer.keep(keep)
    return [alive[i] for i in keep]


def _stop_if_done(job: Job, step: int, progress: Progress) -> bool:
    """Stop ``job`` after this scored step if it has memorized or passed its selection peak and
    steps remain; records the scored steps it will not run."""
    later = tuple(s for s in sorted(job.task.scored_steps) if s > step)
    task = job.task
    if not later or not (memorized(job.result.scored, task.train)
                         or past_peak(job.result.scored, task.train, task.sampler.select_metric)):
        return False
    job.result.stopped_at, job.result.skipped_steps = step, later
    progress(later[-1] - step)  # the steps it will not run
    return True


def _sample(trainer: Trainer, alive: list[Job], step: int, process, sampler, make_score_fn,
            settings: ChunkSettings) -> torch.Tensor:
    """(P_alive, M, H, W) raw samples at this checkpoint."""
    t0 = time.perf_counter()
    task = alive[0].task
    samples = sample_models(trainer.net, process=process, sampler=sampler,
                            make_score_fn=make_score_fn,
                            n_samples=task.sampler.n_select or task.sampler.n_samples,
                            generators=sample_generators([j.task.seed for j in alive], step, settings.device),
                            side=alive[0].target.side, per_call=settings.per_call)
    _share_time(alive, "sample_s", t0)
    return samples


def _keep_best_weights(trainer: Trainer, alive: list[Job], scored: list[Job]) -> None:
    """Two-stage scoring: copy the weights of each scored job whose selection metric just
    reached a new best (the rule of tsearch.tasks.best_index: earliest step on ties)."""
    from ..tasks import best_index

    for i, job in enumerate(alive):
        if job not in scored or not job.task.sampler.n_select:
            continue
        points = [(s.step, s.metrics) for s in job.result.scored]
        best = best_index(points, job.task.sampler.select_metric)
        if best is not None and points[best][0] != job.best_step:
            job.best_net, job.best_step = trainer.net.snapshot(i), points[best][0]


def _score_selected(jobs: list[Job], process, sampler, make_score_fn, settings: ChunkSettings) -> None:
    """Sample each job's kept weights with ``n_samples`` fresh samples and score them."""
    for job in jobs:
        if job.best_net is None:
            continue
        task, t0 = job.task, time.perf_counter()
        gen = [torch_seeding.torch_generator(task.seed, "select_sample", job.best_step, device=settings.device)]
        raw = sample_models(job.best_net, process=process, sampler=sampler,
                            make_score_fn=make_score_fn, n_samples=task.sampler.n_samples,
                            generators=gen, side=job.target.side, per_call=1)[0]
        job.best_net = None  # free it
        job.add_time("sample_s", time.perf_counter() - t0)
        if not torch.isfinite(raw).all():
            job.fail(f"samples of the chosen step {job.best_step} became non-finite")
            continue
        t0 = time.perf_counter()
        [validity] = validities([job.target], [raw.cpu().numpy()], settings.metric_threads)
        job.result.selected = score_samples(job, raw, validity, job.best_step, None)
        job.add_time("metrics_s", time.perf_counter() - t0)


def _retire(job: Job, reason: str, step: int, progress: Progress) -> None:
    """Fail a job mid-training; its scored steps so far stay in its result."""
    job.fail(reason)
    progress(max(job.task.scored_steps) - step)  # the steps it will not run


def _score(alive: list[Job], samples: torch.Tensor, losses: list, step: int, settings: ChunkSettings,
           progress: Progress) -> list[Job]:
    """Append a checkpoint to every job; returns the jobs whose samples were finite."""
    finite = torch.isfinite(samples.flatten(1)).all(1).tolist()
    for job, ok in zip(alive, finite):
        if not ok:
            _retire(job, f"samples became non-finite at step {step}", step, progress)
    kept = [(j, s, loss) for j, s, loss, ok in zip(alive, samples, losses, finite) if ok]
    t0 = time.perf_counter()
    valid = validities([j.target for j, _, _ in kept], [s.cpu().numpy() for _, s, _ in kept],
                       settings.metric_threads)
    _share_time([j for j, _, _ in kept], "metrics_s", t0)
    for (job, raw, loss), validity in zip(kept, valid):
        t0 = time.perf_counter()
        job.result.scored.append(score_samples(job, raw, validity, step, loss))
        job.add_time("metrics_s", time.perf_counter() - t0)
    return [j for j, _, _ in kept]


def score_samples(job: Job, raw: torch.Tensor, validity, step: int, loss) -> ScoredStep:
    """The metrics of one model's samples (M, H, W) at one scored step, from their binarization
    alone (engine/score.py: what a run folder keeps is enough to re-score them)."""
    task = job.task
    report = score_step(raw, job.train, target_cfg=task.target, metrics_cfg=task.metrics,
                        seed=task.seed, step=step, mass=job.novel_mass, validity=validity)
    kept = binarize(raw.cpu().numpy()).astype(np.int8) if task.keep_samples else None
    return ScoredStep(step=step, metrics=dict(report.metrics), intervals=dict(report.intervals),
                      extra=dict(report.extra), samples=kept,
                      loss=None if loss is None else float(loss))


def _share_time(jobs: list[Job], key: str, t0: float) -> None:
    """Wall time since ``t0``, shared equally by the jobs that ran together."""
    if jobs:
        dt = (time.perf_counter() - t0) / len(jobs)
        for job in jobs:
            job.add_time(key, dt)
