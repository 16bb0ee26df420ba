"""Executors: local and Ray give the same results; Ray survives dead workers and nodes.

Ray tests share one local Ray (2 CPUs, one *logical* GPU: no hardware needed) started once
for the module; the two-node cluster test runs last, on its own cluster. Stand-in evaluate
functions are picklable objects whose numbers depend on each task's seed alone, like the
engine's; one test goes through the real engine with tiny sizes.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
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
    """What must not depend on the executor: ids, status and every metric, in task-id order
    (an undefined metric, NaN, as None: NaN never equals a NaN that crossed a process)."""
    def metrics(c):
        return {k: None if v != v else v for k, v in c.metrics.items()}

    return sorted((r.task_id, r.ok, r.error, [(c.step, metrics(c)) for c in r.scored])
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


# ----------------------------------------------------------------------------- Ray: floor, loopback, reaper
def test_missing_ray_is_one_line_naming_the_extra(monkeypatch):
    import importlib.util

    from tsearch.executors import ray_executor
    real = importlib.util.find_spec
    # Ray is installed here: hide it the way an environment without it looks
    monkeypatch.setattr(ray_executor.importlib.util, "find_spec",
                        lambda name, *a: None if name == "ray" else real(name, *a))
    with pytest.raises(UserError) as info:
        build_executor(ExecutorConfig(kind="ray"), ENGINE, evaluate_fn=fake_evaluate)
    assert str(info.value) == 'ray: not installed; --executor ray needs it: pip install "tsearch[ray]"'


@pytest.mark.parametrize("version", ["2.30.0", "2.52.1", "2.58.9", "1.13.0"])
def test_a_ray_older_than_the_floor_is_refused_before_it_starts(monkeypatch, version):
    pytest.importorskip("ray")
    from tsearch.executors import ray_executor
    monkeypatch.setattr(ray_executor.metadata, "version", lambda name: version)
    with pytest.raises(UserError) as info:
        build_executor(ExecutorConfig(kind="ray"), ENGINE, evaluate_fn=fake_evaluate)
    assert str(info.value).startswith(f"ray: version {version} is older than 2.59, the first with token")
    assert "ray" not in sys.modules or not sys.modules["ray"].is_initialized()


def test_version_parsing_and_the_installed_ray_passes():
    pytest.importorskip("ray")
    from importlib import metadata

    from tsearch.executors.ray_executor import RAY_FLOOR, major_minor, require_ray
    assert [major_minor(v) for v in ["2.60.0", "3.0.0.dev0", "2.59", "10"]] == [(2, 60), (3, 0), (2, 59), (10, 0)]
    assert major_minor(metadata.version("ray")) >= RAY_FLOOR
    require_ray()


def listening_sockets(pids: set[int]) -> list[str]:
    """Local addresses of the TCP sockets listening in ``pids`` (from `ss -ltnp`)."""
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        owners = {int(p) for p in re.findall(r"pid=(\d+)", line)}
        if owners & pids:
            found.append(line.split()[3])
    return found


DRIVER = """
import time
from tsearch.config import EngineConfig
from tsearch.executors.ray_executor import RayExecutor
executor = RayExecutor(engine=EngineConfig(device="cpu"), num_actors=1)
executor.wait_ready(180)
print("ready", flush=True)
time.sleep(600)
"""


@pytest.mark.ray
def test_a_local_ray_listens_on_loopback_and_dies_with_its_driver():
    pytest.importorskip("ray")
    from tsearch.executors.ray_reaper import descendants, start_time
    driver = subprocess.Popen([sys.executable, "-c", DRIVER], stdout=subprocess.PIPE, text=True,
                              start_new_session=True)
    ray_processes = {}
    try:
        assert driver.stdout.readline().strip() == "ready"
        time.sleep(2)  # the agents open their ports after the actor is ready
        ray_processes = {pid: start_time(pid) for pid in descendants(driver.pid)}
        assert len(ray_processes) >= 4  # gcs, raylet, agents, the actor, the reaper
        sockets = listening_sockets(set(ray_processes) | {driver.pid})
        assert len(sockets) >= 4
        assert all(re.fullmatch(r"(127\.0\.0\.1|\[::ffff:127\.0\.0\.1\]|\[::1\]):\d+", s) for s in sockets), sockets
        driver.kill()  # SIGKILL: no ray.shutdown, no finally
        driver.wait()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(start_time(p) == t for p, t in ray_processes.items()):
            time.sleep(0.5)
        left = [p for p, t in ray_processes.items() if start_time(p) == t]
        assert not left, [Path(f"/proc/{p}/cmdline").read_text() for p in left]
    finally:
        driver.kill()
        for pid, started in ray_processes.items():  # whatever the test left: never a stray Ray
            if start_time(pid) == started:
                os.kill(pid, signal.SIGKILL)


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
