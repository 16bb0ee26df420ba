"""The default executor: chunks evaluated by worker processes on this machine.

``workers`` processes (0 = one per core this process may use; on CUDA one per visible GPU),
each with one torch thread, take the deterministic chunks of ``map`` as they become idle;
results come back in completion order, matched by task id. ``workers = 1`` evaluates in this
process, one chunk after another. A chunk's numbers depend on its tasks only (seeds are per
task, the CPU form is a fixed rule, one thread everywhere), so every ``workers`` gives the
same results. Workers start at the first ``map`` that has more than one chunk (a lone chunk,
as in ``tsearch run``, is evaluated here) or at ``start()``, and serve every later ``map``
(the generations of a search) until ``close``.

CUDA: one worker per visible GPU by default, each seeing only its own GPU
(CUDA_VISIBLE_DEVICES); more workers than GPUs share them round-robin, each planning its chunks
from the free memory it sees. Written for GPU boxes but not yet run on one.

Faults: a worker that dies (``os._exit``, the OOM killer, SIGKILL) is replaced and its chunk
retried, up to ``max_retries`` times; a chunk that keeps killing its worker becomes failed
results carrying the reason. An exception raised by ``evaluate_fn`` is a bug: it stops the
map with the worker's traceback. Ctrl-C in the driver terminates the workers; workers ignore
SIGINT themselves (the driver decides) and exit if the driver dies.

Workers are started with ``spawn``: a fresh interpreter, since torch and ``fork`` do not mix
(a forked child inherits the parent's OpenMP and CUDA state).
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import wait

from ..config import EngineConfig
from ..tasks import EvalResult, EvalTask
from .base import Chunk, EvaluateFn, Executor, Progress, chunked, engine_evaluate, matched, retry_or_fail

ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
READY = "ready"  # a worker's first message: it started and unpickled evaluate_fn
STOP_GRACE_S = 2.0  # a terminated worker gets this long before SIGKILL
ORPHAN_POLL_S = 1.0


def available_cores() -> int:
    """Cores this process may run on (its affinity mask, e.g. under taskset or a batch queue)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def visible_gpus(engine: EngineConfig) -> list[str]:
    """CUDA device ids the workers may use; [] on CPU."""
    if engine.device == "cpu":
        return []
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [d.strip() for d in listed.split(",") if d.strip() and d.strip() != "-1"]
    # loads torch: only when the config may use a GPU (the driver has loaded it by then)
    from ..engine.device import cuda_device_count
    return [str(i) for i in range(cuda_device_count())]


def default_workers(engine: EngineConfig) -> int:
    """One worker per GPU on CUDA (each plans its chunks from its GPU's memory), else per core."""
    return len(visible_gpus(engine)) or available_cores()


def worker_env(index: int, gpus: list[str]) -> dict[str, str]:
    """Environment of worker ``index``: one thread; with several GPUs, GPU ``index mod n``
    alone (workers beyond the GPU count share them round-robin)."""
    env = dict(ONE_THREAD)
    if len(gpus) > 1:
        env["CUDA_VISIBLE_DEVICES"] = gpus[index % len(gpus)]
    return env


# ----------------------------------------------------------------------------- worker side
def worker_main(conn, payload: bytes, env: dict[str, str]) -> None:
    """Body of a worker process: evaluate the chunks the driver sends until it sends None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the driver decides
    os.environ.update(env)  # before torch loads (unpickling evaluate_fn may load it)
    threading.Thread(target=_exit_when_orphaned, args=(os.getppid(),), daemon=True).start()
    evaluate_fn, engine = pickle.loads(payload)
    if evaluate_fn is engine_evaluate:  # ready means ready to train: torch and the engine loaded
        from ..engine import evaluate  # noqa: F401
    conn.send(READY)
    while True:
        try:
            message = conn.recv()
        except EOFError:  # the driver closed its end
            return
        if message is None:
            return
        job_id, chunk = message
        try:
            answer = (job_id, "ok", evaluate_fn(chunk, engine))
        except Exception:
            answer = (job_id, "bug", traceback.format_exc())
        try:
            conn.send(answer)
        except BrokenPipeError:  # the driver is gone (killed): nobody to answer
            return
        except Exception:  # results that cannot be pickled: a bug, reported as one
            conn.send((job_id, "bug", traceback.format_exc()))


def _exit_when_orphaned(parent_pid: int) -> None:
    """A driver killed by SIGKILL cannot stop its workers: they notice that they were
    re-parented (the driver, or the forkserver that exits with it, is gone) and exit."""
    while os.getppid() == parent_pid:
        time.sleep(ORPHAN_POLL_S)
    os._exit(0)


# ----------------------------------------------------------------------------- driver side
class WorkerError(RuntimeError):
    """``evaluate_fn`` raised in a worker (a bug); carries the worker's traceback."""


@dataclass
class _Job:
    job_id: int
    chunk: Chunk
    failures: list[str] = field(default_factory=list)


class _Worker:
    def __init__(self, context, payload: bytes, env: dict[str, str]):
        self.conn, child = context.Pipe()
        self.process = context.Process(target=worker_main, args=(child, payload, env),
                                       daemon=True)
        self.process.start()
        child.close()
        self.started = False

    def stop(self) -> None:
        """Terminate (SIGTERM, then SIGKILL after a grace period) and reap."""
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(STOP_GRACE_S)
            if self.process.is_alive():
                self.process.kill()
        self.process.join()
        self.conn.close()

    def death(self) -> str:
        self.process.join(STOP_GRACE_S)
        code = self.process.exitcode
        if code is not None and code < 0:
            return f"killed by signal {signal.Signals(-code).name}"
        return f"exit code {code}"


