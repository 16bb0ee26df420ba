"""``evaluate(tasks) -> results``: group, settle how each group runs, chunk, and turn failures into
results.

Tasks that share (model config, side, diffusion, training, sampler, scored steps) form a group;
a group is planned once (device form, chunk size) and runs chunk by chunk in task order.
A chunk that runs out of CUDA memory is split in two and retried; a single task that still
does not fit is a failed result. Randomness is per task, so neither changes any number.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
import torch

from .. import seeding, torch_seeding
from ..config import ORACLE_KINDS, EngineConfig
from ..errors import UserError
from ..targets.base import binarize
from ..tasks import EvalResult, EvalTask
from .chunk import ChunkSettings, Job, run_chunk, score_samples
from .device import activation_numel, cpu_form, memory_budget, plan_chunk, resolve_device, use_bf16, use_compile
from .score import novel_mass, sample_generators, shared_target, validities


def evaluate(tasks: Sequence[EvalTask], engine: EngineConfig = EngineConfig(),
             progress: Callable[[int], None] | None = None) -> list[EvalResult]:
    """Train, sample and score every task; results in task order. ``progress(k)`` is called
    with k more units done: model training steps, and 1 per oracle task."""
    device = resolve_device(engine.device)
    set_threads(engine.threads, device)
    progress = progress or (lambda k: None)
    for task in tasks:
        check_task(task)
    jobs = [prepare(task, device) for task in tasks]
    if skipped := sum(j.task.work_units for j in jobs if not j.result.ok):
        progress(skipped)  # tasks whose training set could not be built will not run
    for group in group_jobs([j for j in jobs if j.result.ok]).values():
        if group[0].task.model.kind in ORACLE_KINDS:
            for job in group:
                run_oracle(job, device, engine.metric_threads)
                progress(1)
        else:
            run_group(group, engine, device, progress)
    return [job.result for job in jobs]


def check_task(task: EvalTask) -> None:
    """User errors in a task, raised before any work starts."""
    given = [task.train_images is not None, task.train_params is not None, task.n_train is not None]
    if sum(given) != 1:
        raise UserError(f"task {task.task_id}: give exactly one of train_images, train_params, n_train")
    if task.train_images is not None:
        shape = np.shape(task.train_images)
        side = task.target.side
        if len(shape) != 3 or shape[0] < 1 or shape[1:] != (side, side):
            raise UserError(f"task {task.task_id}: train_images of shape {shape}; "
                            f"expected (n >= 1, {side}, {side})")
    if task.n_train is not None and task.n_train < 1:
        raise UserError(f"task {task.task_id}: n_train must be >= 1, got {task.n_train}")
    if not task.scored_steps or min(task.scored_steps) < 0:
        raise UserError(f"task {task.task_id}: scored_steps must be a non-empty list of steps >= 0")


def prepare(task: EvalTask, device: torch.device) -> Job:
    """The task's target and training set; a genome that cannot be rendered is a failed result."""
    t0 = time.perf_counter()
    target = shared_target(task.target)
    result = EvalResult(task_id=task.task_id, ok=True, device=str(device))
    job = Job(task=task, target=target, train=np.zeros((0, target.side, target.side), np.float32),
              novel_mass=float("nan"), result=result)
    try:
        job.train = training_set(task, target)
    except (UserError, ValueError, NotImplementedError) as exc:
        job.fail(f"training set could not be built: {exc}")
        return job
    result.train_images = job.train.astype(np.int8)
    job.novel_mass = novel_mass(target, job.train, seed=task.seed, metrics_cfg=task.metrics)
    job.add_time("prepare_s", time.perf_counter() - t0)
    return job


def training_set(task: EvalTask, target) -> np.ndarray:
    """(n, H, W) float32 in {-1, +1}: the given images, the rendered genome, or a target sample
    (``task.distinct``: n distinct support images)."""
    if task.train_images is not None:
        return binarize(task.train_images)
    if task.train_params is not None:
        return binarize(target.render(list(task.train_params)))
    rng = seeding.numpy_rng(task.seed, "train_set")
    if task.distinct:
        return binarize(target.sample_distinct(task.n_train, rng))
    return binarize(target.sample(task.n_train, rng).images)


def group_jobs(jobs: Sequence[Job]) -> dict[tuple, list[Job]]:
    """Jobs that train as one stack: the executors' key (EvalTask.stack_key) and the same
    scored steps (first appearance order)."""
    groups: dict[tuple, list[Job]] = {}
    for job in jobs:
        groups.setdefault((job.task.stack_key, tuple(sorted(job.task.scored_steps))), []).append(job)
    return groups


