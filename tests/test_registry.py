"""The registry: every seam's kinds resolve to real implementations, name lists match the code."""

import subprocess
import sys
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pytest
import torch

from tsearch.config import MODELS, NETWORK_KINDS, ORACLE_KINDS, SEAMS, Config, load_config
from tsearch.config.schema import OPERATOR_WEIGHTS
from tsearch.registry import GOAL_METRICS, METRICS, OPERATORS, Names, Seam, UnknownName

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("table, kind", [(t, k) for t, seam in SEAMS.items() for k in seam.kinds])
def test_every_kind_names_an_importable_implementation(table, kind):
    seam = SEAMS[table]
    implementation = seam.implementation(kind)
    assert callable(implementation), f"{table} kind {kind}: {implementation!r} is not callable"
    cfg = seam.config_class(kind)
    assert {f.name for f in fields(cfg)} >= set(seam.kind(kind).params or ()), \
        f"{table} kind {kind}: a registered param is not a field of {cfg.__name__}"


def test_every_config_table_with_a_kind_has_a_seam():
    tables = {f.name for f in fields(Config)}
    defaults = Config()
    with_kind = {t for t in tables if hasattr(getattr(defaults, t), "kind")}
    assert with_kind == set(SEAMS)


def test_models_are_networks_or_oracles():
    assert NETWORK_KINDS | ORACLE_KINDS == set(MODELS.kinds)
    assert not NETWORK_KINDS & ORACLE_KINDS


def test_builders_build_every_kind_from_its_config():
    from tsearch.diffusion import build_process, build_sampler
    from tsearch.models import build_model
    from tsearch.oracles import build_oracle
    from tsearch.targets import build_target

    config = load_config(None)
    process = build_process(config.diffusion)
    for kind in SEAMS["target"].kinds:
        target = build_target(SEAMS["target"].config_class(kind)())
        assert type(target).__name__ == SEAMS["target"].kind(kind).implementation.split(":")[1]
    for kind in sorted(NETWORK_KINDS):
        net = build_model(MODELS.config_class(kind)(), side=8)
        assert isinstance(net, torch.nn.Module)
    images = torch.where(torch.rand(3, 6, 6, generator=torch.Generator().manual_seed(0)) > 0.5, 1.0, -1.0)
    target = build_target(SEAMS["target"].config_class("bernoulli")(side=6))
    for kind in sorted(ORACLE_KINDS):
        score_fn = build_oracle(MODELS.config_class(kind)(reference_size=16) if kind == "population"
                                else MODELS.config_class(kind)(), process=process, train_images=images,
                                target=target, rng=np.random.default_rng(0))
        assert score_fn(images, torch.tensor(0.5)).shape == images.shape
    for kind in SEAMS["sampler"].kinds:
        sampler = build_sampler(SEAMS["sampler"].config_class(kind)(kind=kind, n_steps=3), process)
        assert type(sampler).__name__ == SEAMS["sampler"].kind(kind).implementation.split(":")[1]
        assert sampler.n_steps == 3


def test_population_oracle_without_target_is_a_caller_bug():
    from tsearch.diffusion import build_process
    from tsearch.oracles import build_oracle

    with pytest.raises(TypeError, match="needs target, rng"):
        build_oracle(MODELS.config_class("population")(), process=build_process(load_config(None).diffusion),
                     train_images=torch.ones(2, 4, 4))


def test_metric_names_are_the_keys_the_engine_reports():
    from tsearch.config import MetricsConfig
    from tsearch.metrics import compute_metrics
    from tsearch.targets import build_target

    target = build_target(SEAMS["target"].config_class("dots")(side=4, k=1))  # finite support
    rng = np.random.default_rng(0)
    train = torch.as_tensor(target.sample(4, rng).images)
    samples = torch.randn(16, 4, 4, generator=torch.Generator().manual_seed(0))
    report = compute_metrics(samples, train, target, config=MetricsConfig(n_bootstrap=0),
                             novel_mass=0.5, rng=rng)
    assert set(report.metrics) == set(METRICS)
    assert set(GOAL_METRICS) <= set(METRICS)


def test_every_operator_name_is_implemented_and_weighted():
    from tsearch.search.operators import ELEMENT_OPERATORS, SET_OPERATORS

    assert set(OPERATORS.names) == set(ELEMENT_OPERATORS) | set(SET_OPERATORS)
    assert tuple(OPERATOR_WEIGHTS) == OPERATORS.names


def test_seam_builds_with_params_and_declared_context():
    @dataclass(frozen=True)
    class PointConfig:
        kind: str = "point"
        x: int = 1
        y: int = 2

    seam = Seam("shape")
    seam.register("builtins:dict", context=("scale",))(PointConfig)
    seam.add("xonly", PointConfig, "builtins:dict", params=("x",))
    assert seam.build(PointConfig(x=5), scale=3, unused=0) == {"x": 5, "y": 2, "scale": 3}
    assert seam.build(PointConfig(kind="xonly", x=7)) == {"x": 7}
    with pytest.raises(TypeError, match="needs scale"):
        seam.build(PointConfig())
    with pytest.raises(ValueError, match="registered twice"):
        seam.add("point", PointConfig, "builtins:dict")
    with pytest.raises(ValueError, match="module:attribute"):
        seam.add("other", PointConfig, "dict")


def test_unknown_names_suggest_or_list():
    assert str(UnknownName("metric", "g_rell", METRICS)) == "unknown metric 'g_rell' (did you mean 'g_rel'?)"
    names = Names("colour", ("red", "green"))
    with pytest.raises(UnknownName, match=r"unknown colour 'zzz' \(choose one of red, green\)"):
        names.check("zzz")
    with pytest.raises(UnknownName, match=r"unknown colour 3 \(choose one of red, green\)"):
        names.check(3)
    with pytest.raises(UnknownName, match=r"unknown target kind 'dotz' \(did you mean 'dots'\?\)"):
        SEAMS["target"].config_class("dotz")


def test_loading_a_config_imports_nothing_heavy():
    code = ("import sys; from tsearch.config import load_config; load_config('tsearch/configs/exp4.toml'); "
            "print(sorted(m for m in ('torch', 'numpy', 'shapely', 'ray') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
