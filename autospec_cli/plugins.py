"""One plug-in mechanism for every extension point: a :class:`Registry` per kind.

The kinds are verifier backends (``autospec_cli.verifiers``), spec generators
(``autospec_cli.generators``), campaign job kinds (``autospec_cli.jobs``), report builders
(``autospec_cli.reports``) and data loaders (``autospec_cli.loaders``); each package owns its
registry (e.g. :data:`autospec_cli.verify.registry.VERIFIERS`) and ``autospec plugins`` lists
them all.

Where plug-ins come from, and which one wins
--------------------------------------------
1. **Entry points.** A plug-in is a ``name = "module:attr"`` line in the registry's
   entry-point group. This package's own plug-ins (``portfolio``, ``grid``,
   ``verify.instance``, the ``csv`` loader, ...) are declared in its ``pyproject.toml``
   exactly like a third-party package declares its own::

       [project.entry-points."autospec_cli.verifiers"]
       mytool = "mypkg.verifier:MyVerifier"

   A name declared by two distributions with different targets is an error when it is used
   (:class:`~autospec_cli.errors.PluginError` naming both origins); nothing is overridden
   silently. When this package runs from a source tree (its ``pyproject.toml`` beside the
   package, as in an editable install or a checkout that was never installed), its own
   entry points are read from that file rather than from installed metadata, which may be
   stale or missing.
2. **In-process registration.** :meth:`Registry.register` (for tests and library users) wins
   over entry points of the same name: it is explicit code in the running program. A later
   registration of a name replaces an earlier one.

Loading is lazy: scanning the entry points reads metadata only; a plug-in's module is
imported when that plug-in is asked for (:meth:`Registry.load`), so ``autospec --help``
imports no backend, and listing names imports nothing. Every failure is a one-line
:class:`~autospec_cli.errors.PluginError`.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Generic, TypeVar

from autospec_cli.errors import PluginError

__all__ = ["IN_PROCESS", "Plugin", "PluginError", "Registry", "refresh"]

T = TypeVar("T")

#: The origin of plug-ins registered with :meth:`Registry.register`.
IN_PROCESS = "in-process"
#: This package's distribution name (its own plug-ins are read from its pyproject.toml).
DISTRIBUTION = "autospec-cli"
_TARGET = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


@dataclass(frozen=True)
class Plugin:
    """A registered plug-in: its kind, name, ``module:attr`` target and where it came from."""

    kind: str
    name: str
    target: str
    origin: str


# -- scanning ------------------------------------------------------------------------------
_scans: dict[str, list[Plugin]] = {}


def refresh() -> None:
    """Forget scanned entry points (after installing a plug-in, or in tests)."""
    _scans.clear()
    _source_tree.cache = None


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


class _SourceTree:
    """This package's ``pyproject.toml`` when it runs from a source tree, else ``None``."""

    cache: tuple[str, dict[str, dict[str, str]]] | None = None

    def __call__(self) -> tuple[str, dict[str, dict[str, str]]] | None:
        if self.cache is None:
            self.cache = self._read() or ("", {})
        return self.cache if self.cache[0] else None

    @staticmethod
    def _read() -> tuple[str, dict[str, dict[str, str]]] | None:
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # Python 3.10
            try:
                import tomli as tomllib
            except ModuleNotFoundError:
                return None
        path = Path(__file__).resolve().parent.parent / "pyproject.toml"
        try:
            project = tomllib.loads(path.read_text(encoding="utf-8")).get("project", {})
        except (OSError, ValueError):
            return None
        if _normal(str(project.get("name", ""))) != DISTRIBUTION:
            return None
        origin = f"{DISTRIBUTION} {project.get('version', '')} (source tree)".replace("  ", " ")
        groups = project.get("entry-points", {})
        return origin, {g: dict(v) for g, v in groups.items() if isinstance(v, dict)}


_source_tree = _SourceTree()


def _scan(kind: str, group: str) -> list[Plugin]:
    """Every entry point of ``group``: this package's own, then other distributions'."""
    if group in _scans:
        return _scans[group]
    found: list[Plugin] = []
    own = _source_tree()
    if own is not None:
        origin, groups = own
        found += [Plugin(kind, n, str(v), origin) for n, v in groups.get(group, {}).items()]
    for ep in entry_points(group=group):
        dist = getattr(ep, "dist", None)
        dist_name = getattr(dist, "name", None) or getattr(dist, "metadata", {}).get("Name", "")
        if own is not None and dist_name and _normal(dist_name) == DISTRIBUTION:
            continue  # the source tree's pyproject.toml is the truth for this package
        version = getattr(dist, "version", "") if dist is not None else ""
        origin = f"{dist_name} {version}".strip() if dist_name else "unknown distribution"
        found.append(Plugin(kind, ep.name, ep.value, origin))
    _scans[group] = found
    return found


