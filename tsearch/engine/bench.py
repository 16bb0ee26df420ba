"""``tsearch bench``: the batched engine against the one-model-at-a-time loop, same process.

Workloads (each task: its own random training set, trained, sampled once at the end, scored
with every metric):

    reference   polygons 16x16, n = 64, UNet (24, 32, 32) of 166k parameters, 2,000 steps at
                batch 64, 256 samples x 100 reverse steps, 128 tasks (loop path: 4)
    cpu         polygons 8x8, n = 16, UNet (16, 32) of 89k parameters, 200 steps at batch 32,
                64 samples x 20 reverse steps, 4 tasks                 (~1 minute on 2 cores)

Achieved TFLOP/s = (FLOPs of one training step x model-steps + FLOPs of one network call at
the sampling batch x network calls) / wall time; the FLOPs are counted by
``torch.utils.flop_counter.FlopCounterMode`` on one model, the network calls of the sampler by
running it once with a stand-in score.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import torch

from .. import torch_seeding
from ..config import Config, EngineConfig, MetricsConfig, PolygonsConfig, SamplerConfig, TrainConfig, UNetConfig
from ..tasks import EvalTask
from .evaluator import evaluate


@dataclass(frozen=True)
class Workload:
    config: Config
    n_train: int
    n_tasks: int
    loop_tasks: int  # evaluations/hour is a rate: the slow loop path may measure fewer tasks


WORKLOADS = {
    "reference": Workload(
        Config(target=PolygonsConfig(side=16),
               model=UNetConfig(channels=(24, 32, 32), time_dim=64),
               train=TrainConfig(steps=2000, batch_size=64, n_checkpoints=1),
               sampler=SamplerConfig(n_steps=100, n_samples=256),
               metrics=MetricsConfig(n_bootstrap=1000)),
        n_train=64, n_tasks=128, loop_tasks=4),
    "cpu": Workload(
        Config(target=PolygonsConfig(side=8, min_area=4.0),
               model=UNetConfig(channels=(16, 32), time_dim=32),
               train=TrainConfig(steps=200, batch_size=32, n_checkpoints=1),
               sampler=SamplerConfig(n_steps=20, n_samples=64),
               metrics=MetricsConfig(n_bootstrap=200, reference_samples=1024)),
        n_train=16, n_tasks=4, loop_tasks=4),
}


def bench_tasks(workload: Workload, n_tasks: int) -> list[EvalTask]:
    return [EvalTask.from_config(workload.config, task_id=f"bench{i}", seed=i,
                                 n_train=workload.n_train) for i in range(n_tasks)]


def run_bench(workload: str, *, device: str = "auto", n_tasks: int = 0, loop_tasks: int = 0,
              engine: EngineConfig = EngineConfig()) -> list[dict]:
    """One record per path, batched first (``ratio`` = batched / loop evaluations per hour).
    The loop path runs the first ``loop_tasks`` of the same tasks."""
    work = WORKLOADS[workload]
    tasks = bench_tasks(work, n_tasks or work.n_tasks)
    engine = dataclasses.replace(engine, device=device)
    flops = flops_per_task(work.config, torch.device(_device_name(device)))
    loop_engine = dataclasses.replace(engine, form="loop")
    records = [measure("batched", tasks, engine, flops),
               measure("loop", tasks[:loop_tasks or work.loop_tasks], loop_engine, flops)]
    records[0]["ratio"] = records[0]["evaluations_per_hour"] / records[1]["evaluations_per_hour"]
    return records


def _device_name(device: str) -> str:
    return ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device


def measure(path: str, tasks: list[EvalTask], engine: EngineConfig, flops: float) -> dict:
    """One path's rate, from cold process caches: the paths evaluate the same tasks, and a
    path that found the first one's validity memos and references warm ran ~1.6x faster
    (0.63 loop/batched on the cpu workload with both paths the loop, 2 cores)."""
    from .score import clear_process_caches

    clear_process_caches()
    t0 = time.perf_counter()
    results = evaluate(tasks, engine)
    wall = time.perf_counter() - t0
    steps = sum(max(t.scored_steps) for t, r in zip(tasks, results) if r.ok)
    train_s = sum(r.timings.get("train_s", 0.0) for r in results)
    return {"path": path, "form": results[0].form, "device": results[0].device,
            "tasks": len(tasks), "failed": sum(not r.ok for r in results),
            "wall_s": round(wall, 2),
            "evaluations_per_hour": round(len(tasks) / wall * 3600, 1),
            "model_steps_per_s": round(steps / max(train_s, 1e-9), 1),
            "tflops": round(flops * len(tasks) / wall / 1e12, 6),
            "peak_memory_mb": round(max(r.peak_memory_mb for r in results), 1)}


def flops_per_task(config: Config, device: torch.device) -> float:
    """FLOPs of one task: training steps + sampler network calls (metrics not counted)."""
    from torch.utils.flop_counter import FlopCounterMode

    from ..diffusion import build_process, build_sampler, denoising_loss
    from ..models import build_model
    from .stacked import SingleNet
    from .train import seeded_model

    side, process = config.target.side, build_process(config.diffusion)
    net = SingleNet(model=seeded_model(build_model, config.model, side=side, device=device,
                                       generator=torch_seeding.torch_generator(0, "bench")))
    gen = [torch_seeding.torch_generator(0, "bench", device=device)]
    x0 = torch.ones(1, config.train.batch_size, side, side, device=device)
    with FlopCounterMode(display=False) as train_count:
        denoising_loss(net, x0, process, gen, predicts=net.predicts).sum().backward()
    x = torch.zeros(1, config.sampler.n_samples, side, side, device=device)
    with FlopCounterMode(display=False) as call_count, torch.no_grad():
        net(x, torch.ones(1, config.sampler.n_samples, device=device))
    calls = sampler_calls(build_sampler(config.sampler, process), side)
    return (train_count.get_total_flops() * config.train.steps
            + call_count.get_total_flops() * calls)


def sampler_calls(sampler, side: int) -> int:
    """Network calls the sampler makes per sample (run once with a zero score on one image)."""
    calls = 0

    def zero_score(x, t):
        nonlocal calls
        calls += 1
        return torch.zeros_like(x)

    sampler.sample(zero_score, (1, side, side), torch_seeding.torch_generator(0, "count"))
    return calls
