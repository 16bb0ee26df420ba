"""bf16 on CPUs that compute it natively: the rule per (setting, device, model kind), ``auto``
pinned in a run folder's config, and a resume that keeps the pinned path."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import invoke
from tiny import tiny_toml

from tsearch.config import EngineConfig
from tsearch.engine import device as device_module
from tsearch.engine.device import CPU_BF16_KINDS, cpu_bf16_native, pinned_bf16, use_bf16

TINY = tiny_toml()
CPU, CUDA = torch.device("cpu"), torch.device("cuda")


@pytest.mark.parametrize("setting, device, kind, expected", [
    ("on", CPU, "mlp", True), ("off", CUDA, "unet", False),
    ("cuda", CUDA, "mlp", True), ("cuda", CPU, "unet", False),
    ("native", CUDA, "mlp", True), ("native", CPU, "unet", True), ("native", CPU, "mlp", False),
    ("native", CPU, "transformer", False),
])
def test_the_bf16_rule(setting, device, kind, expected):
    assert use_bf16(EngineConfig(bf16=setting), device, kind) is expected


def test_only_the_unet_is_measured_faster_in_bf16_on_a_cpu():
    assert CPU_BF16_KINDS == {"unet"}


def test_auto_is_this_machines_fact(monkeypatch):
    assert pinned_bf16("auto") == ("native" if cpu_bf16_native() else "cuda")
    monkeypatch.setattr(device_module, "cpu_bf16_native", lambda: False)  # an AVX2-only CPU
    assert pinned_bf16("auto") == "cuda"
    assert not use_bf16(EngineConfig(bf16="auto"), CPU, "unet")
    assert use_bf16(EngineConfig(bf16="auto"), CUDA, "unet")
    monkeypatch.setattr(device_module, "cpu_bf16_native", lambda: True)
    assert pinned_bf16("auto") == "native" and use_bf16(EngineConfig(bf16="auto"), CPU, "unet")
    assert pinned_bf16("off") == "off"


@pytest.mark.parametrize("native, pinned", [(False, "cuda"), (True, "native")])
def test_a_run_folder_records_the_pinned_precision(tiny, tmp_path, monkeypatch, native, pinned):
    monkeypatch.setattr(device_module, "cpu_bf16_native", lambda: native)
    folder = tmp_path / "out"
    assert invoke("run", tiny, "--out", folder, "--quiet", catch_exceptions=False).exit_code == 0
    assert json.loads((folder / "config.json").read_text())["engine"]["bf16"] == pinned
    assert f'bf16 = "{pinned}"' in (folder / "config.toml").read_text()


def test_a_resume_keeps_the_pinned_precision_on_another_cpu(tmp_path, monkeypatch):
    """Started where bf16 is native, resumed where it is not: the run's own path is kept, and
    the config given again with bf16 = auto is accepted as the run's."""
    config = tmp_path / "evolve.toml"
    config.write_text(tiny_toml() + """
[search]
generations = 1
population = 2
n_min = 1
n_max = 2
size_grid = [1]
baseline_repeats = 1
reevaluate_seeds = 1
""")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(device_module, "cpu_bf16_native", lambda: True)
    folder = tmp_path / "out"
    first = invoke("evolve", config, "--out", folder, "--quiet", catch_exceptions=False)
    assert first.exit_code == 0, first.output
    monkeypatch.setattr(device_module, "cpu_bf16_native", lambda: False)
    again = invoke("evolve", config, "--resume", folder, "--quiet", "--set", "search.generations=2",
                   catch_exceptions=False)
    assert again.exit_code == 0, again.output
    assert json.loads((folder / "config.json").read_text())["engine"]["bf16"] == "native"
    other = invoke("evolve", config, "--resume", folder, "--quiet", "--set", "search.generations=2",
                   "--set", "engine.bf16=off")
    assert other.exit_code == 2 and "engine.bf16" in other.output
