"""Executors: local and Ray give the same results; Ray survives dead workers and nodes.

Ray tests share one local Ray (2 CPUs, one *logical* GPU: no hardware needed) started once
for the module; the two-node cluster test runs last, on its own cluster. Stand-in evaluate
functions are picklable objects whose numbers depend on each task's seed alone, like the
engine's; one test goes through the real engine with tiny sizes.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from tsearch import seeding
from tsearch.config import (Config, DiffusionConfig, DotsConfig, EngineConfig, ExecutorConfig,
                            FieldError, MetricsConfig, MLPConfig, SamplerConfig, TrainConfig)
from tsearch.tasks import EvalResult, EvalTask, ScoredStep
from tsearch.errors import UserError
from tsearch.executors import build_executor, chunked

ENGINE = EngineConfig(device="cpu")


def make_tasks(n: int, *, config: Config = Config()) -> list[EvalTask]:
    return [EvalTask.from_config(config, task_id=f"t{i}", seed=seeding.derive_seed(0, i), n_train=2)
            for i in range(n)]


def where() -> str:
    """Which process (and, under Ray, node and GPU ids) evaluated a task."""
    if "ray" in sys.modules and sys.modules["ray"].is_initialized():
        import ray
        return f"{ray.get_runtime_context().get_node_id()}/{os.getpid()}/gpus={ray.get_gpu_ids()}"
    return f"local/{os.getpid()}"


def fake_evaluate(tasks, engine) -> list[EvalResult]:
    """Stand-in for tsearch.engine.evaluate: numbers from each task's seed alone."""
    return [EvalResult(task_id=t.task_id, ok=True, device=where(), scored=[
        ScoredStep(step=s, metrics={"g": float(seeding.numpy_rng(t.seed, s).random())})
        for s in t.scored_steps]) for t in tasks]


def summary(results) -> list:
    """What must not depend on the executor: ids, status and every metric, in task-id order."""
    return sorted((r.task_id, r.ok, r.error, [(c.step, c.metrics) for c in r.scored])
                  for r in results)


@dataclass
class Slow:
    """Sleeps ``seconds`` per task (``by_task`` overrides), logging one file per attempt."""
    seconds: float = 0.0
    by_task: dict | None = None
    attempts: str = ""

    def __call__(self, tasks, engine):
        for t in tasks:
            if self.attempts:  # task.node.attempt: the test can see where a task is running
                Path(self.attempts, f"{t.task_id}.{_node_id()}.{uuid.uuid4().hex}").touch()
            time.sleep((self.by_task or {}).get(t.task_id, self.seconds))
        return fake_evaluate(tasks, engine)


def _node_id() -> str:
    import ray

    return ray.get_runtime_context().get_node_id() if ray.is_initialized() else "local"


@dataclass
class CrashOnce:
    """Kills its worker mid-task the first time (no marker yet); later calls succeed."""
    marker: str

    def __call__(self, tasks, engine):
        if not os.path.exists(self.marker):
            Path(self.marker).touch()
            time.sleep(0.1)
            os._exit(1)
        return fake_evaluate(tasks, engine)


@dataclass
class Poison:
    """Kills its worker whenever its chunk holds ``task_id``; counts those attempts."""
    task_id: str
    attempts: str

    def __call__(self, tasks, engine):
        if any(t.task_id == self.task_id for t in tasks):
            with open(self.attempts, "a") as f:
                f.write("attempt\n")
            os._exit(1)
        return fake_evaluate(tasks, engine)


def raise_bug(tasks, engine):
    raise ValueError("a bug in evaluate_fn")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ----------------------------------------------------------------------------- no Ray
def test_chunks_are_consecutive_and_deterministic():
    tasks = make_tasks(7)
    chunks = chunked(tasks, 3)
    assert [[t.task_id for t in c] for c in chunks] == [["t0", "t1", "t2"], ["t3", "t4", "t5"], ["t6"]]
    assert chunks == chunked(list(tasks), 3)