# ----------------------------------------------------------------------------- trained models
def run_group(group: list[Job], engine: EngineConfig, device: torch.device, progress) -> None:
    settings = group_settings(group, engine, device)
    for job in group:
        job.result.form = settings.form
    for lo in range(0, len(group), settings.chunk_size):
        run_with_split(group[lo:lo + settings.chunk_size], settings, progress)


def run_with_split(jobs: list[Job], settings: ChunkSettings, progress) -> None:
    """Run a chunk; on CUDA out-of-memory, halve it and retry (fresh results, same seeds)."""
    try:
        run_chunk(jobs, settings, progress)
    except torch.cuda.OutOfMemoryError as exc:
        _reset(jobs)
        if settings.device.type == "cuda":
            torch.cuda.empty_cache()
        if len(jobs) == 1:
            jobs[0].fail(f"out of memory on {settings.device} even alone: {str(exc).splitlines()[0]}")
            return
        half = len(jobs) // 2
        for part in (jobs[:half], jobs[half:]):
            run_with_split(part, settings, progress)


def _reset(jobs: list[Job]) -> None:
    """Forget what a chunk that ran out of memory recorded (the training set stays)."""
    for job in jobs:
        job.result.ok, job.result.error = True, None
        job.result.stopped_at, job.result.skipped_steps = None, ()
        job.result.selected, job.best_net, job.best_step = None, None, None
        job.result.scored.clear()
        job.result.timings = {"prepare_s": job.result.timings.get("prepare_s", 0.0)}


def group_settings(group: list[Job], engine: EngineConfig, device: torch.device) -> ChunkSettings:
    from ..models import build_model
    from .train import seeded_model

    task, side = group[0].task, group[0].target.side
    probe = seeded_model(build_model, task.model, side=side, device=device,
                         generator=torch_seeding.torch_generator(0, "probe"))
    n_params = sum(p.numel() for p in probe.parameters())
    chunk, per_call = plan_chunk(n_params=n_params, act_numel=activation_numel(probe, side),
                                 batch=task.train.batch_size, n_samples=task.sampler.n_samples,
                                 budget=memory_budget(device))
    chunk = min(engine.chunk_size or chunk, len(group))
    form = choose_form(engine, device, group, chunk)
    if form == "loop":
        chunk, per_call = 1, 1
    return ChunkSettings(device=device, form=form, chunk_size=chunk, per_call=min(per_call, chunk),
                         bf16=use_bf16(engine, device, task.model.kind),
                         compile=use_compile(engine, device), metric_threads=engine.metric_threads)


def choose_form(engine: EngineConfig, device: torch.device, group: list[Job], chunk: int) -> str:
    """vmap | loop. Given, or auto: a fixed rule of (kind, side) on CPU (so that a resumed
    search gets the same numbers), a cached calibration on CUDA."""
    if engine.form != "auto":
        return engine.form
    if chunk == 1:
        return "loop"
    if device.type == "cpu":
        return cpu_form(group[0].task.model.kind, group[0].target.side)
    from .calibrate import calibrated_form
    return calibrated_form(group[:chunk], device,
                           bf16=use_bf16(engine, device, group[0].task.model.kind),
                           compile=use_compile(engine, device))


# ----------------------------------------------------------------------------- oracles
def set_threads(threads: int, device: torch.device) -> None:
    """torch's intra-op threads. ``0`` (auto) is 1 on CPU: these models are too small to split
    a matrix product across cores, and when another process shares the cores, 2 threads ran
    a CNN training step 18x slower than 1; on an idle machine 2 threads gained at most 30 %
    (docs/benchmarks.md). Parallelism across
    evaluations comes from executors (one process per core or GPU share) instead."""
    if threads or device.type == "cpu":
        torch.set_num_threads(threads or 1)


def run_oracle(job: Job, device: torch.device, threads: int) -> None:
    """Sample an oracle's exact score at step 0 (no training) and score its samples."""
    from ..diffusion import build_process, build_sampler
    from ..oracles import build_oracle

    task = job.task
    job.result.form = "oracle"
    process = build_process(task.diffusion)
    t0 = time.perf_counter()
    score_fn = build_oracle(task.model, process=process, target=job.target,
                            train_images=torch.as_tensor(job.train, device=device),
                            rng=seeding.numpy_rng(task.seed, "oracle"))
    shape = (1, task.sampler.n_samples, job.target.side, job.target.side)
    with torch.no_grad():
        raw = build_sampler(task.sampler, process).sample(
            score_fn, shape, sample_generators([task.seed], 0, device))[0]
    job.add_time("sample_s", time.perf_counter() - t0)
    if not torch.isfinite(raw).all():
        job.fail("oracle samples are non-finite")
        return
    t0 = time.perf_counter()
    [validity] = validities([job.target], [raw.cpu().numpy()], threads)
    job.result.scored.append(score_samples(job, raw, validity, 0, None))
    job.add_time("metrics_s", time.perf_counter() - t0)
