"""Executors: local and Ray give the same results; Ray survives dead workers and nodes.

Ray tests share one local Ray (2 CPUs, one *logical* GPU: no hardware needed) started once
for the module; the two-node cluster test runs last, on its own cluster. Stand-in evaluate
functions are picklable objects whose numbers depend on each task's seed alone, like the
engine's; one test goes through the real engine with tiny sizes.
"""

from __future__ import annotations

import dataclasses
import json
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
from tsearch.config import (
    Config,
    DiffusionConfig,
    DotsConfig,
    EngineConfig,
    ExecutorConfig,
    FieldError,
    MetricsConfig,
    MLPConfig,
    SamplerConfig,
    TrainConfig,
)
from tsearch.errors import UserError
from tsearch.executors import build_executor, chunked
from tsearch.executors.local import LocalExecutor, WorkerError, visible_gpus, worker_env
from tsearch.tasks import EvalResult, EvalTask, ScoredStep

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
    """Kills its worker whenever its chunk holds ``task_id`` (``os._exit`` or, with
    ``sigkill``, as the OOM killer does); counts those attempts."""
    task_id: str
    attempts: str
    sigkill: bool = False

    def __call__(self, tasks, engine):
        if any(t.task_id == self.task_id for t in tasks):
            with open(self.attempts, "a") as f:
                f.write("attempt\n")
            if self.sigkill:
                os.kill(os.getpid(), signal.SIGKILL)
            os._exit(1)
        return fake_evaluate(tasks, engine)


@dataclass
class Sleepy:
    """Writes its process id into ``folder``, then sleeps: a worker busy for a long time."""
    folder: str

    def __call__(self, tasks, engine):
        Path(self.folder, str(os.getpid())).touch()
        time.sleep(60)
        return fake_evaluate(tasks, engine)


@dataclass
class BrokenInWorker:
    """An evaluate_fn that cannot be unpickled in another process (as a function defined in
    an unguarded script's main module cannot)."""
    driver_pid: int

    def __setstate__(self, state):
        if os.getpid() != state["driver_pid"]:
            raise ImportError("cannot rebuild evaluate_fn here")
        self.__dict__.update(state)

    def __call__(self, tasks, engine):
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

    with build_executor(ExecutorConfig(tasks_per_chunk=2, workers=1), ENGINE, evaluate_fn=spy) as executor:
        results = list(executor.map(make_tasks(5)))
    assert seen == [["t0", "t1"], ["t2", "t3"], ["t4"]]
    assert summary(results) == summary(fake_evaluate(make_tasks(5), ENGINE))


def test_local_executor_rejects_results_that_miss_a_task():
    executor = build_executor(ExecutorConfig(workers=1), ENGINE, evaluate_fn=lambda tasks, engine: [])
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