def test_local_executor_answers_every_task_in_chunks():
    seen = []

    def spy(tasks, engine):
        seen.append([t.task_id for t in tasks])
        return fake_evaluate(tasks, engine)

    with build_executor(ExecutorConfig(tasks_per_chunk=2), ENGINE, evaluate_fn=spy) as executor:
        results = list(executor.map(make_tasks(5)))
    assert seen == [["t0", "t1"], ["t2", "t3"], ["t4"]]
    assert summary(results) == summary(fake_evaluate(make_tasks(5), ENGINE))


def test_local_executor_rejects_results_that_miss_a_task():
    executor = build_executor(ExecutorConfig(), ENGINE, evaluate_fn=lambda tasks, engine: [])
    with pytest.raises(RuntimeError, match="expected"):
        list(executor.map(make_tasks(2)))


def test_executor_config_range_checks():
    with pytest.raises(FieldError, match="start_timeout_s"):
        ExecutorConfig(start_timeout_s=0)
    with pytest.raises(FieldError, match="num_cpus"):
        ExecutorConfig(num_cpus=0)
    with pytest.raises(FieldError, match="num_gpus"):
        ExecutorConfig(num_gpus=1.5)
    assert ExecutorConfig(num_gpus=0.25).num_gpus == 0.25


@pytest.mark.parametrize("address, message", [
    (f"127.0.0.1:{free_port()}", "ray: cannot reach 127.0.0.1"),
    ("no-port-here", "must be 'auto' or HOST:PORT"),
    ("ray://10.0.0.1:10001", "must be 'auto' or HOST:PORT"),
])
def test_unreachable_or_malformed_address_is_a_quick_user_error(address, message):
    start = time.monotonic()
    with pytest.raises(UserError, match=message) as info:
        build_executor(ExecutorConfig(kind="ray", address=address), ENGINE, evaluate_fn=fake_evaluate)
    assert "\n" not in str(info.value)
    assert time.monotonic() - start < 10  # ray.init alone would retry for minutes


# ----------------------------------------------------------------------------- local Ray
@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    # workers cannot import this test module: ship its stand-ins by value
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    if not ray.is_initialized():
        ray.init(num_cpus=2, num_gpus=1, include_dashboard=False, log_to_driver=False,
                 logging_level="ERROR")
    yield ray
    ray.shutdown()


def ray_config(**fields) -> ExecutorConfig:
    return ExecutorConfig(kind="ray", **{"num_cpus": 1, "tasks_per_chunk": 2, **fields})


@pytest.mark.ray
def test_ray_with_fractional_gpu_actors_matches_local(local_ray):
    tasks = make_tasks(6)
    local = list(build_executor(ExecutorConfig(tasks_per_chunk=2), ENGINE, evaluate_fn=fake_evaluate)
                 .map(tasks))
    with build_executor(ray_config(num_gpus=0.5), ENGINE, evaluate_fn=Slow(0.2)) as executor:
        assert executor.num_actors == 2  # as many as fit: 2 CPUs / 1, 1 GPU / 0.5
        assert executor.wait_ready(timeout_s=120) == 2
        remote = list(executor.map(tasks))
    assert summary(remote) == summary(local)
    # both actors worked, each holding a share of the one logical GPU
    assert len({r.device.split("/")[1] for r in remote}) == 2
    assert {r.device.split("/")[2] for r in remote} == {"gpus=[0]"}


@pytest.mark.ray
def test_ray_yields_in_completion_order(local_ray):
    slow_first = Slow(0.05, by_task={"t0": 1.5})
    with build_executor(ray_config(tasks_per_chunk=1, num_actors=2), ENGINE,
                        evaluate_fn=slow_first) as executor:
        assert executor.wait_ready(timeout_s=120) == 2
        order = [r.task_id for r in executor.map(make_tasks(3))]
    assert order[-1] == "t0" and sorted(order) == ["t0", "t1", "t2"]


