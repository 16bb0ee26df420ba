"""Ray executor: long-lived actors, each holding a GPU share or CPUs, evaluate chunks of tasks.

Chunks go to idle actors; results come back in completion order (``ray.wait``). A system
failure (the actor's process or node died) replaces the actor and retries the chunk, up to
``max_retries`` times; a chunk that keeps failing becomes failed results carrying the reason,
and the generation goes on. An exception raised by ``evaluate_fn`` itself is a bug and
propagates. Ray is imported only when an executor is built: never at import time.

Safety (docs/cluster.md): Ray must be at least ``RAY_FLOOR`` (token authentication on by
default for a local Ray), checked before anything starts; a local Ray started here listens on
the loopback interface only, and a watcher stops its processes if the driver dies without
shutting it down.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import math
import os
import re
import socket
import subprocess
import sys
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata

from ..config import EngineConfig
from ..errors import UserError
from ..tasks import EvalResult, EvalTask
from . import ray_reaper
from .base import Chunk, EvaluateFn, Executor, chunked, engine_evaluate, failed, matched, retry_or_fail

CONNECT_TIMEOUT_S = 5.0  # a reachable head answers a TCP connect in milliseconds
# Ray 2.59 turns token authentication on by default for a local ray.init (2.52 added it, off)
RAY_FLOOR = (2, 59)
INSTALL_HINT = 'pip install "tsearch[ray]"'


def first_line(exc: BaseException, limit: int = 200) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:limit]


# ----------------------------------------------------------------------------- connecting
def require_ray() -> None:
    """Ray installed and at least RAY_FLOOR, or one line saying what to install."""
    if importlib.util.find_spec("ray") is None:
        raise UserError(f"ray: not installed; --executor ray needs it: {INSTALL_HINT}")
    version = metadata.version("ray")
    if major_minor(version) < RAY_FLOOR:
        floor = ".".join(map(str, RAY_FLOOR))
        raise UserError(f"ray: version {version} is older than {floor}, the first with token "
                        f"authentication on by default; upgrade: {INSTALL_HINT} (ray>={floor})")


def major_minor(version: str) -> tuple[int, int]:
    """(major, minor) of a version string such as "2.60.0" or "3.0.0.dev0"."""
    numbers = [int(n) for n in re.findall(r"\d+", version)[:2]]
    return (numbers + [0, 0])[0], (numbers + [0, 0])[1]


def parse_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host or "/" in host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(f"ray: address {address!r} must be 'auto' or HOST:PORT (e.g. 10.0.0.1:6379)")
    return host.strip("[]"), int(port)


def resolve_address(address: str) -> str:
    """``auto`` -> the HOST:PORT of the Ray cluster running on this machine."""
    if address != "auto":
        return address
    from ray._private.services import canonicalize_bootstrap_address  # Ray's own lookup
    try:
        return canonicalize_bootstrap_address("auto")
    except ConnectionError:
        raise UserError("ray: --address auto found no running Ray cluster on this machine "
                        "(start one with `ray start --head`)") from None


def check_reachable(address: str) -> None:
    """Fail in seconds, not minutes: ray.init retries an unreachable GCS for a long time."""
    host, port = parse_address(address)
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise UserError(f"ray: cannot reach {host}:{port} ({why}); "
                        "is `ray start --head` running there?") from None


@contextlib.contextmanager
def loopback_only():
    """Ray's own single-machine mode: with RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 a new local
    Ray takes 127.0.0.1 as its node address and every server of it (GCS, raylet, workers,
    agents) binds there instead of all interfaces. (ray.init(_node_ip_address="127.0.0.1")
    does not: Ray replaces a loopback address by the machine's external one.) The setting is
    read when the processes start, so it is restored after ray.init."""
    from ray._private import ray_constants
    variable = ray_constants.ENABLE_RAY_CLUSTERS_ENV_VAR
    saved = os.environ.get(variable), ray_constants.ENABLE_RAY_CLUSTER
    os.environ[variable], ray_constants.ENABLE_RAY_CLUSTER = "0", False
    try:
        yield
    finally:
        if saved[0] is None:
            os.environ.pop(variable, None)
        else:
            os.environ[variable] = saved[0]
        ray_constants.ENABLE_RAY_CLUSTER = saved[1]


def start_reaper() -> subprocess.Popen | None:
    """The watcher that stops this local Ray's processes if the driver dies (ray_reaper)."""
    if not os.path.exists("/proc/self/stat"):
        return None
    return subprocess.Popen([sys.executable, ray_reaper.__file__, str(os.getpid())],
                            stdin=subprocess.PIPE, start_new_session=True, text=True)


def stop_reaper(reaper: subprocess.Popen | None) -> None:
    if reaper is None:
        return
    try:
        reaper.stdin.write("done\n")
        reaper.stdin.close()
    except OSError:  # it already exited
        pass
    reaper.wait()


def connect(address: str) -> bool:
    """Start a local Ray (``address`` "") or join a cluster; True if this call ran ray.init."""
    require_ray()
    import ray
    if address:
        address = resolve_address(address)
        check_reachable(address)
    if ray.is_initialized():  # a caller's Ray (a test fixture, a notebook) is reused as is
        return False
    quiet = dict(log_to_driver=False, logging_level=logging.ERROR)
    try:
        if address:
            ray.init(address=address, **quiet)
        else:  # "local" ignores RAY_ADDRESS: an empty address means a fresh local Ray
            with loopback_only():
                ray.init(address="local", include_dashboard=False, **quiet)
    except (ConnectionError, RuntimeError, ray.exceptions.RayError) as exc:
        # the port answered, so the usual culprit is token authentication (docs/cluster.md)
        hint = "; with token auth, set RAY_AUTH_MODE=token and the cluster's token" if address else ""
        raise UserError(f"ray: cannot connect to {address or 'a local Ray'}: {first_line(exc)}{hint}") from None
    return True


# ----------------------------------------------------------------------------- actors
def software() -> str:
    """The releases a worker computes with: nodes that differ here give different numbers."""
    def release(package: str) -> str:
        try:
            return metadata.version(package).split("+")[0]  # a CUDA and a CPU build agree
        except metadata.PackageNotFoundError:
            return "none"
    return f"tsearch {release('tsearch')}, torch {release('torch')}"


class ChunkWorker:
    """The body of one Ray actor: holds the engine config, evaluates chunks it is sent."""

    def __init__(self, evaluate_fn: EvaluateFn, engine: EngineConfig):
        self.evaluate_fn = evaluate_fn
        self.engine = engine

    def ready(self) -> tuple[str, str]:
        import ray
        return ray.util.get_node_ip_address(), software()

    def evaluate(self, chunk: Chunk) -> list[EvalResult]:
        return self.evaluate_fn(chunk, self.engine)


def actor_capacity(nodes: list[dict], *, num_cpus: float, num_gpus: float) -> int:
    """How many actors fit on the alive nodes (an actor cannot span two nodes)."""
    def fit(have: float, need: float) -> int:
        return math.floor(have / need + 1e-9) if need > 0 else 1 << 30
    return sum(min(fit(n["Resources"].get("CPU", 0), num_cpus), fit(n["Resources"].get("GPU", 0), num_gpus))
               for n in nodes if n.get("Alive"))


def kill(actor) -> None:
    import ray
    try:
        ray.kill(actor, no_restart=True)
    except Exception:  # already gone with its node: nothing left to kill
        pass


@dataclass
class _Job:
    chunk: Chunk
    failures: list[str] = field(default_factory=list)


class RayExecutor(Executor):
    def __init__(self, *, engine: EngineConfig, address: str = "", num_actors: int = 0,
                 num_gpus: float = 0.0, num_cpus: float = 1.0, tasks_per_chunk: int = 4,
                 max_retries: int = 2, start_timeout_s: float = 300.0,
                 evaluate_fn: EvaluateFn = engine_evaluate):
        require_ray()  # before `import ray`: a missing or too old Ray is one line
        import ray
        self.engine, self.evaluate_fn = engine, evaluate_fn
        self.tasks_per_chunk, self.max_retries = tasks_per_chunk, max_retries
        self.start_timeout_s = start_timeout_s
        self._idle: list = []  # ready actors
        self._starting: dict = {}  # ready() ref -> actor not yet known to be alive
        self._start_failures = 0  # consecutive; a worker that cannot even start is a setup error
        self._need = dict(num_cpus=num_cpus, num_gpus=num_gpus)
        self._owns_ray = connect(address)
        self._reaper = start_reaper() if self._owns_ray else None
        try:
            self._actor_class = ray.remote(max_restarts=0, **self._need)(ChunkWorker)
            self.num_actors = num_actors or self._capacity()
        except BaseException:
            self.close()  # leave no Ray behind a one-line error
            raise
        for _ in range(self.num_actors):
            self._spawn()

    # -------------------------------------------------------------- pool
    def _capacity(self) -> int:
        import ray
        n = actor_capacity(ray.nodes(), **self._need)
        if n < 1:
            raise UserError(f"ray: no node can hold an actor needing num_cpus={self._need['num_cpus']}, "
                            f"num_gpus={self._need['num_gpus']} (cluster: {ray.cluster_resources()})")
        return n

    def _spawn(self) -> None:
        actor = self._actor_class.remote(self.evaluate_fn, self.engine)
        self._starting[actor.ready.remote()] = actor

    def _replace(self, actor) -> None:
        kill(actor)
        self._spawn()

    def _started(self, ref) -> None:
        import ray
        actor = self._starting.pop(ref)
        try:
            node, node_software = ray.get(ref)
        except ray.exceptions.RayError as exc:
            self._start_failures += 1
            if self._start_failures > 2 + self.max_retries:
                raise UserError(f"ray: actors cannot start ({first_line(exc)}); "
                                "is tsearch installed on every node?") from None
            self._replace(actor)
            return
        if node_software != software():
            kill(actor)
            raise UserError(f"ray: node {node} runs {node_software}, this driver {software()}; "
                            "install the same versions on every node")
        self._start_failures = 0
        self._idle.append(actor)

    def wait_ready(self, timeout_s: float | None = None) -> int:
        """Wait for the actors still starting (at most ``timeout_s``); how many are idle.
        Optional: ``map`` uses actors as soon as each is ready."""
        import ray
        refs = list(self._starting)
        done, _ = ray.wait(refs, num_returns=len(refs), timeout=timeout_s) if refs else ([], [])
        for ref in done:
            self._started(ref)
        return len(self._idle)

    # -------------------------------------------------------------- map
    def map(self, tasks: Sequence[EvalTask]) -> Iterator[EvalResult]:
        queue = deque(_Job(chunk) for chunk in chunked(tasks, self.tasks_per_chunk))
        running: dict = {}  # evaluate() ref -> (actor, job)
        try:
            while queue or running:
                self._dispatch(queue, running)
                results = self._collect(queue, running)
                self._dispatch(queue, running)  # actors work while the consumer reads results
                yield from results
        finally:  # the consumer stopped early or a bug surfaced: busy actors stay usable
            self._idle.extend(actor for actor, _ in running.values())

    def _dispatch(self, queue: deque, running: dict) -> None:
        while queue and self._idle:
            job, actor = queue.popleft(), self._idle.pop()
            running[actor.evaluate.remote(job.chunk)] = (actor, job)

    def _collect(self, queue: deque, running: dict) -> list[EvalResult]:
        """Wait for the next finished chunk or actor start; the results it brings."""
        done = self._wait(running)
        if done is None:
            return self._give_up(queue)
        results = []
        for ref in done:
            if ref in self._starting:
                self._started(ref)
            else:
                results += self._finished(ref, *running.pop(ref), queue)
        return results

    def _wait(self, running: dict) -> list | None:
        """Refs that finished (a chunk or an actor start); None when no actor can start."""
        import ray
        refs = list(running) + list(self._starting)
        if not refs:
            return None
        timeout = None if running else self.start_timeout_s  # chunks may train for hours
        done, _ = ray.wait(refs, num_returns=1, timeout=timeout)
        return done or None

    def _finished(self, ref, actor, job: _Job, queue: deque) -> list[EvalResult]:
        import ray
        try:
            results = ray.get(ref)
        except ray.exceptions.RayTaskError as exc:  # evaluate_fn raised: a bug, not a fault
            self._idle.append(actor)
            raise exc.as_instanceof_cause() from None
        except ray.exceptions.RayError as exc:  # the process or its node died: retry elsewhere
            self._replace(actor)
            return retry_or_fail(job, first_line(exc), queue, max_retries=self.max_retries, where="ray")
        self._idle.append(actor)
        return matched(job.chunk, results)

    def _give_up(self, queue: deque) -> list[EvalResult]:
        reason = (f"ray: no actor became ready within {self.start_timeout_s:g} s "
                  f"(each needs num_cpus={self._need['num_cpus']}, num_gpus={self._need['num_gpus']})")
        results = [result for job in queue for result in failed(job.chunk, reason)]
        queue.clear()
        return results

    # -------------------------------------------------------------- close
    def close(self) -> None:
        import ray
        if not ray.is_initialized():
            return
        for actor in self._idle + list(self._starting.values()):
            kill(actor)
        self._idle, self._starting = [], {}
        if self._owns_ray:
            ray.shutdown()
            self._owns_ray = False
            stop_reaper(self._reaper)
            self._reaper = None
