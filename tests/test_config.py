"""Config loading: every mistake is one line naming the file and the dotted key."""

import dataclasses
import json
import subprocess
import sys
import typing
from pathlib import Path

import numpy as np
import pytest

from tsearch.config import (
    Config,
    ConfigError,
    PolygonsConfig,
    UNetConfig,
    config_from_dict,
    config_to_dict,
    load_config,
    replace_path,
    smoke_config,
)

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path, text):
    path = tmp_path / "x.toml"
    path.write_text(text)
    return path


def test_defaults_load_and_round_trip():
    config = load_config(None)
    assert isinstance(config, Config)
    assert config_from_dict(config_to_dict(config)) == config


def test_tables_and_overrides(tmp_path):
    path = write(tmp_path, '[target]\nkind = "polygons"\nside = 16\n[train]\nsteps = 300\n')
    config = load_config(path, ["train.steps=40", "model.channels=[16, 32]"])
    assert config.target == PolygonsConfig(side=16)
    assert config.train.steps == 40
    assert config.model == UNetConfig(channels=(16, 32))


@pytest.mark.parametrize("text, message", [
    ("[train]\nstepz = 3\n", "x.toml: train.stepz: unknown key (did you mean 'steps'?)"),
    ("[trian]\nsteps = 3\n", "x.toml: trian: unknown key (did you mean 'train'?)"),
    ("[train]\nsteps = 1.5\n", "x.toml: train.steps: expected an integer, got 1.5"),
    ("[train]\nsteps = 0\n", "x.toml: train.steps: must be >= 1"),
    ('[model]\nkind = "resnet"\n', "x.toml: model.kind: unknown model kind 'resnet' (did you mean 'unet'?)"),
    ('[target]\nkind = "dots"\nside = 4\nk = 9\n', "x.toml: target.k: too many dots for this side"),
    ('[sampler]\nkind = "ddim"\n', "x.toml: sampler.kind: unknown sampler kind 'ddim' (choose one of "),
    ("[train\n", "x.toml: invalid TOML"),
])
def test_errors_name_file_and_key(tmp_path, text, message):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "absent.toml")


def test_switching_kind_by_override_drops_the_old_kind_keys(tmp_path):
    path = write(tmp_path, '[model]\nkind = "unet"\nchannels = [16, 32]\n')
    assert load_config(path, ["model.kind=empirical"]).model.kind == "empirical"


def test_bad_override_is_named():
    with pytest.raises(ConfigError, match="--set 'trainsteps'"):
        load_config(None, ["trainsteps"])
    with pytest.raises(ConfigError, match="train.lr: must be > 0"):
        load_config(None, ["train.lr=-1"])


def test_replace_path_validates():
    config = replace_path(load_config(None), "run.n", 5)
    assert config.run.n == 5
    with pytest.raises(ConfigError):
        replace_path(config, "run.n", 0)