@pytest.mark.ray
def test_worker_killed_mid_task_is_retried_with_same_results(local_ray, tmp_path):
    tasks = make_tasks(6)
    with build_executor(ray_config(max_retries=1), ENGINE,
                        evaluate_fn=CrashOnce(str(tmp_path / "crashed"))) as executor:
        results = list(executor.map(tasks))
    assert (tmp_path / "crashed").exists()  # a worker really died
    assert summary(results) == summary(fake_evaluate(tasks, ENGINE))


@pytest.mark.ray
def test_task_that_always_kills_its_worker_fails_after_max_retries(local_ray, tmp_path):
    attempts = tmp_path / "attempts"
    with build_executor(ray_config(tasks_per_chunk=1, max_retries=1), ENGINE,
                        evaluate_fn=Poison("t1", str(attempts))) as executor:
        results = {r.task_id: r for r in executor.map(make_tasks(4))}
    assert attempts.read_text().count("attempt") == 2  # the first try + max_retries
    assert not results["t1"].ok and "worker died 2 times" in results["t1"].error
    assert all(results[t].ok for t in ("t0", "t2", "t3"))


@pytest.mark.ray
def test_exception_in_evaluate_fn_is_a_bug_and_propagates(local_ray):
    with build_executor(ray_config(num_actors=1), ENGINE, evaluate_fn=raise_bug) as executor:
        with pytest.raises(ValueError, match="a bug in evaluate_fn"):
            list(executor.map(make_tasks(2)))


@pytest.mark.ray
def test_actor_too_big_for_the_cluster_is_a_user_error(local_ray):
    with pytest.raises(UserError, match="no node can hold an actor"):
        build_executor(ray_config(num_gpus=2), ENGINE, evaluate_fn=fake_evaluate)


TINY = Config(target=DotsConfig(side=4, k=1), model=MLPConfig(width=16, depth=1, time_dim=8),
              diffusion=DiffusionConfig(), train=TrainConfig(steps=4, batch_size=4, n_checkpoints=2,
                                                             first_checkpoint=2),
              sampler=SamplerConfig(n_steps=4, n_samples=8), metrics=MetricsConfig(n_bootstrap=0))


@pytest.mark.ray
def test_real_engine_gives_the_same_results_locally_and_on_gpu_actors(local_ray):
    tasks = make_tasks(4, config=TINY)
    local = list(build_executor(ExecutorConfig(tasks_per_chunk=2), ENGINE).map(tasks))
    with build_executor(ray_config(num_gpus=0.5), ENGINE) as executor:  # engine stays on CPU
        remote = list(executor.map(tasks))
    assert all(r.ok for r in local), [r.error for r in local]
    assert summary(remote) == summary(local)


# ----------------------------------------------------------------------------- two nodes
@pytest.mark.ray
def test_two_node_cluster_survives_losing_a_node(tmp_path):
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    ray.shutdown()  # the module's local Ray, if any: this test needs its own cluster
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    worker = cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    try:
        tasks = make_tasks(8)
        attempts = tmp_path / "attempts"
        attempts.mkdir()
        config = ray_config(address=cluster.address, tasks_per_chunk=1, max_retries=2)
        def remove_worker_mid_task():  # as soon as a task has started on the worker node
            while not any(worker.node_id in p.name for p in attempts.iterdir()):
                time.sleep(0.02)
            time.sleep(0.2)  # well inside its 0.7 s task
            cluster.remove_node(worker)

        with build_executor(config, ENGINE, evaluate_fn=Slow(0.7, attempts=str(attempts))) as executor:
            assert executor.wait_ready(timeout_s=120) == 2  # one actor per node
            remover = threading.Thread(target=remove_worker_mid_task)
            remover.start()
            results = list(executor.map(tasks))
            remover.join(timeout=60)
        assert worker not in cluster.worker_nodes
        assert not ray.is_initialized()  # the executor joined the cluster, so it left it
        assert summary(results) == summary(fake_evaluate(tasks, ENGINE))
        assert len(list(attempts.iterdir())) > len(tasks)  # the lost node's chunk ran again
    finally:
        ray.shutdown()
        cluster.shutdown()
