"""Config loading: every mistake is one line naming the file and the dotted key."""

import pytest

from tsearch.config import (Config, ConfigError, PolygonsConfig, UNetConfig, config_from_dict,
                            config_to_dict, load_config, replace_path)


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
