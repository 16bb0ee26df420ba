"""TOML -> frozen dataclasses, with one-line errors that name the file and the dotted key.

    load_config("my.toml", overrides=["train.steps=100"]) -> Config
    config_to_dict(config) -> plain JSON-able dict (the resolved config of a run folder)
    config_from_dict(d, source="run/config.json") -> Config
"""

from __future__ import annotations

import dataclasses
import difflib
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, Literal

from ..errors import UserError
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
    return config_from_dict(data, source=source)


def config_from_dict(data: dict, *, source: str = "<dict>") -> Config:
    return _build(Config, data, prefix="", source=source)


def config_to_dict(config: Any) -> Any:
    if dataclasses.is_dataclass(config):
        return {f.name: config_to_dict(getattr(config, f.name)) for f in dataclasses.fields(config)}
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


def parse_override(item: str, source: str = "--set") -> tuple[str, Any]:
    if "=" not in item:
        raise ConfigError(f"--set {item!r}: expected key=value")
    key, raw = item.split("=", 1)
    key = key.strip()
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # a bare word is a string: --set model.kind=unet
    return key, value


# ----------------------------------------------------------------------------- internals
def _read_toml(path: Path) -> dict:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc.__class__.__name__})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc})") from None


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
        new_cls = POLYMORPHIC[table].get(value)
        if new_cls is not None:
            names = {f.name for f in dataclasses.fields(new_cls)}
            for k in list(node):
                if k not in names:
                    del node[k]
    for part in rest[:-1]:
        node = node.setdefault(part, {})
    node[rest[-1]] = value


def _build(cls: type, data: Any, *, prefix: str, source: str):
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: {prefix.rstrip('.') or 'config'}: expected a table")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    for key in data:
        if key not in fields:
            raise ConfigError(f"{source}: {prefix}{key}: unknown key{_did_you_mean(key, fields)}")
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
    kinds = POLYMORPHIC[table]
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: {table}: expected a table")
    kind = value.get("kind", Config.__dataclass_fields__[table].default_factory().kind)
    if kind not in kinds:
        raise ConfigError(f"{source}: {table}.kind: unknown kind {kind!r} "
                          f"(choose one of {', '.join(sorted(kinds))})")
    return _build(kinds[kind], value, prefix=f"{table}.", source=source)


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
                              f"{', '.join(repr(c) for c in choices)}, got {value!r}")
        return value
    if origin in (types.UnionType, typing.Union):
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
        return value
    if hint is bool:
        if not isinstance(value, bool):
            fail("true or false")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            fail("an integer")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            fail("a number")
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


def _type_name(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin is tuple:
        return "a list"
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(
        hint, getattr(hint, "__name__", str(hint)))


def _did_you_mean(key: str, fields: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(fields), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _merge(base: dict, top: dict) -> dict:
    out = dict(base)
    for k, v in top.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _deep_copy(d: dict) -> dict:
    return {k: _deep_copy(v) if isinstance(v, dict) else v for k, v in d.items()}
