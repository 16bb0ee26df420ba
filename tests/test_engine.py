"""The population evaluator: determinism across chunkings, failure as a result, oracles."""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pytest
import torch

from tsearch import torch_seeding
from tsearch.config import (
    CNNConfig,
    Config,
    DotsConfig,
    EmpiricalConfig,
    EngineConfig,
    MetricsConfig,
    MLPConfig,
    SamplerConfig,
    TrainConfig,
    UNetConfig,
)
from tsearch.engine import EvalResult, EvalTask, evaluate
from tsearch.engine import chunk as chunk_module
from tsearch.engine.device import cpu_form, plan_chunk
from tsearch.engine.evaluator import choose_form
from tsearch.engine.stacked import StackedNet, make_optimizer
from tsearch.engine.train import seeded_model
from tsearch.errors import UserError
from tsearch.models import build_model

TINY = Config(target=DotsConfig(side=4), model=MLPConfig(width=32, depth=1, time_dim=8),
              train=TrainConfig(steps=40, batch_size=8, n_checkpoints=2, first_checkpoint=20),
              sampler=SamplerConfig(n_steps=10, n_samples=64),
              metrics=MetricsConfig(n_bootstrap=50, reference_samples=256))


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


def tiny_task(i: int, config: Config = TINY, **kw) -> EvalTask:
    kw.setdefault("n_train", 2 + i % 4)  # training sets of different sizes in one chunk
    return EvalTask.from_config(config, task_id=f"t{i}", seed=100 + i, keep_samples=True, **kw)


def with_lr(lr: float) -> Config:
    return dataclasses.replace(TINY, train=dataclasses.replace(TINY.train, lr=lr))


def same_result(a: EvalResult, b: EvalResult) -> bool:
    def values(c):  # NaN (an undefined metric) equals NaN here
        return np.array([c.metrics[k] for k in sorted(c.metrics)] + [c.loss])

    return all(np.array_equal(x.samples, y.samples) and np.array_equal(values(x), values(y), equal_nan=True)
               for x, y in zip(a.scored, b.scored, strict=True))


# ----------------------------------------------------------------------------- determinism
@pytest.fixture(scope="module")
def chunk_of_8():
    tasks = [tiny_task(i) for i in range(8)]
    return tasks, evaluate(tasks, EngineConfig(form="vmap", chunk_size=8))


def test_a_task_alone_matches_it_inside_a_chunk_of_8(chunk_of_8):
    tasks, together = chunk_of_8
    assert all(r.ok and r.form == "vmap" and r.chunk_size == 8 for r in together)
    for i in (0, 5):  # two sizes of training set
        [alone] = evaluate([tasks[i]], EngineConfig(form="vmap"))
        assert alone.chunk_size == 1 and [c.step for c in alone.scored] == [20, 40]
        for a, b in zip(alone.scored, together[i].scored):
            # the tolerance asked of the fast path: >= 99 % identical binarized samples; bootstrap intervals
            assert (a.samples == b.samples).all(axis=(1, 2)).mean() >= 0.99
            for name, (lo, hi) in a.intervals.items():
                if np.isfinite(b.metrics[name]):
                    assert lo - 1e-9 <= b.metrics[name] <= hi + 1e-9, name


def test_identical_chunking_gives_identical_results(chunk_of_8):
    tasks, first = chunk_of_8
    again = evaluate(tasks, EngineConfig(form="vmap", chunk_size=8))
    assert all(same_result(a, b) for a, b in zip(first, again))
    assert [r.task_id for r in again] == [t.task_id for t in tasks]


def test_loop_form_gives_the_vmap_numbers(chunk_of_8):
    tasks, stacked = chunk_of_8
    looped = evaluate(tasks[:2], EngineConfig(form="loop"))
    assert [r.form for r in looped] == ["loop", "loop"]
    for a, b in zip(looped, stacked):
        for x, y in zip(a.scored, b.scored):
            assert (x.samples == y.samples).all(axis=(1, 2)).mean() >= 0.99
            assert x.loss == pytest.approx(y.loss, rel=1e-4)


def test_results_carry_timings_memory_and_the_training_set(chunk_of_8):
    tasks, results = chunk_of_8
    r = results[3]
    assert set(r.timings) == {"prepare_s", "train_s", "sample_s", "metrics_s"}
    assert all(v > 0 for v in r.timings.values())
    assert r.n_params == sum(p.numel() for p in build_model(TINY.model, side=4).parameters())
    assert r.train_images.dtype == np.int8 and r.train_images.shape == (tasks[3].n_train, 4, 4)
    assert r.peak_memory_mb >= 0 and r.device == "cpu"
    assert r.scored[-1].samples.dtype == np.int8
    assert r.scored[-1].loss > 0
    assert {"valid", "copy", "g", "g_rel"} <= set(r.scored[-1].metrics)
    back = pickle.loads(pickle.dumps(r)).scored[-1].metrics
    assert back.keys() == r.scored[-1].metrics.keys()
    assert np.array_equal(list(back.values()), list(r.scored[-1].metrics.values()), equal_nan=True)