# ----------------------------------------------------------------------------- names
@pytest.mark.parametrize("override, message", [
    ("sweep.generalization_metric=g_rell",
     "--set sweep.generalization_metric=g_rell: sweep.generalization_metric: unknown metric 'g_rell' "
     "(did you mean 'g_rel'?)"),
    ("search.fitness_metric=novle",
     "search.fitness_metric: unknown metric 'novle' (did you mean 'novel'?)"),
    ("search.fitness_metric=copy", "search.fitness_metric: 'copy' measures memorization; choose one of g,"),
    ('sweep.metric_by_target={dots="coverage_unsen"}',
     "sweep.metric_by_target.dots: unknown metric 'coverage_unsen' (did you mean 'coverage_unseen'?)"),
    ('sweep.metric_by_target={dotz="g"}', "sweep.metric_by_target: unknown target kind 'dotz' (did you mean"),
    ("search.operator_weights={insrt=1}",
     "search.operator_weights: unknown operator 'insrt' (did you mean 'insert'?)"),
    ("diffusion.kind=vee", "diffusion.kind: unknown diffusion kind 'vee' (did you mean 've'?)"),
    ("executor.kind=rey", "executor.kind: unknown executor kind 'rey' (did you mean 'ray'?)"),
    ("target.kind=polygon", "target.kind: unknown target kind 'polygon' (did you mean 'polygons'?)"),
    ("train.optimizer=adm", "train.optimizer: must be one of 'adam', 'sgd', got 'adm' (did you mean 'adam'?)"),
    ('sweep.grid={"run.nn"=[1, 2]}', "sweep.grid: run.nn: unknown key (did you mean 'run.n'?)"),
    ('sweep.grid={"targt"=[{kind="dots"}]}', "sweep.grid: targt: unknown table (did you mean 'target'?)"),
    ('sweep.grid={"target.rate"=[0.5], "target.rat"=[0.5]}', "sweep.grid: target.rat: unknown key"),
    ('sweep.smoke={"train.stpes"=3}',
     "sweep.smoke: train.stpes: unknown key (did you mean 'train.steps'?)"),
    ('sweep.smoke={grid={"run.sed"=[0]}}',
     "sweep.smoke.grid: run.sed: unknown key (did you mean 'run.seed'?)"),
])
def test_every_name_is_checked_at_load(override, message):
    with pytest.raises(ConfigError) as info:
        load_config(None, [override])
    assert message in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("goal, switch", [
    ("search.fitness_metric=g_shift_above_chance", "metrics.chance_blobs=0"),
    ("sweep.generalization_metric=g_above_chance", "metrics.chance_blobs=0"),
    ('sweep.metric_by_target={polygons="recall"}', "metrics.precision_recall=false"),
])
def test_a_goal_metric_whose_reference_is_switched_off_is_refused(goal, switch):
    load_config(None, [goal])  # fine with the reference on
    with pytest.raises(ConfigError) as info:
        load_config(None, [goal, switch])
    key = goal.split("=")[0].replace('sweep.metric_by_target', 'sweep.metric_by_target.polygons')
    assert f"{key}: " in str(info.value) and switch.split("=")[0] in str(info.value)


def test_a_grid_key_of_any_kind_of_a_polymorphic_table_is_known():
    # target.rate belongs to linear_code only: valid in a grid whose points pick that kind
    config = load_config(None, ['sweep.grid={"target" = [{kind="linear_code"}], "target.rate" = [0.5]}'])
    assert list(config.sweep.grid) == ["target", "target.rate"]


# ----------------------------------------------------------------------------- values
def _fields_of_type(kind_of_value: type):
    """(overrides selecting the kind, dotted key) for every field of that type, in every table."""
    from tsearch.config import SEAMS
    out = []
    for table in dataclasses.fields(Config):
        seam = SEAMS.get(table.name)
        classes = ([(k, seam.config_class(k)) for k in seam.kinds] if seam
                   else [(None, table.default_factory)])
        for kind, cls in classes:
            hints = typing.get_type_hints(cls)
            for f in dataclasses.fields(cls):
                if kind_of_value in (hints[f.name], *typing.get_args(hints[f.name])):
                    out.append(([f"{table.name}.kind={kind}"] if kind else [], f"{table.name}.{f.name}"))
    return out


FLOAT_FIELDS = _fields_of_type(float)
INT_FIELDS = _fields_of_type(int)
# fields holding a list of numbers (tuple[float, ...]): a value is given inside a list
SEQUENCE_KEYS = {f"{table.name}.{f.name}" for table in dataclasses.fields(Config)
                 if table.name not in ("target", "model")
                 for f in dataclasses.fields(table.default_factory)
                 if typing.get_origin(typing.get_type_hints(table.default_factory)[f.name]) is tuple}
SEEDS = {"run.seed", "target.code_seed", "metrics.reference_seed"}  # hashed into 63-bit seeds
# (tsearch.seeding): any integer


@pytest.mark.parametrize("select, key", INT_FIELDS, ids=[k for _, k in INT_FIELDS])
def test_every_count_has_an_upper_bound(select, key):
    if key in SEEDS:
        assert load_config(None, [*select, f"{key}=1e18"]) is not None
        return
    with pytest.raises(ConfigError) as info:
        load_config(None, [*select, f"{key}=1e18"])
    blamed = {key, {"model.groups": "model.channels", "model.heads": "model.width"}.get(key, key)}
    # the --set that gave the value is named; a bound found on another key names the config
    assert any(str(info.value).startswith(start) for k in blamed
               for start in (f"--set {key}=1e18: {k}: ", f"<defaults>: {k}: ")), str(info.value)
    assert "\n" not in str(info.value)


