"""Typed, frozen configs: overrides with an unknown key or a wrong type are errors.

No ``**kwargs`` pass-through: universal-computation silently absorbed a misspelt argument
that way. Each model or analysis keeps a frozen dataclass next to its code; this module turns
user overrides (from the command line or a JSON file) into a new instance, checked.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import typing
from typing import Any, Mapping, TypeVar

C = TypeVar("C")


def _coerce(name: str, value: Any, annotation: Any) -> Any:
    """Return ``value`` as ``annotation``, or raise naming the field and the expected type."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Union or (origin is not None and str(origin) == "<class 'types.UnionType'>"):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(name, value, arg)
            except (TypeError, ValueError) as exc:
                errors.append(str(exc))
        raise TypeError(f"config field {name!r}: {value!r} fits none of {args}")
    if origin is typing.Literal:
        if value not in args:
            raise ValueError(f"config field {name!r}: {value!r} is not one of {list(args)}")
        return value
    if origin in (tuple, list):
        if isinstance(value, str) and value.strip().startswith("[") and value.strip().endswith("]"):
            try:  # "[]", "[1, 2]", '["a"]': the JSON form, so an empty sequence can be written on a command line
                value = json.loads(value)
            except json.JSONDecodeError:  # [a, b]: the shell ate the quotes; read it as a comma list
                value = [v.strip() for v in value.strip()[1:-1].split(",") if v.strip()]
        elif isinstance(value, str):
            value = [v for v in value.split(",") if v != ""]
        if not isinstance(value, (list, tuple)):
            raise TypeError(f"config field {name!r}: expected a sequence, got {value!r}")
        item = args[0] if args else Any
        return tuple(_coerce(name, v, item) for v in value)
    if annotation is Any:
        return value
    if dataclasses.is_dataclass(annotation):
        if isinstance(value, annotation):
            return value
        raise TypeError(f"config field {name!r} is a {annotation.__name__}: set its keys as {name}.KEY=VALUE")
    if annotation is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on", "false", "0", "no", "off"):
            return value.lower() in ("true", "1", "yes", "on")
        raise TypeError(f"config field {name!r}: expected true/false, got {value!r}")
    if annotation in (int, float):
        kind = "an integer" if annotation is int else "a number"
        ok_types = (int,) if annotation is int else (int, float)
        if isinstance(value, ok_types) and not isinstance(value, bool):
            return annotation(value)
        if isinstance(value, str):
            try:
                return annotation(value)
            except ValueError:
                pass
        raise TypeError(f"config field {name!r}: expected {kind}, got {value!r}")
    if annotation is str:
        if isinstance(value, str):
            return value
        raise TypeError(f"config field {name!r}: expected a string, got {value!r}")
    raise TypeError(f"config field {name!r}: unsupported annotation {annotation!r}")


def override(config: C, overrides: Mapping[str, Any]) -> C:
    """Return a copy of the frozen dataclass ``config`` with checked overrides.

    A dotted key reaches into a nested config (``audit.n_boot``); a sequence may be written as JSON
    (``variants=[]``, ``variants=[1,2]``) or comma-separated (``variants=1,2``).

    Examples
    --------
    >>> from dataclasses import dataclass, field
    >>> @dataclass(frozen=True)
    ... class Cfg:
    ...     size: int = 256
    ...     grey: bool = True
    ...     variants: tuple[int, ...] = (1, 2)
    >>> override(Cfg(), {"size": "64", "grey": "false", "variants": "[]"})
    Cfg(size=64, grey=False, variants=())
    >>> override(Cfg(), {"variants": "[3, 1]"}).variants, override(Cfg(), {"variants": "3,1"}).variants
    ((3, 1), (3, 1))
    >>> override(Cfg(), {"szie": 64})
    Traceback (most recent call last):
    ...
    KeyError: "unknown config key 'szie' for Cfg; valid keys: grey, size, variants"
    >>> @dataclass(frozen=True)
    ... class Study:
    ...     seed: int = 0
    ...     model: Cfg = field(default_factory=Cfg)
    >>> override(Study(), {"model.size": "32", "seed": 3})
    Study(seed=3, model=Cfg(size=32, grey=True, variants=(1, 2)))
    >>> override(Study(), {"model.szie": "32"})
    Traceback (most recent call last):
    ...
    KeyError: "unknown config key 'model.szie' for Study; valid keys: model.grey, model.size, model.variants, seed"
    """
    nested_types = {type(v).__name__: type(v) for f in dataclasses.fields(config)
                    if dataclasses.is_dataclass(v := getattr(config, f.name))}
    hints = typing.get_type_hints(type(config), localns=nested_types)  # nested configs resolve wherever defined
    names = {f.name for f in dataclasses.fields(config)}
    changes: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {}
    for key, value in overrides.items():
        head, dot, rest = key.partition(".")
        if head not in names or (dot and key not in config_keys(config)):
            raise KeyError(f"unknown config key {key!r} for {type(config).__name__}; "
                           f"valid keys: {', '.join(config_keys(config))}")
        if dot:
            nested.setdefault(head, {})[rest] = value
        else:
            changes[key] = _coerce(key, value, hints[key])
    for head, sub in nested.items():
        try:
            changes[head] = override(changes.get(head, getattr(config, head)), sub)
        except (TypeError, ValueError) as exc:  # name the full dotted key
            raise type(exc)(str(exc).replace("config field '", f"config field '{head}.", 1)) from None
    return dataclasses.replace(config, **changes)


def config_keys(config: Any, prefix: str = "") -> list[str]:
    """Every key ``--set`` accepts for ``config``, nested configs spelt with dots, sorted."""
    keys = []
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value):
            keys += config_keys(value, f"{prefix}{f.name}.")
        else:
            keys.append(prefix + f.name)
    return sorted(keys)


def parse_assignments(items: list[str] | None) -> dict[str, str]:
    """Turn ``["size=64", "greyscale=false"]`` (the CLI's ``--set``) into a mapping."""
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set expects KEY=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def to_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a (possibly nested) config dataclass, tagged with its type name."""
    data = dataclasses.asdict(config)
    data["_type"] = type(config).__name__
    return data


def stable_hash(obj: Any, length: int = 12) -> str:
    """Hash of a JSON-serialisable object, independent of key order (for run folders and caches)."""
    text = json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def derived_seed(*parts: Any) -> int:
    """A 32-bit seed derived from the config, so the same command gives the same numbers."""
    return int(stable_hash(parts, 8), 16)
