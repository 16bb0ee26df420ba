"""TOML -> frozen dataclasses, with one-line errors that name the file and the dotted key.

    load_config("my.toml", overrides=["train.steps=100"]) -> Config
    smoke_config(config, source="my.toml") -> Config     # --smoke: [sweep.smoke] applied
    config_to_dict(config) -> plain JSON-able dict (the resolved config of a run folder)
    config_from_dict(d, source="run/config.json") -> Config
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, Literal

from ..errors import UserError
from ..registry import UnknownName, did_you_mean
from .schema import POLYMORPHIC, Config, FieldError


class ConfigError(UserError, ValueError):
    """A user error in a config: the message is the one line the CLI prints."""


def load_config(path: str | Path | None, overrides: typing.Sequence[str] = (),
                *, defaults: dict | None = None) -> Config:
    """Read a TOML file (or nothing), apply ``--set key=value`` overrides, validate."""
    source = str(path) if path is not None else "<defaults>"
    data: dict = _deep_copy(defaults or {})
    if path is not None:
        data = _merge(data, _read_toml(Path(path)))
    for item in overrides:
        _apply_override(data, item, source)
    try:
        return config_from_dict(data, source=source)
    except ConfigError as exc:
        raise _blame_override(exc, source, overrides) from None


def _blame_override(exc: ConfigError, source: str, overrides: typing.Sequence[str]) -> ConfigError:
    """A value refused at a key a ``--set`` gave is that ``--set``'s error, not the file's."""
    rest = str(exc).removeprefix(f"{source}: ")
    key, _, why = rest.partition(": ")
    for item in reversed(overrides):  # the last --set of a key is the one that counts
        given = item.split("=", 1)[0].strip()
        if why and (key == given or key.startswith(f"{given}.") or given.startswith(f"{key}.")):
            return ConfigError(f"--set {item if len(item) <= 80 else item[:77] + '...'}: {key}: {why}")
    return exc


def config_from_dict(data: dict, *, source: str = "<dict>") -> Config:
    return _build(Config, data, prefix="", source=source)


def config_to_dict(config: Any) -> Any:
    """The config as plain data (config.json, and every hash of a config); a key added to the
    schema after folders were written (schema.ADDED) is left out at its default."""
    if dataclasses.is_dataclass(config):
        return {f.name: config_to_dict(getattr(config, f.name)) for f in dataclasses.fields(config)
                if not (f.metadata.get("omit_at_default") and getattr(config, f.name) == f.default)}
    if isinstance(config, tuple):
        return [config_to_dict(v) for v in config]
    if isinstance(config, dict):
        return {k: config_to_dict(v) for k, v in config.items()}
    return config


def replace_path(config: Config, dotted: str, value: Any) -> Config:
    """A copy of ``config`` with one dotted key changed, validated like a ``--set``."""
    data = config_to_dict(config)
    _set_dotted(data, dotted.split("."), value, "<override>", dotted)
    return config_from_dict(data, source="<override>")


def smoke_config(config: Config, *, source: str = "<config>") -> Config:
    """The config ``--smoke`` runs: ``[sweep.smoke]``'s dotted keys (or whole tables) applied,
    its ``grid`` merged into the grid. A config without that table is an error: ``--smoke``
    must never run the full sweep silently."""
    smoke = config.sweep.smoke
    if not smoke:
        raise ConfigError(f"{source}: --smoke: the config has no [sweep.smoke] table")
    data = config_to_dict(config)
    for key, value in smoke.items():
        if key == "grid":
            data["sweep"]["grid"] = {**data["sweep"]["grid"], **value}
        elif "." not in key:  # a whole table, e.g. target = {kind = "dots", side = 4}
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: sweep.smoke.{key}: expected a table")
            data[key] = value
        else:
            _set_dotted(data, key.split("."), value, f"{source}: sweep.smoke.{key}", key)
    try:
        return config_from_dict(data, source="<smoke>")
    except ConfigError as exc:
        raise ConfigError(f"{source}: sweep.smoke: {str(exc).removeprefix('<smoke>: ')}") from None


def parse_override(item: str, source: str = "--set") -> tuple[str, Any]:
    if "=" not in item:
        raise ConfigError(f"--set {item!r}: expected key=value")
    key, raw = item.split("=", 1)
    key = key.strip()
    try:
        value = check_depth(tomllib.loads(f"v = {raw}"), f"--set {key}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # a bare word is a string: --set model.kind=unet
    except RecursionError:
        raise ConfigError(f"--set {key}: nested more than {MAX_DEPTH} levels deep") from None
    return key, value


MAX_DEPTH = 16  # tables and arrays in tables: a config needs 4; tomllib recurses per level


def check_depth(data: dict, where: str) -> dict:
    """A one-line refusal of TOML nested deeper than any config needs (a parser that recurses
    per level would otherwise end in a traceback, or a config in a RecursionError later)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ConfigError(f"{where}: nested more than {MAX_DEPTH} levels deep")
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        stack += [(child, depth + 1) for child in children if isinstance(child, (dict, list))]
    return data


# ----------------------------------------------------------------------------- internals
def _read_toml(path: Path) -> dict:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc.__class__.__name__})") from None
    try:
        return check_depth(tomllib.loads(text), str(path))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc})") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested more than {MAX_DEPTH} levels deep") from None


