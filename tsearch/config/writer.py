"""Config -> TOML: the ``config.toml`` of a run folder, which every command accepts.

    config_to_toml(config) -> text;  load_config(that file) == config   (tests/test_config_toml.py)

TOML has no null: a key whose value is None is left out, so that it takes its default, which
is None wherever the schema allows None.
"""

from __future__ import annotations

from typing import Any

import tomli_w

from .loader import config_to_dict
from .schema import Config

HEADER = ("# The resolved config of this run (defaults, overrides and --smoke applied).\n"
          "# Every command accepts it: `tsearch {kind} config.toml` evaluates the same tasks again.\n\n")


def config_to_toml(config: Config, *, kind: str = "run") -> str:
    return HEADER.format(kind=kind) + tomli_w.dumps(_without_none(config_to_dict(config)))


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value
