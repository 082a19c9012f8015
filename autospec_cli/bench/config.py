"""GDVB benchmark configuration: a TOML file naming a seed problem, its factors and levels.

Schema (every key is checked; unknown keys are errors)::

    [seed]
    network = "builtin:digits-conv"  # or a path to an .onnx file, relative to the config file
    data = "builtin:digits"          # a load_dataset source (paths relative to the config file)
    center = 0                       # index of the property centre in the seeded-shuffled data
    radius = 0.02                    # L-inf radius, a fraction of the input domain range
    [factors]                        # levels are fractions of the seed network / property
    neu = [0.25, 0.5, 0.75, 1.0]     # neurons per layer
    fc = [0, 0.5, 1.0]               # fully connected layers (0 allowed)
    conv = [0, 0.5, 1.0]             # convolutional layers (0 allowed)
    idm = [0.25, 0.5, 1.0]           # input dimension
    ids = [0.5, 1.0]                 # input domain size (property radius)
    scl = [0.5, 1.0]                 # scale of the property (fraction of the seed radius)
    trn = [0, 1, 2]                  # property instance: indices, not fractions
    [array]
    strength = 2                     # t of the t-way covering array
    seed = 0
    constraints = ["fc == 0 and conv == 0"]
    [training]
    seeds = 2
    epochs = 10
    lr = 1e-3
    batch = 64
    input_norm = "feature"           # students' input standardisation: feature, global, none
    [verify]
    timeout = 30
    verifiers = ["lirpa", "bab", "attack"]

Omitted factors are fixed at one level (1.0, or 0 for ``trn``); they still appear as columns.

Constraints are EXCLUSIONS: a row (a combination of levels) for which any constraint is true is
never generated, and tuples that only occur in excluded rows need not be covered. They are
written over the level VALUES given in ``[factors]``, not over level indices: with
``fc = [0, 0.5, 1.0]``, ``fc == 0`` means "no fully connected layer" and ``fc >= 0.5`` means the
two other levels. Allowed syntax: factor names, numbers, ``== != < <= > >=``, ``in (...)``,
``and`` / ``or`` / ``not`` and parentheses (see :mod:`autospec_cli.bench.constraints`). Values
compare as floats exactly as written in the TOML file, so write them the same way as the level.
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autospec_cli.bench.constraints import compile_constraints
from autospec_cli.bench.covering import CoveringArray, covering_array
from autospec_cli.errors import ConfigError
from autospec_cli.progress import ProgressFn
from autospec_cli.verify.registry import backend_names

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

#: Factor names in column order, with the level used when a factor is omitted.
FACTORS: dict[str, float] = {
    "neu": 1.0, "fc": 1.0, "conv": 1.0, "idm": 1.0, "ids": 1.0, "scl": 1.0, "trn": 0,
}
ZERO_ALLOWED = frozenset({"fc", "conv"})
INDEX_FACTORS = frozenset({"trn"})
SECTIONS = ("seed", "factors", "array", "training", "verify")
_BUILTIN = re.compile(r"^builtin:[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class SeedConfig:
    """The seed problem: network source, data source, property centre and radius.

    ``network`` is ``builtin:NAME`` or an absolute path to an existing .onnx file; ``data`` is a
    load_dataset source (``builtin:NAME`` or an absolute path)."""

    network: str
    data: str
    center: int = 0
    radius: float = 0.02


@dataclass(frozen=True)
class TrainingConfig:
    """How transformed networks are trained (distilled): seeds per row, epochs, lr, batch, and
    the students' input standardisation (``input_norm``: ``feature`` per input or channel,
    ``global`` one mean and std over all input values, ``none``; see
    :func:`autospec_cli.models.train.train_model`)."""

    seeds: int = 1
    epochs: int = 10
    lr: float = 1e-3
    batch: int = 64
    input_norm: str = "feature"


@dataclass(frozen=True)
class VerifyConfig:
    """Per-instance timeout in seconds and the verifier backends to run."""

    timeout: float = 30.0
    verifiers: tuple[str, ...] = ("lirpa", "bab", "attack")


@dataclass(frozen=True)
class GdvbConfig:
    """A validated GDVB configuration (see the module docstring for the file schema).

    ``factors`` maps every factor in :data:`FACTORS` (column order) to its level values;
    ``constraints`` are exclusion expressions over those values; ``source_dir`` is the folder
    of the config file (relative paths were resolved against it); ``path`` the file itself.
    """

    seed: SeedConfig
    factors: dict[str, tuple[float, ...]]
    strength: int
    array_seed: int
    constraints: tuple[str, ...]
    training: TrainingConfig
    verify: VerifyConfig
    source_dir: Path
    path: Path | None = None

    @property
    def levels(self) -> dict[str, int]:
        """Number of levels of each factor, in column order."""
        return {name: len(vals) for name, vals in self.factors.items()}

    def covering_array(
        self,
        strength: int | None = None,
        seed: int | None = None,
        *,
        time_budget: float | None = 2.0,
        progress: ProgressFn | None = None,
    ) -> CoveringArray:
        """The t-way covering array of the factors under the constraints. Its ``values`` give
        each factor's level values, so ``ca.value_records()`` lists the benchmark rows as
        ``{factor: level value}``; ``ca.rows`` holds level indices."""
        return covering_array(
            self.levels,
            self.strength if strength is None else strength,
            self.constraints,
            seed=self.array_seed if seed is None else seed,
            time_budget=time_budget,
            values=self.factors,
            progress=progress,
        )


def load_gdvb_config(path: str | os.PathLike[str]) -> GdvbConfig:
    """Read and validate a GDVB TOML config; raise ConfigError (one line naming the key)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"GDVB config {p} not found; give the path of a .toml file")
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"GDVB config {p}: not valid TOML ({e})") from None
    return parse_gdvb_config(doc, p.resolve().parent, path=p.resolve())