# -- the registry --------------------------------------------------------------------------
class Registry(Generic[T]):
    """The plug-ins of one kind: found by name, imported on first use, checked once loaded.

    ``kind`` is the word used in messages (``"verifier backend"``); ``group`` the entry-point
    group; ``base`` a class every plug-in must subclass (else plug-ins must be callable);
    ``hint`` is appended to the message for an unknown name.
    """

    def __init__(self, kind: str, group: str, *, base: type | None = None, hint: str = ""):
        self.kind, self.group, self.base, self.hint = kind, group, base, hint
        self._local: dict[str, Plugin] = {}
        self._objects: dict[str, Any] = {}
        self._loaded: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.group!r})"

    # -- registration --------------------------------------------------------------------
    def register(self, name: str, target: str | T) -> Plugin:
        """Register ``target`` (a ``"module:attr"`` path or the object itself) as ``name``,
        in this process; it wins over an entry point of the same name."""
        if not isinstance(name, str) or not name.strip():
            raise PluginError(f"{self.kind} name must be a non-empty string, got {name!r}")
        if isinstance(target, str):
            self.check_target(name, target)
            self._objects.pop(name, None)
            path = target
        else:
            self._check_object(name, target, repr(target))
            module = getattr(target, "__module__", None)
            qualname = getattr(target, "__qualname__", None)
            path = f"{module}:{qualname}" if module and qualname else repr(target)
            self._objects[name] = target
        plugin = self._local[name] = Plugin(self.kind, name, path, IN_PROCESS)
        return plugin

    def unregister(self, name: str) -> None:
        """Drop an in-process registration (entry points of that name apply again)."""
        self._local.pop(name, None)
        self._objects.pop(name, None)

    def check_target(self, name: str, target: str) -> None:
        """Refuse a target that is not a ``"module:attr"`` path."""
        if not _TARGET.match(target):
            raise PluginError(
                f"{self.kind} {name!r}: target {target!r} is not a 'module:function' path"
            )

    # -- lookup --------------------------------------------------------------------------
    def entries(self) -> dict[str, list[Plugin]]:
        """Name -> its declarations (several when distributions disagree), in-process first."""
        out: dict[str, list[Plugin]] = {}
        for p in _scan(self.kind, self.group):
            same = out.setdefault(p.name, [])
            if not any(q.target == p.target for q in same):
                same.append(p)
        for name, p in self._local.items():
            out[name] = [p]
        return out

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        return sorted(self.entries())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.entries()

    def find(self, name: str) -> Plugin | None:
        """The plug-in registered as ``name``, ``None`` if there is none; a name declared by
        two distributions with different targets is a :class:`PluginError`."""
        found = self.entries().get(name)
        if not found:
            return None
        if len(found) > 1:
            both = " and by ".join(f"{p.origin} ({p.target})" for p in found)
            raise PluginError(
                f"{self.kind} {name!r} is declared twice: by {both}; uninstall one of them"
            )
        return found[0]

    def get(self, name: str) -> Plugin:
        """The plug-in registered as ``name``; :class:`PluginError` if unknown."""
        plugin = self.find(name)
        if plugin is None:
            raise self.unknown(name)
        return plugin

    def unknown(self, name: str) -> PluginError:
        """The error for a name nobody registered (it lists the known ones)."""
        known = ", ".join(self.names()) or "none"
        hint = f"; {self.hint}" if self.hint else ""
        return PluginError(f"unknown {self.kind} {name!r}; known: {known}{hint}")

    def load(self, name: str) -> T:
        """Import (once) and return the object registered as ``name``, checked against
        ``base``; :class:`PluginError` if it is unknown, cannot be imported or is the wrong
        kind of object."""
        plugin = self.get(name)
        if plugin.origin == IN_PROCESS and name in self._objects:
            return self._objects[name]
        obj = self._loaded.get(plugin.target)
        if obj is None:
            obj = import_target(plugin.target, f"{self.kind} {name!r}")
            self._check_object(name, obj, plugin.target)
            self._loaded[plugin.target] = obj
        return obj

    def _check_object(self, name: str, obj: Any, where: str) -> None:
        if self.base is not None:
            if not (isinstance(obj, type) and issubclass(obj, self.base)):
                raise PluginError(
                    f"{self.kind} {name!r} ({where}) is not a {self.base.__name__} class"
                )
        elif not callable(obj):
            raise PluginError(f"{self.kind} {name!r} ({where}) is not callable")

    def describe(self, detail: Callable[[T], dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """One JSON-ready row per name: kind, name, target, origin, and ``detail(obj)`` (which
        loads the plug-in) or ``error`` when it cannot be loaded."""
        rows = []
        for name in self.names():
            row: dict[str, Any] = {"kind": self.group.rsplit(".", 1)[-1], "name": name}
            try:
                plugin = self.get(name)
                row.update(target=plugin.target, origin=plugin.origin)
                if detail is not None:
                    row.update(detail(self.load(name)))
            except PluginError as e:
                row.setdefault("target", "")
                row.setdefault("origin", "")
                row["error"] = str(e)
            rows.append(row)
        return rows


def import_target(target: str, what: str) -> Any:
    """The object at ``"module:attr"`` (``attr`` may be dotted); one-line :class:`PluginError`
    naming ``what`` when it cannot be imported."""
    module, _, attr = target.partition(":")
    try:
        obj: Any = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except Exception as e:  # an installed plug-in whose module is broken
        why = " ".join(f"{type(e).__name__}: {e}".split())
        raise PluginError(f"{what} ({target}) cannot be loaded: {why}") from None
    return obj