# ----------------------------------------------------------------------------- failures
def test_a_diverging_task_fails_alone_and_its_chunk_completes_unchanged(chunk_of_8):
    tasks, clean = chunk_of_8
    poisoned = tiny_task(1, with_lr(1e6))
    results = evaluate([tasks[0], poisoned, tasks[2]], EngineConfig(form="vmap"))
    assert not results[1].ok and "non-finite" in results[1].error
    assert results[0].ok and results[2].ok
    # survivors drop the failed model from the stack (moments included) and go on exactly
    for a, b in zip((results[0], results[2]), (clean[0], clean[2])):
        for x, y in zip(a.scored, b.scored, strict=True):
            assert (x.samples == y.samples).all(axis=(1, 2)).mean() >= 0.99


def test_out_of_memory_splits_the_chunk_and_fails_only_what_never_fits(monkeypatch, chunk_of_8):
    # CUDA OOM cannot happen on CPU: inject it. Chunks of more than 2 tasks "do not fit", and
    # task t3 does not fit even alone.
    tasks, clean = chunk_of_8
    real = chunk_module.run_chunk

    def tight(jobs, plan, progress):
        if len(jobs) > 2 or jobs[0].task.task_id == "t3":
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (injected)")
        return real(jobs, plan, progress)

    monkeypatch.setattr("tsearch.engine.evaluator.run_chunk", tight)
    results = evaluate(tasks[:5], EngineConfig(form="vmap", chunk_size=5))
    assert [r.ok for r in results] == [True, True, True, False, True]
    assert "out of memory" in results[3].error
    for a, b in zip(results[:3], clean[:3]):
        assert (a.scored[-1].samples == b.scored[-1].samples).all(axis=(1, 2)).mean() >= 0.99


def test_an_unrenderable_genome_is_a_failed_result():
    from tsearch.config import PolygonsConfig
    cfg = dataclasses.replace(TINY, target=PolygonsConfig(side=6))
    bad = tiny_task(0, cfg, n_train=None, train_params=(np.zeros((2, 3)),))  # 2 vertices
    [result] = evaluate([bad])
    assert not result.ok and "training set" in result.error


@pytest.mark.parametrize("field, value", [("train_images", np.ones((3, 5, 5))), ("n_train", None)])
def test_malformed_tasks_are_user_errors(field, value):
    task = dataclasses.replace(tiny_task(0), **{field: value})
    with pytest.raises(UserError, match="t0"):
        evaluate([task])


# ----------------------------------------------------------------------------- stop at memorization
# A config that copies within a few hundred steps: with copy >= 0.1 at 2 consecutive scored
# steps, task 2 stops after step 80, task 3 after 160, tasks 1 and 7 never (measured).
MEMORIZING = dataclasses.replace(
    TINY, model=MLPConfig(width=64, depth=2, time_dim=8),
    train=TrainConfig(steps=320, batch_size=16, lr=1e-2, n_checkpoints=5, first_checkpoint=20),
    metrics=MetricsConfig(n_bootstrap=0, reference_samples=256))
STOPPING = dataclasses.replace(MEMORIZING, train=dataclasses.replace(
    MEMORIZING.train, stop_when_copy=0.1, stop_patience=2))
STOP_IDS = (1, 2, 3, 7)


def same_checkpoints(a, b) -> bool:
    """Bit-identical scored steps: step, every metric (NaN equals NaN), loss and samples."""
    def values(c):
        return np.array([c.metrics[k] for k in sorted(c.metrics)] + [c.loss], dtype=float)
    return len(a) == len(b) and all(
        x.step == y.step and sorted(x.metrics) == sorted(y.metrics) and np.array_equal(x.samples, y.samples)
        and np.array_equal(values(x), values(y), equal_nan=True) for x, y in zip(a, b))


@pytest.fixture(scope="module")
def stop_runs():
    """(without stopping, with stopping) for the same 4 tasks, trained as one vmap chunk."""
    engine = EngineConfig(form="vmap", chunk_size=4)
    full = evaluate([tiny_task(i, MEMORIZING) for i in STOP_IDS], engine)
    stopped = evaluate([tiny_task(i, STOPPING) for i in STOP_IDS], engine)
    return full, stopped