def parse_gdvb_config(
    doc: Mapping[str, Any], source_dir: str | os.PathLike[str], *, path: Path | None = None
) -> GdvbConfig:
    """Validate an already-parsed TOML document; relative paths resolve against ``source_dir``."""
    base = Path(source_dir).resolve()
    _keys(doc, SECTIONS, "config top level", required=("seed",))
    seed = _seed(_table(doc, "seed"), base)
    factors = _factors(_table(doc, "factors"))
    arr = _table(doc, "array")
    _keys(arr, ("strength", "seed", "constraints"), "array")
    strength = _int(arr, "array", "strength", 2, lo=1, hi=len(factors))
    array_seed = _int(arr, "array", "seed", 0, lo=0)
    constraints = _constraints(arr, factors)
    return GdvbConfig(
        seed, factors, strength, array_seed, constraints,
        _training(_table(doc, "training")), _verify(_table(doc, "verify")), base, path,
    )


# ---- sections ---------------------------------------------------------------------------------


def _seed(tab: Mapping[str, Any], base: Path) -> SeedConfig:
    _keys(tab, ("network", "data", "center", "radius"), "seed", required=("network", "data"))
    network = _source(tab["network"], "seed.network", base, suffix=".onnx")
    data = _source(tab["data"], "seed.data", base)
    center = _int(tab, "seed", "center", 0, lo=0)
    radius = _float(tab, "seed", "radius", 0.02, lo=0.0, hi=1.0)
    return SeedConfig(network, data, center, radius)


def _source(v: Any, key: str, base: Path, suffix: str | None = None) -> str:
    if not isinstance(v, str) or not v.strip():
        raise ConfigError(f"{key}: expected a string (builtin:NAME or a path), got {v!r}")
    if v.startswith("builtin:"):
        if not _BUILTIN.match(v):
            raise ConfigError(f"{key}: {v!r} is not a valid builtin:NAME")
        return v
    p = Path(v) if Path(v).is_absolute() else base / v
    if not p.exists():
        raise ConfigError(f"{key}: {p} not found (relative paths are relative to the config)")
    if suffix is not None and p.suffix.lower() != suffix:
        raise ConfigError(f"{key}: expected a {suffix} file or builtin:NAME, got {v!r}")
    return str(p)


def _factors(tab: Mapping[str, Any]) -> dict[str, tuple[float, ...]]:
    _keys(tab, tuple(FACTORS), "factors")
    out: dict[str, tuple[float, ...]] = {}
    for name, default in FACTORS.items():
        if name not in tab:
            out[name] = (default,)
            continue
        out[name] = _levels(name, tab[name])
    return out


