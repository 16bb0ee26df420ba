"""Configs: TOML tables loaded into frozen dataclasses (see schema.py for every key)."""

from .loader import ConfigError, config_from_dict, config_to_dict, load_config, parse_override, replace_path
from .schema import *  # noqa: F401,F403  (the dataclasses are the public vocabulary)
from .schema import ORACLE_KINDS, Config, FieldError
