"""Jobs: a kind plus JSON parameters, identified by a stable content hash.

A job is ``(kind, params)``, optionally with the hashes of the input files it reads. Its id is
the SHA-256 of the canonical JSON of those (sorted keys, no whitespace), so the same job gets
the same id in every process and on every machine; a campaign re-run recognises finished work
by id. Canonical JSON means ``1`` and ``1.0`` are different parameters, tuples become lists and
NaN/inf are refused.

A kind names a function ``fn(params: dict) -> dict``. Workers (other processes, Dask workers
on other machines) import it from a ``"module:function"`` path, so job functions must be
top-level functions of importable modules. Kinds are plug-ins of the entry-point group
``autospec_cli.jobs`` (``name = "module:function"``; this package declares its own there, the
verification kinds included, so this module names none) held in :data:`JOB_KINDS`, a
:class:`autospec_cli.plugins.Registry` with the precedence rule of every plug-in kind:
in-process registrations (:func:`register_job_kind`, :func:`job_kind`) win over entry points.
A kind found in neither resolves to the path an earlier run recorded (when resuming), or is
itself a ``"module:function"`` path.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from autospec_cli.errors import ConfigError
from autospec_cli.io import sha256_file
from autospec_cli.plugins import Registry

JobFn = Callable[[dict[str, Any]], dict[str, Any]]

ENTRY_POINT_GROUP = "autospec_cli.jobs"

#: The job kinds (entry points of ``autospec_cli.jobs`` and in-process registrations).
JOB_KINDS: Registry[JobFn] = Registry(
    "job kind", ENTRY_POINT_GROUP,
    hint=f"register it with register_job_kind() or an '{ENTRY_POINT_GROUP}' entry point, or "
    "use a 'module:function' kind",
)


def canonical_json(obj: Any) -> str:
    """The canonical JSON text of ``obj``: sorted keys, no spaces, no NaN/inf."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


@dataclass(frozen=True, eq=False)
class JobSpec:
    """One unit of work: ``kind`` + JSON ``params`` (+ input-file hashes), hashed into ``id``.

    ``timeout`` (seconds) overrides the executor's hard timeout for this job; it is an
    execution policy, not part of the id (put a time budget that changes the result into
    ``params`` as well).
    """

    kind: str
    params: dict[str, Any]
    inputs: Mapping[str, str] | None = None
    timeout: float | None = None
    id: str = field(init=False)
    params_json: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.kind, str) or not self.kind.strip():
            raise ConfigError(f"job kind must be a non-empty string, got {self.kind!r}")
        if not isinstance(self.params, Mapping):
            raise ConfigError(f"job params must be a dict, got {type(self.params).__name__}")
        try:
            params_json = canonical_json(dict(self.params))
            inputs = None if self.inputs is None else dict(sorted(self.inputs.items()))
            key = canonical_json({"kind": self.kind, "params": json.loads(params_json),
                                  "inputs": inputs})
        except (TypeError, ValueError) as e:
            raise ConfigError(f"job {self.kind!r}: params are not plain JSON ({e}); use "
                              "numbers, strings, booleans, lists and dicts") from None
        object.__setattr__(self, "params", json.loads(params_json))
        object.__setattr__(self, "inputs", inputs)
        object.__setattr__(self, "params_json", params_json)
        object.__setattr__(self, "id", hashlib.sha256(key.encode("utf-8")).hexdigest())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JobSpec) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)


def file_inputs(paths: Mapping[str, str | os.PathLike[str]]) -> dict[str, str]:
    """``{name: sha256 of the file}`` for :attr:`JobSpec.inputs`, so edited inputs re-run."""
    return {name: sha256_file(p) for name, p in paths.items()}


def register_job_kind(kind: str, target: str | JobFn) -> None:
    """Map ``kind`` to a job function, given as ``"module:function"`` or a top-level function."""
    JOB_KINDS.register(kind, target if isinstance(target, str) else target_of(target))


def job_kind(kind: str) -> Callable[[JobFn], JobFn]:
    """Decorator form of :func:`register_job_kind` for a top-level function."""

    def deco(fn: JobFn) -> JobFn:
        register_job_kind(kind, fn)
        return fn

    return deco


def target_of(fn: JobFn) -> str:
    """The ``"module:function"`` path of a top-level function; refuses closures and lambdas."""
    module, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", "")
    if not module or "<" in qualname or "." in qualname:
        raise ConfigError(f"job function {qualname or fn!r} must be a top-level function of an "
                          "importable module (workers import it by name)")
    if module == "__main__":
        raise ConfigError(f"job function {qualname} is defined in __main__, which worker "
                          "processes cannot import; move it into a module")
    return f"{module}:{qualname}"


def resolve_kind(kind: str, fallback: Mapping[str, str] | None = None) -> str:
    """The ``"module:function"`` path for ``kind`` (see the module docstring for the order).

    ``fallback`` maps kinds to paths recorded by an earlier run (used when resuming).
    """
    plugin = JOB_KINDS.find(kind)
    if plugin is not None:
        return plugin.target
    if fallback and kind in fallback:
        target = fallback[kind]
    elif ":" in kind:
        target = kind
    else:
        raise JOB_KINDS.unknown(kind)
    JOB_KINDS.check_target(kind, target)
    return target


_loaded: dict[str, JobFn] = {}


def load_target(target: str) -> JobFn:
    """Import and return the function at ``"module:function"`` (cached per process)."""
    fn = _loaded.get(target)
    if fn is None:
        module, _, name = target.partition(":")
        obj: Any = importlib.import_module(module)
        for part in name.split("."):
            obj = getattr(obj, part)
        if not callable(obj):
            raise TypeError(f"{target} is not callable")
        fn = _loaded[target] = obj
    return fn