def _apply_override(data: dict, item: str, source: str) -> None:
    key, value = parse_override(item, source)
    _set_dotted(data, key.split("."), value, f"--set {key}", key)


def _set_dotted(data: dict, parts: list[str], value: Any, where: str, dotted: str) -> None:
    if len(parts) < 2:
        raise ConfigError(f"{where}: expected table.key (e.g. train.steps)")
    table, *rest = parts
    node = data.setdefault(table, {})
    if not isinstance(node, dict):
        raise ConfigError(f"{where}: {table} is not a table")
    # Changing the kind of a polymorphic table drops the keys of the previous kind:
    # --set model.kind=empirical on a UNet config must not fail on unet.channels.
    if table in POLYMORPHIC and rest == ["kind"] and node.get("kind") != value:
        if value in POLYMORPHIC[table]:
            names = {f.name for f in dataclasses.fields(POLYMORPHIC[table].config_class(value))}
            for k in list(node):
                if k not in names:
                    del node[k]
    for depth, part in enumerate(rest[:-1], start=2):
        node = node.setdefault(part, {})
        if not isinstance(node, dict):  # --set train.lr.x=1: lr is a number, not a table
            raise ConfigError(f"{where}: {'.'.join(parts[:depth])} is not a table")
    node[rest[-1]] = value


def _build(cls: type, data: Any, *, prefix: str, source: str):
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: {prefix.rstrip('.') or 'config'}: expected a table")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    for key in data:
        if key not in fields:
            raise ConfigError(f"{source}: {prefix}{key}: unknown key{did_you_mean(key, fields)}")
    kwargs = {}
    for name, value in data.items():
        dotted = f"{prefix}{name}"
        if cls is Config and name in POLYMORPHIC:
            kwargs[name] = _build_polymorphic(name, value, source=source)
        else:
            kwargs[name] = _coerce(value, hints[name], dotted, source)
    try:
        return cls(**kwargs)
    except FieldError as exc:
        raise ConfigError(f"{source}: {prefix}{exc.key}: {exc.message}") from None


def _build_polymorphic(table: str, value: Any, *, source: str):
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: {table}: expected a table")
    kind = value.get("kind", Config.__dataclass_fields__[table].default_factory().kind)
    try:
        cls = POLYMORPHIC[table].config_class(kind)
    except UnknownName as exc:
        raise ConfigError(f"{source}: {table}.kind: {exc}") from None
    return _build(cls, value, prefix=f"{table}.", source=source)


def _coerce(value: Any, hint: Any, dotted: str, source: str) -> Any:
    def fail(expected: str):
        raise ConfigError(f"{source}: {dotted}: expected {expected}, got {value!r}")

    origin = typing.get_origin(hint)
    if hint is Any:
        return value
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, prefix=f"{dotted}.", source=source)
    if origin is Literal:
        choices = typing.get_args(hint)
        if value not in choices:
            raise ConfigError(f"{source}: {dotted}: must be one of "
                              f"{', '.join(repr(c) for c in choices)}, got {value!r}{did_you_mean(value, choices)}")
        return value
    if origin in (types.UnionType, typing.Union):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is not None and len(options) == 1:  # X | None: a given value is an X
            return _coerce(value, options[0], dotted, source)
        for option in typing.get_args(hint):
            try:
                return _coerce(value, option, dotted, source)
            except ConfigError:
                continue
        fail(" or ".join(_type_name(a) for a in typing.get_args(hint)))
    if origin is tuple:
        args = typing.get_args(hint)
        if not isinstance(value, (list, tuple)):
            fail("a list")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], dotted, source) for v in value)
        if len(value) != len(args):
            fail(f"a list of {len(args)}")
        return tuple(_coerce(v, a, dotted, source) for v, a in zip(value, args))
    if hint is dict or origin is dict:
        if not isinstance(value, dict):
            fail("a table")
        _check_finite(value, dotted, source)
        return value
    if hint is bool:
        if not isinstance(value, bool):
            fail("true or false")
        return value
    if hint is int:
        # 1e9 is a float in TOML: a whole float stands for its integer, so 1e9 and 1000000000
        # meet the same range checks; 1.5, inf and nan do not
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            fail("an integer")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            fail("a number")
        if not math.isfinite(value):
            fail("a finite number")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            fail("a string")
        return value
    if hint is type(None):
        if value is not None:
            fail("nothing")
        return None
    return value


def _check_finite(value: Any, dotted: str, source: str) -> None:
    """No inf or nan anywhere in a free-form table (a sweep's grid, operator weights): a run
    folder's config.json must read back as the config that ran."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{source}: {dotted}: expected a finite number, got {value!r}")
    if isinstance(value, dict):
        for k, v in value.items():
            _check_finite(v, f"{dotted}.{k}", source)
    elif isinstance(value, list):
        for v in value:
            _check_finite(v, dotted, source)


def _type_name(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin is tuple:
        return "a list"
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(
        hint, getattr(hint, "__name__", str(hint)))


def _merge(base: dict, top: dict) -> dict:
    out = dict(base)
    for k, v in top.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _deep_copy(d: dict) -> dict:
    return {k: _deep_copy(v) if isinstance(v, dict) else v for k, v in d.items()}