def test_the_float_fields_are_found():
    keys = {key for _, key in FLOAT_FIELDS}
    assert {"train.lr", "diffusion.t_max", "target.min_area", "metrics.copy_ratio", "sweep.threshold",
            "executor.num_gpus", "model.sharpness"} <= keys


@pytest.mark.parametrize("select, key", FLOAT_FIELDS, ids=[k for _, k in FLOAT_FIELDS])
@pytest.mark.parametrize("value", ["inf", "-inf", "nan"])
def test_non_finite_floats_are_rejected_everywhere(select, key, value):
    given = f"[{value}]" if key in SEQUENCE_KEYS else value
    with pytest.raises(ConfigError) as info:
        load_config(None, [*select, f"{key}={given}"])
    assert str(info.value) == f"--set {key}={given}: {key}: expected a finite number, got {float(value)}"


@pytest.mark.parametrize("override, message", [
    ('sweep.grid={"train.lr"=[0.1, inf]}', 'sweep.grid.train.lr: expected a finite number, got inf'),
    ('sweep.smoke={"diffusion.t_max"=nan}', 'sweep.smoke.diffusion.t_max: expected a finite number, got nan'),
    ('search.operator_weights={insert=-inf}', 'search.operator_weights.insert: expected a finite number, got -inf'),
    ('search.operator_weights={insert=-1}', 'search.operator_weights.insert: must be a finite number >= 0, got -1'),
])
def test_non_finite_floats_are_rejected_inside_tables(override, message):
    with pytest.raises(ConfigError) as info:
        load_config(None, [override])
    assert str(info.value) == f"--set {override}: {message}"


def test_whole_floats_stand_for_integers():
    config = load_config(None, ["train.steps=1e3", "sampler.n_samples=64.0"])
    assert config.train.steps == 1000 and isinstance(config.train.steps, int)
    assert config.sampler.n_samples == 64 and isinstance(config.sampler.n_samples, int)
    assert config_from_dict(config_to_dict(config)) == config
    for given, shown in (("1.5", "1.5"), ("inf", "inf"), ("nan", "nan"), ("true", "True")):
        with pytest.raises(ConfigError) as info:
            load_config(None, [f"train.steps={given}"])
        assert str(info.value) == f"--set train.steps={given}: train.steps: expected an integer, got {shown}"


@pytest.mark.parametrize("overrides, message", [
    (["sampler.n_samples=1e9"],
     "sampler.n_samples: 1,000,000,000 samples of 8x8 take 238.4 GiB as float32 (max 4 GiB per evaluation)"),
    (["target.side=256", "sampler.n_samples=20000"],
     "sampler.n_samples: 20,000 samples of 256x256 take 4.9 GiB"),
    (["train.batch_size=1e8"], "train.batch_size: 100,000,000 batch images of 8x8 take 23.8 GiB"),
    (["metrics.reference_samples=1e9"], "metrics.reference_samples: 1,000,000,000 reference samples"),
    (["train.steps=1e12"],
     "train.steps: 1,000,000,000,000 steps exceed the maximum 10,000,000 (~2,881 years at the 11 steps/s"),
    (["sampler.n_steps=1e9"], "sampler.n_steps: must be in [1, 100,000]"),
    (["run.n=1e7"], "run.n: must be in [1, 1,000,000]"),
    (["search.n_max=1e9"], "search.n_max: must be <= 1,000,000"),
    (['sweep.grid={"run.seed"=' + str(list(range(1001))) + ', "run.n"=' + str(list(range(1, 1001))) + '}'],
     "sweep.grid: 1,001,000 grid points exceed the maximum 1,000,000"),
    (["target.side=3"], "target.side: score networks need side >= 4, got 3 (or use an oracle model.kind)"),
    (["target.side=3", "model.kind=transformer"], "target.side: score networks need side >= 4, got 3"),
    (["target.kind=polygons", "target.side=8", "target.min_area=60"],
     "target.min_area: must be in [0, 0.3 * side^2 = 19.2]: larger polygons are too rare"),
])
def test_sizes_that_cannot_run_are_rejected_with_the_estimate(overrides, message):
    with pytest.raises(ConfigError) as info:
        load_config(None, overrides)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_a_small_side_is_fine_for_an_oracle():
    assert load_config(None, ["target.side=3", "model.kind=empirical"]).target.side == 3


