"""Two-stage scoring (sampler.n_select) and stopping after the peak (train.stop_after_peak):
the chosen step is scored again with fresh full samples, training ends once the selection
metric has not improved for P scored steps, and the record and fitness follow ``selected``."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tsearch.config import (
    Config,
    DotsConfig,
    EngineConfig,
    FieldError,
    MetricsConfig,
    MLPConfig,
    SamplerConfig,
    TrainConfig,
)
from tsearch.engine import EvalTask, evaluate
from tsearch.store.records import result_record
from tsearch.tasks import best_index, fitness_record

BASE = Config(target=DotsConfig(side=4), model=MLPConfig(width=32, depth=1, time_dim=8),
              train=TrainConfig(steps=160, batch_size=8, n_checkpoints=5, first_checkpoint=10),
              sampler=SamplerConfig(n_steps=10, n_samples=64),
              metrics=MetricsConfig(n_bootstrap=0, reference_samples=256))
TWO_STAGE = dataclasses.replace(BASE, sampler=dataclasses.replace(BASE.sampler, n_select=16))
PEAK = dataclasses.replace(BASE, train=dataclasses.replace(BASE.train, stop_after_peak=1))


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


def task(i: int, config: Config) -> EvalTask:
    return EvalTask.from_config(config, task_id=f"t{i}", seed=300 + i, keep_samples=True,
                                n_train=2 + i % 3)


def test_two_stage_scores_the_chosen_step_again_with_fresh_full_samples():
    results = evaluate([task(i, TWO_STAGE) for i in range(3)], EngineConfig(form="vmap", chunk_size=3))
    for r in results:
        assert r.ok and all(s.samples.shape[0] == 16 for s in r.scored)  # the selection stage
        chosen = r.scored[best_index([(s.step, s.metrics) for s in r.scored], "g")]
        assert r.selected is not None and r.selected.step == chosen.step
        assert r.selected.samples.shape[0] == 64 and r.best("g") is r.selected
        # fresh samples: not the selection stage's stream
        assert not np.array_equal(r.selected.samples[:16], chosen.samples)
        line = result_record(r)
        assert line["selected"]["step"] == chosen.step
        assert fitness_record(line, "g") is line["selected"]


def test_two_stage_is_the_same_in_a_chunk_of_1_and_of_3():
    together = evaluate([task(i, TWO_STAGE) for i in range(3)], EngineConfig(form="vmap", chunk_size=3))
    alone = evaluate([task(i, TWO_STAGE) for i in range(3)], EngineConfig(form="vmap", chunk_size=1))
    for a, b in zip(alone, together):
        assert a.selected.step == b.selected.step
        assert (a.selected.samples == b.selected.samples).all(axis=(1, 2)).mean() >= 0.99


def test_off_by_default_no_selected_record():
    [r] = evaluate([task(0, BASE)], EngineConfig(form="loop"))
    assert r.selected is None and "selected" not in result_record(r)
    assert all(s.samples.shape[0] == 64 for s in r.scored)
    line = result_record(r)
    assert fitness_record(line, "g") == line["checkpoints"][best_index(
        [(c["step"], c) for c in line["checkpoints"]], "g")]


def test_stop_after_peak_stops_one_scored_step_after_the_best():
    results = evaluate([task(i, PEAK) for i in range(6)], EngineConfig(form="vmap", chunk_size=6))
    stopped = [r for r in results if r.stopped_at is not None]
    assert stopped, "no task passed its peak (the test's config should make some)"
    for r in stopped:
        best = best_index([(s.step, s.metrics) for s in r.scored], "g")
        assert len(r.scored) - 1 - best == 1 and r.scored[-1].step == r.stopped_at
        assert r.skipped_steps and min(r.skipped_steps) > r.stopped_at
    for r in results:
        if r.stopped_at is None:  # ran every step: the peak was never followed by a lower step
            assert len(r.scored) == len(task(0, PEAK).scored_steps)


@pytest.mark.parametrize("make, key", [(lambda: SamplerConfig(n_select=-1), "n_select"),
                                       (lambda: SamplerConfig(select_metric="no_such_metric"), "select_metric"),
                                       (lambda: TrainConfig(stop_after_peak=-1), "stop_after_peak")])
def test_new_keys_are_checked(make, key):
    with pytest.raises(FieldError, match=key):
        make()
