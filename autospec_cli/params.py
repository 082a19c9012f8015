"""Declared, typed parameters of plug-ins (verifier backends, spec generators).

A plug-in declares each of its options once, as a :class:`Parameter` (type, default, help,
optional bounds and choices). Everything else is generated from the declaration: parsing of
``--opt name=value`` strings and of values from JSON or TOML files, the range checks, the
help text of CLI flags and the listing of ``autospec plugins``. No default is written twice.

Parsing is strict, because a silently changed value changes what was verified:

- ``int``: Python integers, floats with no fractional part (``3.0``, as JSON and TOML
  writers may produce them) and strings that are decimal integer literals (``"3"``,
  ``"-2"``). ``2.7``, ``"2.5"``, ``"3.0"``, ``"1e3"`` and booleans are refused.
- ``float``: numbers and strings ``float()`` reads; NaN and infinities are refused unless
  the parameter sets ``finite=False``; booleans are refused.
- ``bool``: booleans, the integers 0 and 1, and (case-insensitive) the words
  true/false, yes/no, on/off, 1/0. ``"flase"`` is refused.
- ``str``: strings (and paths, turned into strings); anything else is refused.
- any other type is a converter called with the raw value (e.g. an argv list parsed from a
  string); its ``ValueError`` or ``TypeError`` is reported as an unreadable value.

``optional=True`` also admits ``None`` (and the words ``none``/``null`` in strings).
Errors are :class:`~autospec_cli.errors.ParameterError`, one line naming the parameter.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from autospec_cli.errors import ConfigError, ParameterError

__all__ = ["BOOL_WORDS", "Parameter", "param", "parse_pairs"]

#: The words a boolean parameter reads from a string (compared case-insensitively).
BOOL_WORDS: dict[str, bool] = {
    "true": True, "yes": True, "on": True, "1": True,
    "false": False, "no": False, "off": False, "0": False,
}
_INT_LITERAL = re.compile(r"^[+-]?\d+$")
_NONE_WORDS = ("none", "null")
#: Key of a dataclass field's metadata holding its :class:`Parameter` (see :func:`param`).
FIELD_KEY = "autospec_parameter"


@dataclass(frozen=True)
class Parameter:
    """A declared plug-in option: its type, default, help and optional bounds/choices.

    ``min``/``max`` are inclusive bounds of numeric parameters; ``choices`` lists the values
    allowed; ``optional`` admits ``None``; ``finite=False`` lets a float be NaN or infinite.
    """

    type: Any
    default: Any
    help: str
    choices: tuple[Any, ...] | None = None
    min: float | None = None
    max: float | None = None
    optional: bool = False
    finite: bool = True

    def parse(self, name: str, raw: Any) -> Any:
        """``raw`` (a string from the command line or a value from a file) as this type,
        checked against the bounds and choices; :class:`ParameterError` otherwise."""
        if raw is None or (self.optional and isinstance(raw, str)
                           and raw.strip().lower() in _NONE_WORDS):
            if self.optional:
                return None
            raise ParameterError(f"parameter {name} must not be None")
        value = self._convert(name, raw)
        return self.check(name, value)

    def check(self, name: str, value: Any) -> Any:
        """``value`` (already of this type) checked against bounds and choices."""
        if value is None and self.optional:
            return None
        if self.choices is not None and value not in self.choices:
            raise ParameterError(
                f"parameter {name}: {value!r} is not one of {', '.join(map(str, self.choices))}"
            )
        if self.type in (int, float) and (self.min is not None or self.max is not None):
            too_low = self.min is not None and value < self.min
            too_high = self.max is not None and value > self.max
            if too_low or too_high:
                raise ParameterError(f"parameter {name} must be {self.range_text()}, got {value}")
        return value

    def range_text(self) -> str:
        """``">= 0"``, ``"<= 1"`` or ``"between 0 and 1"`` (empty without bounds)."""
        if self.min is not None and self.max is not None:
            return f"between {self.min} and {self.max}"
        if self.min is not None:
            return f">= {self.min}"
        if self.max is not None:
            return f"<= {self.max}"
        return ""

    @property
    def type_name(self) -> str:
        """The type as shown in help and listings (``int``, ``float``, ``argv``, ...)."""
        return str(getattr(self.type, "__name__", self.type)).lower()

    def describe(self) -> dict[str, Any]:
        """A JSON-ready description: type, default, help, choices, min, max, optional."""
        return {
            "type": self.type_name,
            "default": _jsonable(self.default),
            "help": self.help,
            "choices": list(self.choices) if self.choices else None,
            "min": self.min,
            "max": self.max,
            "optional": self.optional,
        }

    def help_text(self) -> str:
        """The help with the default and bounds appended, for CLI flags and listings."""
        extra = []
        if self.choices:
            extra.append("one of " + ", ".join(map(str, self.choices)))
        if self.range_text():
            extra.append(self.range_text())
        extra.append(f"default {_show(self.default)}")
        return f"{self.help} ({'; '.join(extra)})" if self.help else f"({'; '.join(extra)})"

    # -- conversion ------------------------------------------------------------------------
    def _convert(self, name: str, raw: Any) -> Any:
        kind = self.type
        if kind is bool:
            return _to_bool(name, raw)
        if kind is int:
            return _to_int(name, raw)
        if kind is float:
            return _to_float(name, raw, self.finite)
        if kind is str:
            if isinstance(raw, str):
                return raw
            if isinstance(raw, os.PathLike):
                return os.fspath(raw)
            raise ParameterError(f"parameter {name} must be a string, got {raw!r}")
        if isinstance(kind, type) and isinstance(raw, kind):
            return raw
        try:
            return kind(raw)
        except (TypeError, ValueError) as e:
            raise ParameterError(
                f"parameter {name}: cannot read {raw!r} as {self.type_name} ({_one_line(e)})"
            ) from None


def _to_bool(name: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, numbers.Integral) and int(raw) in (0, 1):
        return bool(raw)
    if isinstance(raw, str) and raw.strip().lower() in BOOL_WORDS:
        return BOOL_WORDS[raw.strip().lower()]
    raise ParameterError(
        f"parameter {name}: cannot read {raw!r} as a boolean; use true/false, yes/no, "
        "on/off or 1/0"
    )


def _to_int(name: str, raw: Any) -> int:
    if isinstance(raw, bool):
        raise ParameterError(f"parameter {name} must be an integer, got {raw!r}")
    if isinstance(raw, numbers.Integral):
        return int(raw)
    if isinstance(raw, numbers.Real):
        value = float(raw)
        if math.isfinite(value) and value.is_integer():
            return int(value)
        raise ParameterError(f"parameter {name} must be an integer, got {raw!r}")
    if isinstance(raw, str) and _INT_LITERAL.match(raw.strip()):
        return int(raw.strip())
    raise ParameterError(f"parameter {name}: cannot read {raw!r} as an integer")


def check_seconds(name: str, value: Any, *, param: str | None = "timeout") -> float:
    """A time limit as a float: a finite number of seconds above 0. Anything else -- ``nan``,
    ``inf``, ``0``, a negative number, a string, a boolean -- is refused with one plain
    sentence naming ``name`` (an option, ``--timeout``, or a config key, ``run.timeout``)."""
    try:
        seconds = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise ConfigError(f"{name} must be a positive number of seconds, got {value!r}",
                          param=param)
    return seconds


def _to_float(name: str, raw: Any, finite: bool) -> float:
    if isinstance(raw, bool):
        raise ParameterError(f"parameter {name} must be a number, got {raw!r}")
    if isinstance(raw, numbers.Real):
        value = float(raw)
    elif isinstance(raw, str):
        try:
            value = float(raw.strip())
        except ValueError:
            raise ParameterError(f"parameter {name}: cannot read {raw!r} as a number") from None
    else:
        raise ParameterError(f"parameter {name}: cannot read {raw!r} as a number")
    if finite and not math.isfinite(value):
        raise ParameterError(f"parameter {name} must be a finite number, got {raw!r}")
    return value


def parse_pairs(
    parameters: Mapping[str, Parameter], pairs: Iterable[str], owner: str
) -> dict[str, Any]:
    """Parse ``name=value`` strings against ``parameters`` (``-`` in a name reads as ``_``).

    ``owner`` names the plug-in in messages (``"backend attack"``, ``"generator grid"``).
    """
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise ParameterError(f"{owner}: option {pair!r}: expected key=value")
        if key not in parameters:
            known = ", ".join(sorted(parameters)) or "none"
            raise ParameterError(f"{owner}: unknown option {key!r}; known: {known}")
        try:
            out[key] = parameters[key].parse(key, raw)
        except ParameterError as e:
            raise ParameterError(f"{owner}: {e}") from None
    return out


def param(
    default: Any,
    help: str,
    *,
    type: Any = None,
    choices: tuple[Any, ...] | None = None,
    min: float | None = None,
    max: float | None = None,
    optional: bool = False,
) -> Any:
    """A dataclass field that is also a declared :class:`Parameter` (one default, one place).

    ``type`` defaults to the type of ``default``. Read the declarations back with
    :func:`declared`.
    """
    kind = type if type is not None else _type_of(default)
    p = Parameter(kind, default, help, choices=choices, min=min, max=max, optional=optional)
    return dataclasses.field(default=default, metadata={FIELD_KEY: p})


def declared(cls: Any) -> dict[str, Parameter]:
    """The parameters of a dataclass: its :func:`param` fields, and for plain fields one
    inferred from the default (so a plug-in that never heard of :func:`param` still gets
    typed ``--opt`` parsing)."""
    out: dict[str, Parameter] = {}
    for f in dataclasses.fields(cls):
        p = f.metadata.get(FIELD_KEY)
        if p is None:
            default = f.default if f.default is not dataclasses.MISSING else None
            p = Parameter(_type_of(default), default, "", optional=default is None)
        out[f.name] = p
    return out


def json_value(raw: Any) -> Any:
    """Converter of untyped parameters: a string holding JSON is decoded, others kept."""
    import json

    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


json_value.__name__ = "json"


def _type_of(default: Any) -> Any:
    for kind in (bool, int, float, str):
        if isinstance(default, kind):
            return kind
    return json_value


def _jsonable(v: Any) -> Any:
    if isinstance(v, (tuple, list)):
        return [_jsonable(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return v


def _show(v: Any) -> str:
    if isinstance(v, (tuple, list)):
        return ",".join(map(str, v)) if v else "none"
    if v is None:
        return "none"
    if isinstance(v, str):
        return v or "''"
    return str(v)


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())