def _levels(name: str, v: Any) -> tuple[float, ...]:
    key = f"factors.{name}"
    if not isinstance(v, list) or not v:
        raise ConfigError(f"{key}: expected a non-empty list of levels, got {v!r}")
    for x in v:
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
            raise ConfigError(f"{key}: level {x!r} is not a finite number")
        if name in INDEX_FACTORS:
            if not isinstance(x, int) or x < 0:
                raise ConfigError(f"{key}: level {x!r} must be an instance index (integer >= 0)")
        elif x < 0 or (x == 0 and name not in ZERO_ALLOWED):
            low = ">= 0" if name in ZERO_ALLOWED else "> 0"
            raise ConfigError(f"{key}: level {x!r} must be {low} (a fraction of the seed)")
    if len(set(v)) != len(v):
        raise ConfigError(f"{key}: levels {v!r} repeat a value; list each level once")
    return tuple(v)


def _constraints(arr: Mapping[str, Any], factors: dict[str, tuple[float, ...]]) -> tuple[str, ...]:
    cons = arr.get("constraints", [])
    if not isinstance(cons, list) or not all(isinstance(c, str) for c in cons):
        raise ConfigError("array.constraints: expected a list of expression strings")
    try:
        compile_constraints(list(factors), [len(x) for x in factors.values()], cons, factors)
    except ConfigError as e:
        raise ConfigError(f"array.constraints: {e}") from None
    return tuple(cons)


def _training(tab: Mapping[str, Any]) -> TrainingConfig:
    from autospec_cli.models.train import INPUT_NORMS

    _keys(tab, ("seeds", "epochs", "lr", "batch", "input_norm"), "training")
    d = TrainingConfig()
    norm = tab.get("input_norm", d.input_norm)
    if norm not in INPUT_NORMS:
        raise ConfigError(f"training.input_norm: expected one of {', '.join(INPUT_NORMS)}, "
                          f"got {norm!r}")
    return TrainingConfig(
        _int(tab, "training", "seeds", d.seeds, lo=1),
        _int(tab, "training", "epochs", d.epochs, lo=1),
        _float(tab, "training", "lr", d.lr, lo=0.0),
        _int(tab, "training", "batch", d.batch, lo=1),
        norm,
    )


def _verify(tab: Mapping[str, Any]) -> VerifyConfig:
    _keys(tab, ("timeout", "verifiers"), "verify")
    d = VerifyConfig()
    timeout = _float(tab, "verify", "timeout", d.timeout, lo=0.0)
    names = tab.get("verifiers", list(d.verifiers))
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ConfigError("verify.verifiers: expected a non-empty list of backend names")
    if len(set(names)) != len(names):
        raise ConfigError(f"verify.verifiers: {names!r} names a backend twice")

    known = backend_names()
    for label in names:
        n = label.split("[", 1)[0].strip()  # bab[split=input]: a configuration of bab
        if n not in known and not (n.startswith("external:") and len(n) > len("external:")):
            raise ConfigError(
                f"verify.verifiers: unknown backend {n!r}; known: {', '.join(known)}, external:NAME"
            )
        if "[" in label:
            from autospec_cli.bench.run import configured

            configured(label)  # options checked against the backend's parameters now
    return VerifyConfig(timeout, tuple(names))


# ---- value checks -----------------------------------------------------------------------------


def _table(doc: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    tab = doc.get(name, {})
    if not isinstance(tab, dict):
        raise ConfigError(f"{name}: expected a table, got {type(tab).__name__}")
    return tab


def _keys(
    tab: Mapping[str, Any], known: Sequence[str], where: str, required: Sequence[str] = ()
) -> None:
    unknown = [k for k in tab if k not in known]
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; known keys: {', '.join(known)}")
    missing = [k for k in required if k not in tab]
    if missing:
        raise ConfigError(f"{where}: missing required key {missing[0]!r}")


def _int(
    tab: Mapping[str, Any], sec: str, key: str, default: int, lo: int, hi: int | None = None
) -> int:
    v = tab.get(key, default)
    bad = isinstance(v, bool) or not isinstance(v, int) or v < lo or (hi is not None and v > hi)
    if bad:
        rng = f">= {lo}" if hi is None else f"from {lo} to {hi}"
        raise ConfigError(f"{sec}.{key}: expected an integer {rng}, got {v!r}")
    return v


def _float(
    tab: Mapping[str, Any], sec: str, key: str, default: float, lo: float, hi: float | None = None
) -> float:
    """A finite number > lo (and <= hi)."""
    v = tab.get(key, default)
    ok = not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v)
    if not ok or v <= lo or (hi is not None and v > hi):
        rng = f"> {lo}" if hi is None else f"in ({lo}, {hi}]"
        raise ConfigError(f"{sec}.{key}: expected a number {rng}, got {v!r}")
    return float(v)