def _receive(worker: _Worker):
    """The worker's next message, or None if it died."""
    try:
        return worker.conn.recv() if worker.conn.poll() else None
    except (EOFError, OSError):
        return None


class LocalExecutor(Executor):
    def __init__(self, *, engine: EngineConfig, tasks_per_chunk: int = 4, workers: int = 1,
                 max_retries: int = 2, evaluate_fn: EvaluateFn = engine_evaluate,
                 start_method: str = "spawn"):
        self.engine = engine
        self.tasks_per_chunk = tasks_per_chunk
        self.evaluate_fn = evaluate_fn
        self.max_retries = max_retries
        self.workers = workers or default_workers(engine)
        # the engine in this process reports training steps as they run; workers report a
        # task's steps when it finishes (the caller counts them)
        self.reports_progress = self.workers == 1 and evaluate_fn is engine_evaluate
        self._context = multiprocessing.get_context(start_method)
        self._gpus: list[str] | None = None
        self._idle: list[_Worker] = []
        self._next_index = 0

    def start(self) -> None:
        """Start every worker and wait until each is ready (optional: ``map`` starts them as
        needed); a benchmark calls it to time the start apart from the evaluations."""
        if self.workers == 1:
            if self.evaluate_fn is engine_evaluate:  # the in-process path: torch and the engine
                from ..engine import evaluate  # noqa: F401
            return
        while len(self._idle) < self.workers:
            self._idle.append(self._spawn())
        for worker in self._idle:
            if not worker.started:
                wait([worker.conn, worker.process.sentinel])
                if _receive(worker) != READY:
                    raise self._start_error(worker)
                worker.started = True

    def _start_error(self, worker: _Worker) -> RuntimeError:
        why = worker.death()
        worker.stop()
        return RuntimeError(f"local executor: a worker process could not start ({why}; its "
                            "traceback is above). A script that runs tsearch with workers needs "
                            "`if __name__ == '__main__':` around its code")

    def map(self, tasks: Sequence[EvalTask], progress: Progress | None = None) -> Iterator[EvalResult]:
        chunks = chunked(tasks, self.tasks_per_chunk)
        if self.workers == 1 or (len(chunks) == 1 and not self._idle):
            # one chunk and no worker started yet (`tsearch run`): starting one would only add
            # its start-up time; the numbers are the same in any process
            return self._map_here(chunks, progress)
        return self._map_workers(chunks)

    def _map_here(self, chunks: list[Chunk], progress: Progress | None) -> Iterator[EvalResult]:
        # An exception escaping evaluate_fn is a bug (the engine reports a task's own failure
        # as a result), so it propagates as a traceback.
        fine = ({"progress": progress} if progress is not None and self.evaluate_fn is engine_evaluate
                else {})
        for chunk in chunks:
            yield from matched(chunk, self.evaluate_fn(chunk, self.engine, **fine))

    # -------------------------------------------------------------- workers
    def _map_workers(self, chunks: list[Chunk]) -> Iterator[EvalResult]:
        queue = deque(_Job(i, chunk) for i, chunk in enumerate(chunks))
        running: dict[_Worker, _Job] = {}
        try:
            while queue or running:
                self._dispatch(queue, running)
                yield from self._collect(queue, running)
        finally:  # the consumer stopped early, Ctrl-C, or a bug: busy workers hold stale chunks
            for worker in running:
                worker.stop()

    def _dispatch(self, queue: deque, running: dict) -> None:
        while queue and len(running) < self.workers:
            worker = self._idle.pop() if self._idle else self._spawn()
            job = running[worker] = queue.popleft()  # tracked first: Ctrl-C may come during send
            try:
                worker.conn.send((job.job_id, job.chunk))
            except OSError:  # it died while idle: its replacement takes the chunk
                del running[worker]
                queue.appendleft(job)
                worker.stop()

    def _spawn(self) -> _Worker:
        if self._gpus is None:
            self._gpus = visible_gpus(self.engine)
        payload = pickle.dumps((self.evaluate_fn, self.engine))  # fails here, in the driver, if unpicklable
        worker = _Worker(self._context, payload, worker_env(self._next_index, self._gpus))
        self._next_index += 1
        return worker

    def _collect(self, queue: deque, running: dict) -> list[EvalResult]:
        """Wait until some worker answers or dies; the results it brings."""
        by_handle = {}
        for worker in running:
            by_handle[worker.conn] = by_handle[worker.process.sentinel] = worker
        results = []
        for worker in {by_handle[h] for h in wait(list(by_handle))}:
            message = _receive(worker)
            if message == READY:
                worker.started = True
            else:
                results += self._finished(worker, message, running.pop(worker), queue)
        return results

    def _finished(self, worker: _Worker, message, job: _Job, queue: deque) -> list[EvalResult]:
        if message is None and not worker.started:  # a setup error, not a fault of the chunk
            raise self._start_error(worker)
        if message is None:  # died before answering: replace it, retry the chunk
            death = worker.death()
            worker.stop()
            return retry_or_fail(job, death, queue, max_retries=self.max_retries, where="local")
        _, status, body = message
        self._idle.append(worker)
        if status == "bug":
            raise WorkerError(f"evaluate_fn raised in a worker process:\n{body}")
        return matched(job.chunk, body)

    def close(self) -> None:
        for worker in self._idle:
            try:
                worker.conn.send(None)
            except OSError:  # already gone
                pass
        for worker in self._idle:
            worker.process.join(STOP_GRACE_S)
            worker.stop()
        self._idle = []