def test_training_stops_after_patience_scored_steps_at_the_copy_threshold(stop_runs):
    full, stopped = stop_runs
    steps = [c.step for c in full[0].scored]
    for whole, result in zip(full, stopped):
        copies = [c.metrics["copy"] for c in whole.scored]
        # the rule, from the full curve: the first scored step closing 2 consecutive copies >= 0.1
        due = next((steps[k] for k in range(1, len(steps) - 1)
                    if copies[k - 1] >= 0.1 and copies[k] >= 0.1), None)
        assert result.ok and result.stopped_at == due, result.task_id
        ran = [c.step for c in result.scored]
        assert ran == [s for s in steps if due is None or s <= due]
        assert result.skipped_steps == tuple(s for s in steps if s not in ran)
    assert {r.stopped_at for r in stopped} == {80, 160, None}  # stops early, later, and never


def test_stopping_does_not_change_the_numbers_of_the_steps_that_ran(stop_runs):
    full, stopped = stop_runs
    for whole, result in zip(full, stopped):
        n = len(result.scored)
        # up to the first stop the stack is the same: bit-identical
        first_stop = min(r.stopped_at for r in stopped if r.stopped_at)
        same = [c for c in whole.scored[:n] if c.step <= first_stop]
        assert same_checkpoints(same, result.scored[:len(same)])
        # after it, a survivor trains in a smaller stack: its own moments, the same tolerance
        for x, y in zip(whole.scored[len(same):n], result.scored[len(same):]):
            assert (x.samples == y.samples).all(axis=(1, 2)).mean() >= 0.99


def test_stopping_is_the_same_in_a_chunk_of_1_and_of_4(stop_runs):
    _, together = stop_runs
    alone = evaluate([tiny_task(i, STOPPING) for i in STOP_IDS], EngineConfig(form="vmap", chunk_size=1))
    for a, b in zip(alone, together):
        assert (a.chunk_size, b.chunk_size) == (1, 4)
        assert (a.stopped_at, a.skipped_steps) == (b.stopped_at, b.skipped_steps)
        for x, y in zip(a.scored, b.scored, strict=True):
            assert (x.samples == y.samples).all(axis=(1, 2)).mean() >= 0.99


def test_progress_counts_the_steps_a_stopped_task_skips():
    ticks = []
    [result] = evaluate([tiny_task(2, STOPPING)], EngineConfig(form="loop"), progress=ticks.append)
    assert result.stopped_at == 80 and sum(ticks) == STOPPING.train.steps


def test_stopping_is_off_by_default_and_checked():
    from tsearch.config import FieldError

    assert TrainConfig().stop_when_copy == 0
    with pytest.raises(FieldError, match="stop_when_copy"):
        TrainConfig(stop_when_copy=1.5)
    with pytest.raises(FieldError, match="stop_patience"):
        TrainConfig(stop_patience=0)


# ----------------------------------------------------------------------------- other paths
def test_given_images_and_an_oracle_are_scored_at_step_0():
    images = -np.ones((3, 4, 4), np.float32)
    images[[0, 1, 2], [0, 1, 3], [0, 2, 1]] = 1.0  # three one-dot images
    cfg = dataclasses.replace(TINY, model=EmpiricalConfig())
    task = EvalTask.from_config(cfg, task_id="oracle", seed=1, train_images=images)
    ticks = []
    [result] = evaluate([task], progress=ticks.append)
    assert result.ok and result.form == "oracle" and ticks == [1]
    [checkpoint] = result.scored
    assert checkpoint.step == 0 and 0 <= checkpoint.metrics["copy"] <= 1
    assert np.array_equal(result.train_images, images.astype(np.int8))


def test_progress_counts_every_model_step():
    ticks = []
    evaluate([tiny_task(0), tiny_task(1)], EngineConfig(form="vmap"), progress=ticks.append)
    assert sum(ticks) == 2 * TINY.train.steps


def test_cpu_auto_form_is_a_fixed_rule_of_kind_and_side():
    from tsearch.targets import build_target

    def form(kind_cfg, side, engine=EngineConfig(), chunk=8):
        cfg = dataclasses.replace(TINY, model=kind_cfg, target=DotsConfig(side=side))
        job = type("Job", (), {"task": tiny_task(0, cfg), "target": build_target(cfg.target)})()
        return choose_form(engine, torch.device("cpu"), [job], chunk=chunk)

    assert form(MLPConfig(), 8) == "vmap" and form(MLPConfig(), 8, chunk=1) == "loop"
    assert form(MLPConfig(), 32) == "loop" and form(UNetConfig(), 8) == "loop"
    assert form(CNNConfig(), 8) == "loop" and form(CNNConfig(), 8, EngineConfig(form="vmap")) == "vmap"
    assert form(UNetConfig(), 16) == cpu_form("unet", 16)  # a rule: no timing involved


def test_seeded_models_depend_on_their_generator_only():
    def params(seed):
        model = seeded_model(build_model, TINY.model, side=4, device="cpu",
                             generator=torch_seeding.torch_generator(seed, "init"))
        return torch.cat([p.flatten() for p in model.parameters()])

    assert torch.equal(params(1), params(1)) and not torch.equal(params(1), params(2))


