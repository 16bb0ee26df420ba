"""Configs: TOML tables loaded into frozen dataclasses (see schema.py for every key)."""

from .loader import (
    ConfigError,
    config_from_dict,
    config_to_dict,
    load_config,
    parse_override,
    replace_path,
    smoke_config,
)
from .schema import *  # noqa: F403  (the dataclasses are the public vocabulary)
from .schema import (
    EXECUTORS,
    MODELS,
    NETWORK_KINDS,
    ORACLE_KINDS,
    PROCESSES,
    SAMPLERS,
    SEAMS,
    TARGETS,
    Config,
    FieldError,
)
from .writer import config_to_toml

__all__ = ["EXECUTORS", "MODELS", "NETWORK_KINDS", "ORACLE_KINDS", "PROCESSES", "SAMPLERS", "SEAMS", "TARGETS",
           "Config", "ConfigError", "FieldError", "config_from_dict", "config_to_dict", "config_to_toml",
           "load_config", "parse_override", "replace_path", "smoke_config"]