# ----------------------------------------------------------------------------- local workers
def fingerprint(results) -> list:
    """Every number of every result, in task-id order; NaN compares equal to NaN."""
    return sorted((r.task_id, r.ok, r.error, r.stopped_at, r.skipped_steps,
                   [(c.step, json.dumps(c.metrics, sort_keys=True), c.loss) for c in r.scored])
                  for r in results)


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent to reap it counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_for(condition, timeout_s: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_workers_default_to_the_cores_this_process_may_use():
    assert ExecutorConfig().workers == 0
    assert LocalExecutor(engine=ENGINE).workers == 1  # the class alone: in-process
    assert build_executor(ExecutorConfig(), ENGINE).workers == len(os.sched_getaffinity(0))
    with pytest.raises(FieldError, match="workers"):
        ExecutorConfig(workers=-1)


def test_parallel_workers_give_bit_identical_results_to_one_process():
    tasks = make_tasks(6, config=TINY)
    serial = list(build_executor(ExecutorConfig(tasks_per_chunk=2, workers=1), ENGINE).map(tasks))
    with build_executor(ExecutorConfig(tasks_per_chunk=2, workers=2), ENGINE) as executor:
        parallel = list(executor.map(tasks))
        again = list(executor.map(tasks))  # the same workers serve a second map
    assert all(r.ok for r in serial) and all(r.scored for r in serial)
    assert fingerprint(parallel) == fingerprint(serial) == fingerprint(again)


def test_workers_yield_in_completion_order_from_several_processes():
    slow_first = Slow(0.05, by_task={"t0": 3.0})
    with build_executor(ExecutorConfig(tasks_per_chunk=1, workers=2), ENGINE,
                        evaluate_fn=slow_first) as executor:
        results = list(executor.map(make_tasks(4)))
    assert results[-1].task_id == "t0" and sorted(r.task_id for r in results) == ["t0", "t1", "t2", "t3"]
    processes = {r.device for r in results}
    assert len(processes) == 2 and f"local/{os.getpid()}" not in processes
    assert summary(results) == summary(fake_evaluate(make_tasks(4), ENGINE))


def test_worker_dying_mid_chunk_is_replaced_and_the_chunk_retried(tmp_path):
    tasks = make_tasks(6)
    with build_executor(ExecutorConfig(tasks_per_chunk=2, workers=2, max_retries=1), ENGINE,
                        evaluate_fn=CrashOnce(str(tmp_path / "crashed"))) as executor:
        results = list(executor.map(tasks))
    assert (tmp_path / "crashed").exists()  # a worker really died (os._exit)
    assert summary(results) == summary(fake_evaluate(tasks, ENGINE))


@pytest.mark.parametrize("sigkill", [False, True], ids=["os._exit", "SIGKILL"])
def test_chunk_that_always_kills_its_worker_fails_after_max_retries(tmp_path, sigkill):
    attempts = tmp_path / "attempts"
    with build_executor(ExecutorConfig(tasks_per_chunk=1, workers=2, max_retries=1), ENGINE,
                        evaluate_fn=Poison("t1", str(attempts), sigkill)) as executor:
        results = {r.task_id: r for r in executor.map(make_tasks(4))}
    assert attempts.read_text().count("attempt") == 2  # the first try + max_retries
    assert not results["t1"].ok and "worker died 2 times" in results["t1"].error
    assert ("SIGKILL" if sigkill else "exit code 1") in results["t1"].error
    assert all(results[t].ok for t in ("t0", "t2", "t3"))


def test_a_single_chunk_runs_in_this_process_until_workers_are_started():
    executor = LocalExecutor(engine=ENGINE, workers=2, evaluate_fn=fake_evaluate)
    with executor:
        [alone] = executor.map(make_tasks(1))
        executor.start()
        [served] = executor.map(make_tasks(1))
    assert alone.device == f"local/{os.getpid()}" != served.device
    assert summary([alone]) == summary([served])


def test_exception_in_a_worker_is_a_bug_and_stops_the_map():
    with build_executor(ExecutorConfig(tasks_per_chunk=1, workers=2), ENGINE, evaluate_fn=raise_bug) as executor:
        with pytest.raises(WorkerError, match="a bug in evaluate_fn"):
            list(executor.map(make_tasks(2)))


def test_worker_that_cannot_start_is_an_error_not_a_retry():
    with build_executor(ExecutorConfig(tasks_per_chunk=1, workers=2), ENGINE,
                        evaluate_fn=BrokenInWorker(os.getpid())) as executor:
        with pytest.raises(RuntimeError, match="could not start"):
            list(executor.map(make_tasks(2)))


DRIVER = """
import multiprocessing, sys
sys.path[:0] = [{root!r}, {tests!r}]  # this checkout's tsearch and the test module
from test_executors import ENGINE, Sleepy, make_tasks
from tsearch.executors.local import LocalExecutor
if __name__ == "__main__":
    executor = LocalExecutor(engine=ENGINE, tasks_per_chunk=1, workers=2, evaluate_fn=Sleepy({folder!r}))
    try:
        with executor:
            list(executor.map(make_tasks(4)))
    except KeyboardInterrupt:
        print("interrupted; children left:", len(multiprocessing.active_children()), flush=True)
"""


def start_driver(folder: Path) -> tuple[subprocess.Popen, list[int]]:
    """A driver process whose 2 workers are busy; (driver, worker pids)."""
    script = folder / "driver.py"
    here = Path(__file__).parent
    script.write_text(DRIVER.format(root=str(here.parent), tests=str(here), folder=str(folder)))
    driver = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).parents[1])
    assert wait_for(lambda: len([p for p in folder.iterdir() if p.name.isdigit()]) == 2)
    return driver, [int(p.name) for p in folder.iterdir() if p.name.isdigit()]


def test_ctrl_c_in_the_driver_stops_every_worker(tmp_path):
    driver, workers = start_driver(tmp_path)
    driver.send_signal(signal.SIGINT)  # the driver alone: it must stop its workers itself
    out, _ = driver.communicate(timeout=30)
    assert "interrupted; children left: 0" in out
    assert not any(alive(pid) for pid in workers)


def test_workers_exit_when_their_driver_is_killed(tmp_path):
    driver, workers = start_driver(tmp_path)
    driver.kill()  # SIGKILL: no chance to stop anything
    driver.wait(timeout=30)
    assert wait_for(lambda: not any(alive(pid) for pid in workers), timeout_s=15)