def test_dropping_a_model_keeps_the_survivors_adam_moments():
    models = [seeded_model(build_model, TINY.model, side=4, device="cpu",
                           generator=torch_seeding.torch_generator(i, "init")) for i in range(3)]
    net = StackedNet(models=models)
    optimizer = make_optimizer(net.parameters(), TINY.train)
    x, sigma = torch.randn(3, 5, 4, 4, generator=torch_seeding.torch_generator(0, "x")), torch.ones(3, 5)
    net(x, sigma).square().sum().backward()
    optimizer.step()
    before = {k: v.detach().clone() for k, v in net.params.items()}
    moments = [optimizer.state[p]["exp_avg"].clone() for p in net.parameters()]
    optimizer = net.keep([0, 2], optimizer)
    for (k, v), m, p in zip(before.items(), moments, net.parameters()):
        assert torch.equal(net.params[k], v[[0, 2]])
        assert torch.equal(optimizer.state[p]["exp_avg"], m[[0, 2]])


def test_chunk_plan_fits_the_budget():
    chunk, per_call = plan_chunk(n_params=1000, act_numel=100, batch=10, n_samples=50,
                                 budget=16_000 * 10)  # 16 kB of weights + 12 kB activations
    assert chunk == 5 and 1 <= per_call <= chunk


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_chunk_matches_cuda_alone():
    tasks = [tiny_task(i) for i in range(4)]
    engine = EngineConfig(device="cuda", form="vmap", bf16="off", compile="off")
    together = evaluate(tasks, engine)
    [alone] = evaluate(tasks[:1], engine)
    assert all(r.ok and r.device.startswith("cuda") for r in together)
    a, b = alone.scored[-1].samples, together[0].scored[-1].samples
    assert (a == b).all(axis=(1, 2)).mean() >= 0.99
    assert together[0].peak_memory_mb > 0


# ----------------------------------------------------------------------------- bench
def test_bench_prints_one_json_line_per_path(monkeypatch):
    import json

    from click.testing import CliRunner

    from tsearch.cli import main
    from tsearch.engine.bench import WORKLOADS, Workload

    monkeypatch.setitem(WORKLOADS, "cpu", Workload(TINY, n_train=3, n_tasks=2, loop_tasks=1))  # a tiny stand-in
    out = CliRunner().invoke(main, ["bench", "--device", "cpu"])
    assert out.exit_code == 0, out.output
    batched, loop = [json.loads(line) for line in out.output.splitlines()]
    assert (batched["path"], loop["path"], loop["form"]) == ("batched", "loop", "loop")
    for record in (batched, loop):
        assert record["workload"] == "cpu" and record["failed"] == 0
        assert record["evaluations_per_hour"] > 0 and record["model_steps_per_s"] > 0
        assert record["tflops"] > 0 and record["peak_memory_mb"] >= 0
    assert batched["ratio"] == pytest.approx(
        batched["evaluations_per_hour"] / loop["evaluations_per_hour"], rel=1e-6)


def test_each_engine_bench_path_starts_with_cold_process_caches(monkeypatch):
    # The loop path evaluates the batched path's tasks again in the same process: with the
    # first path's validity memos and references warm it measured 0.63x of an identical path.
    from tsearch.engine import bench
    from tsearch.engine.score import shared_target

    cold, real = [], bench.evaluate

    def spy(tasks, engine):
        cold.append(shared_target.cache_info().currsize == 0)
        return real(tasks, engine)

    monkeypatch.setattr(bench, "evaluate", spy)
    monkeypatch.setitem(bench.WORKLOADS, "cpu", bench.Workload(TINY, n_train=3, n_tasks=2, loop_tasks=1))
    bench.run_bench("cpu", device="cpu")
    assert cold == [True, True]


def test_bench_without_cuda_is_a_one_line_error():
    from click.testing import CliRunner

    from tsearch.cli import main

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    out = CliRunner().invoke(main, ["bench", "--device", "cuda"])
    assert out.exit_code == 2 and "no CUDA device" in out.output


def test_flops_count_training_and_every_sampler_call():
    from tsearch.config import SamplerConfig
    from tsearch.diffusion import build_process, build_sampler
    from tsearch.engine.bench import flops_per_task, sampler_calls

    process = build_process(TINY.diffusion)
    assert sampler_calls(build_sampler(SamplerConfig(n_steps=7), process), 4) >= 7
    longer = dataclasses.replace(TINY, train=dataclasses.replace(TINY.train, steps=80))
    assert flops_per_task(longer, torch.device("cpu")) > flops_per_task(TINY, torch.device("cpu")) > 0
