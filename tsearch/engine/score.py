"""Sampling many models at once and scoring their samples.

Sampling runs the reverse process of all P models of a chunk as one (P, M, H, W) batch, model
i's noise drawn from its own generator, in slices of models that fit in memory. Scoring keeps
the Hamming / copy computations on the device (compute_metrics receives device tensors) and
runs the target's validity test -- the slow part for polygons -- on CPU threads; the target
memoizes it per binarized image (a model that has converged draws the same images again).
Scoring reads only the binarized samples (what a run folder keeps), the training set, the
task's seed and the step: ``score_step`` is the one function the engine, ``tsearch score`` and
the re-scoring of a run folder call, so re-scoring saved samples gives the recorded numbers.
What scoring needs from the target besides the training set (a reference sample for precision /
recall, the chance table of random blobs) is built once per process and (target, metrics) config
by ``target_reference`` and shared by every task and scored step.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from .. import seeding, torch_seeding
from ..metrics import MetricsReport, TargetReference, build_reference, compute_metrics
from ..metrics.chance import chance_report
from ..targets.base import Target, Validity, binarize


def sample_models(net, *, process, sampler, make_score_fn, generators: Sequence[torch.Generator],
                  n_samples: int, side: int, per_call: int) -> torch.Tensor:
    """(P, M, H, W) raw samples of the P models of ``net``, ``per_call`` models at a time."""
    parts = []
    with torch.no_grad():
        for lo in range(0, len(generators), per_call):
            idx = list(range(lo, min(lo + per_call, len(generators))))
            sub = net.select(idx)
            score_fn = make_score_fn(sub, process, predicts=net.predicts)
            shape = (len(idx), n_samples, side, side)
            parts.append(sampler.sample(score_fn, shape, [generators[i] for i in idx]))
    return torch.cat(parts)


def sample_generators(seeds: Sequence[int], step: int, device) -> list[torch.Generator]:
    """Fresh per-checkpoint generators: a checkpoint's samples do not depend on earlier ones."""
    return [torch_seeding.torch_generator(s, "sample", step, device=device) for s in seeds]


def validities(targets: Sequence[Target], samples: Sequence[np.ndarray],
               threads: int) -> list[Validity]:
    """Validity of each model's binarized samples, models spread over ``threads`` CPU threads
    (targets with a costly test, polygons, memoize it per binarized image themselves)."""
    jobs = [(t, binarize(s)) for t, s in zip(targets, samples)]
    if threads <= 1 or len(jobs) <= 1:
        return [t.is_valid(s) for t, s in jobs]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(lambda ts: ts[0].is_valid(ts[1]), jobs))


def target_reference(target_cfg, target: Target, metrics_cfg) -> TargetReference:
    """The reference of ``target`` (built from ``target_cfg``) under ``metrics_cfg``, kept for the
    process by the configs' values; ``target`` is the process's shared target of that config,
    whose validity memo then also serves the chance table's blobs."""
    key = (target_cfg, metrics_cfg.precision_recall, metrics_cfg.pr_neighbours,
           metrics_cfg.pr_reference_size, metrics_cfg.chance_blobs, metrics_cfg.reference_seed)
    if key not in _REFERENCES:
        _REFERENCES[key] = build_reference(target, metrics_cfg)
    return _REFERENCES[key]


_REFERENCES: dict[tuple, TargetReference] = {}  # n_bootstrap etc. do not change a reference


def clear_process_caches() -> None:
    """Forget the shared targets (their validity memos) and references, as in a new process:
    a benchmark that evaluates the same tasks twice in one process must not time a warm memo."""
    shared_target.cache_clear()
    _REFERENCES.clear()


@functools.lru_cache(maxsize=64)
def shared_target(cfg) -> Target:
    """One target per config in the process, so that its validity memo (polygons) serves
    every task and every later call (the generations of a search)."""
    from ..targets import build_target  # here: each kind's module loads on first use
    return build_target(cfg)


def novel_mass(target: Target, train: np.ndarray, *, seed: int, metrics_cfg) -> float:
    """The g of a perfect generator for this training set (denominator of g_rel)."""
    return target.novel_mass(train, seeding.numpy_rng(seed, "novel_mass"), metrics_cfg.reference_samples)


def score_step(samples, train, *, target_cfg, metrics_cfg, seed: int, step: int, mass: float,
               validity: Validity | None = None) -> MetricsReport:
    """Every metric of one scored step: samples (M, H, W) (binarized at 0 here, on their device)
    against the training set (n, H, W) in ±1; bootstrap resamples drawn from (seed, step)."""
    x = torch.as_tensor(samples)
    s = torch.where(x > 0, 1.0, -1.0)  # (M, H, W) float32
    target = shared_target(target_cfg)
    return compute_metrics(s, torch.as_tensor(train, dtype=torch.float32, device=s.device), target,
                           config=metrics_cfg, novel_mass=mass,
                           rng=seeding.numpy_rng(seed, "metrics", step), validity=validity,
                           reference=target_reference(target_cfg, target, metrics_cfg))


def chance_summary(target: Target, images: np.ndarray | None, *, blobs: int, seed: int) -> dict:
    """``tsearch validate --chance``: the chance level of ``blobs`` random blobs with the white
    areas of ``images`` (cycled), or of as many fresh target samples; with images, also their
    own validity rate."""
    source = images if images is not None else target.sample(blobs, seeding.numpy_rng(seed, "chance", "areas")).images
    areas = np.resize((np.asarray(source) > 0).sum(axis=(1, 2)), blobs)
    report = chance_report(lambda im: target.is_valid(im).valid, areas, target.shape,
                           seeding.numpy_rng(seed, "chance", "blobs"))
    if images is not None:
        report["images_valid"] = float(target.is_valid(images).valid.mean())
    report["areas_from"] = "images" if images is not None else "target samples"
    return report