def test_several_gpus_give_each_worker_its_own():
    # CUDA cannot run here: the placement rule is checked on its own
    assert worker_env(0, ["0", "1"])["CUDA_VISIBLE_DEVICES"] == "0"
    assert worker_env(3, ["0", "1"])["CUDA_VISIBLE_DEVICES"] == "1"
    assert "CUDA_VISIBLE_DEVICES" not in worker_env(2, ["0"])  # one GPU: shared
    assert worker_env(0, [])["OMP_NUM_THREADS"] == "1"


def test_visible_gpus_follow_cuda_visible_devices(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    assert visible_gpus(EngineConfig(device="cuda")) == ["2", "3"]
    assert visible_gpus(EngineConfig(device="cpu")) == []
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert visible_gpus(EngineConfig(device="auto")) == []


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


RAY_DRIVER = """
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
    driver = subprocess.Popen([sys.executable, "-c", RAY_DRIVER], stdout=subprocess.PIPE, text=True,
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
    local = list(build_executor(ExecutorConfig(tasks_per_chunk=2, workers=1), ENGINE,
                                evaluate_fn=fake_evaluate).map(tasks))
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
    local = list(build_executor(ExecutorConfig(tasks_per_chunk=2, workers=1), ENGINE).map(tasks))
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


# ----------------------------------------------------------------------------- bench
def test_evolve_bench_gives_one_record_per_path_with_identical_results():
    from tsearch.config import SearchConfig
    from tsearch.executors.bench import run_evolve_bench

    config = dataclasses.replace(TINY, search=SearchConfig(n_min=1, n_max=2),
                                 executor=ExecutorConfig(tasks_per_chunk=1))
    records = run_evolve_bench(config, n_tasks=4, workers=2,
                               paths=("serial", "serial+stop", "parallel+stop"))
    assert [r["path"] for r in records] == ["serial", "serial+stop", "parallel+stop"]
    assert [r["workers"] for r in records] == [1, 1, 2]
    assert [r["stop_when_copy"] for r in records] == [0.0, 0.95, 0.95]
    for record in records:
        assert record["same_results"] and record["failed"] == 0 and record["tasks"] == 4
        assert record["model_steps_run"] + record["model_steps_skipped"] == 4 * TINY.train.steps
        assert record["ratio"] == pytest.approx(
            record["evaluations_per_hour"] / records[0]["evaluations_per_hour"], abs=1e-3)
    # stopping drops later scored steps only: only stopped tasks can change, never upward
    assert records[1]["best_changed"] <= records[1]["stopped"] and records[1]["best_max_drop"] >= 0
    # the parallel path's CPU time counts its workers' (two fresh processes importing torch)
    assert all(r["cpu_s"] > 0 for r in records) and records[2]["cpu_s"] > 1.0
    json.dumps(records)  # JSON lines


def test_each_bench_path_starts_with_a_cold_validity_memo():
    # The serial paths run in the bench's own process: a memo kept from an earlier path would
    # find every sample of the same tasks already checked, and time a warm path against cold
    # workers (it made serial+stop 1.39x faster than serial with nothing stopped).
    from tsearch.config import PolygonsConfig
    from tsearch.engine.score import clear_process_caches, shared_target

    cfg = PolygonsConfig(side=8, max_vertices=4, min_area=4.0)
    target = shared_target(cfg)
    target.is_valid(target.sample(4, seeding.numpy_rng(0, "memo")).images)
    assert shared_target(cfg) is target and target._cache
    clear_process_caches()
    assert shared_target(cfg) is not target and not shared_target(cfg)._cache


def test_bench_cli_runs_the_evolve_workload_and_rejects_bad_overrides():
    from click.testing import CliRunner

    from tsearch.cli import main

    tiny = ["--set", "train.epochs=0", "--set", "train.steps=4", "--set", "sampler.n_samples=8",
            "--set", "sampler.n_select=4", "--set", "sampler.n_steps=2",
            "--set", "metrics.reference_samples=16", "--set", "executor.tasks_per_chunk=1"]
    out = CliRunner().invoke(main, ["bench", "--workload", "evolve", "--tasks", "2", "--workers", "2", *tiny])
    assert out.exit_code == 0, out.output
    records = [json.loads(line) for line in out.output.splitlines()]
    assert [r["path"] for r in records] == ["serial", "parallel", "serial+stop", "parallel+stop"]
    assert all(r["workload"] == "evolve" and r["same_results"] and r["failed"] == 0 for r in records)
    bad = CliRunner().invoke(main, ["bench", "--workload", "evolve", "--set", "train.stepz=4"])
    assert bad.exit_code == 2 and "train.stepz" in bad.output and len(bad.output.splitlines()) == 1