def test_the_largest_polygon_min_area_can_be_sampled():
    from tsearch.config.schema import MAX_POLYGON_AREA_FRACTION
    from tsearch.targets import build_target

    for max_vertices in (3, 6):  # triangles reach large areas most rarely
        side = 8
        cfg = PolygonsConfig(side=side, max_vertices=max_vertices,
                             min_area=MAX_POLYGON_AREA_FRACTION * side**2)
        samples = build_target(cfg).sample(128, np.random.default_rng(0))
        assert len(samples.images) == 128
        assert (samples.images > 0).sum(axis=(1, 2)).min() >= cfg.min_area


def test_resolved_configs_are_strict_json(tmp_path):
    for path in sorted(ROOT.glob("tsearch/configs/*.toml")):
        config = load_config(path)
        for c in (config, smoke_config(config, source=str(path))) if config.sweep.smoke else (config,):
            text = json.dumps(config_to_dict(c), allow_nan=False)  # inf would be written as null
            assert config_from_dict(json.loads(text)) == c


# ----------------------------------------------------------------------------- smoke
def test_smoke_applies_the_smoke_table():
    config = load_config(ROOT / "tsearch/configs/exp1.toml")
    smoke = smoke_config(config, source="tsearch/configs/exp1.toml")
    assert smoke.train.steps == config.sweep.smoke["train.steps"]
    assert smoke.sweep.grid["run.n"] == config.sweep.smoke["grid"]["run.n"]
    assert smoke.sweep.grid["target"] == config.sweep.smoke["grid"]["target"]


def test_smoke_without_a_smoke_table_is_an_error():
    with pytest.raises(ConfigError) as info:
        smoke_config(load_config(None), source="configs/x.toml")
    assert str(info.value) == "configs/x.toml: --smoke: the config has no [sweep.smoke] table"


def test_smoke_values_are_checked():
    config = load_config(None, ['sweep.smoke={"train.lr"=-1}'])
    with pytest.raises(ConfigError, match=r"^x.toml: sweep.smoke: train.lr: must be > 0$"):
        smoke_config(config, source="x.toml")


# ----------------------------------------------------------------------------- command line
def _cli(args, cwd):
    return subprocess.run([sys.executable, "-c", "from tsearch.cli import main; main()", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("command, config, key", [
    ("sweep", "tsearch/configs/exp1.toml", "sweep.generalization_metric"),
    ("evolve", "tsearch/configs/evolve.toml", "search.fitness_metric"),
])
def test_cli_unknown_metric_exits_2_with_one_line_and_no_folder(tmp_path, command, config, key):
    out = tmp_path / "run"
    result = _cli([command, config, "--set", f"{key}=g_rell", "--out", str(out)], cwd=ROOT)
    assert result.returncode == 2, result.stderr
    expected = f"tsearch: error: --set {key}=g_rell: {key}: unknown metric 'g_rell' (did you mean 'g_rel'?)\n"
    assert result.stderr == expected
    assert not out.exists()


@pytest.mark.parametrize("command, config, override, message", [
    ("sweep", "tsearch/configs/exp1.toml", "train.lr=inf", "train.lr: expected a finite number, got inf"),
    ("sweep", "tsearch/configs/exp1.toml", "sampler.n_samples=1e9", "sampler.n_samples: 1,000,000,000 samples of"),
    ("evolve", "tsearch/configs/evolve.toml", "train.epochs=1e12", "train.epochs: must be in [0, 1,000,000]"),
    ("evolve", "tsearch/configs/evolve.toml", "train.steps=600", "train.steps: exclusive with train.epochs"),
    ("run", "tsearch/configs/dots_small.toml", "train.min_steps=100",
     "train.min_steps: a floor on the budget in epochs"),
    ("run", "tsearch/configs/dots_small.toml", "target.side=3", "target.side: score networks need side >= 4, got 3"),
    ("run", "tsearch/configs/dots_small.toml", "diffusion.t_max=inf", "diffusion.t_max: expected a finite number"),
])
def test_cli_bad_values_exit_2_before_any_folder(tmp_path, command, config, override, message):
    out = tmp_path / "run"
    result = _cli([command, config, "--set", override, "--out", str(out)], cwd=ROOT)
    assert result.returncode == 2, result.stderr
    # the value came from --set: the line names it (a422f33 named the config file)
    assert result.stderr.startswith(f"tsearch: error: --set {override}: ") and message in result.stderr
    assert result.stderr.count("\n") == 1
    assert not out.exists()
