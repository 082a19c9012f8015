"""Configuration of a training-factor study, read from TOML.

A study config has five tables (every key optional except ``data.source``)::

    name = "study-digits"
    [data]      source, train, val, test (per-class counts or fractions), split_seed,
                verify_from ("auto" | "test-file" | "test-split"), scale, input_shape
    [design]    method ("factorial" | "lhs"), initialisers, regularisers, seeds, samples, seed
    [training]  any field of :class:`~autospec_cli.study.training.TrainingConfig`
    [verify]    images_per_class, eps (a number or "3/255": a fraction of the data range),
                backend (any ``autospec verify --backend`` name or plug-in), options (its
                options), timeout (seconds per instance), group (true: one job per model,
                false: one per instance, unset: per model for backends that batch), methods
                (the first names the bounds of the unstable-ReLU count: IBP or CROWN)
    [run]       executor, jobs, scheduler, timeout, threads

A relative ``data.source`` is resolved against the working directory, then against the
config file's folder and its parent (so ``../shared/data/mnist`` in ``configs/`` works from
the repository root). ``--data`` on the command line replaces it; so does the environment
variable ``AUTOSPEC_STUDY_DATA``, for configs whose source is a path (not ``builtin:``).

Without ``backend`` the study uses :data:`DEFAULT_BACKEND` with :data:`DEFAULT_OPTIONS`:
CROWN bounds (alpha-CROWN on what CROWN leaves), then the attack, then branch and bound on
what is left -- the stages of the study's former CROWN / attack / alpha-CROWN pipeline. The
keys of that pipeline (``batch``, ``attack_*``, ``vnnlib``) are still accepted so old configs
load, but no longer used (:attr:`StudyConfig.ignored` lists them): a backend's own options
say how hard it tries.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import asdict, dataclass, field, fields, replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from autospec_cli.errors import ConfigError, InputError, VerifierError
from autospec_cli.models.lirpa_compat import METHODS
from autospec_cli.params import check_seconds
from autospec_cli.study.initialisers import canonical_initialiser
from autospec_cli.study.regularisers import regularisation
from autospec_cli.study.training import TrainingConfig
from autospec_cli.verify.registry import get_backend_class

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: tomllib is new in 3.11 (pyproject declares tomli for 3.10)
    import tomli as tomllib

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

D = TypeVar("D", bound="DataclassInstance")

DATA_ENV = "AUTOSPEC_STUDY_DATA"
TABLES = ("data", "design", "training", "verify", "run")
DEFAULT_BACKEND = "portfolio"
DEFAULT_OPTIONS: dict[str, Any] = {"backends": "lirpa[method=alpha-crown],attack,bab"}
#: [verify] keys of the study's former own pipeline: accepted, not used.
LEGACY_VERIFY_KEYS = ("batch", "attack_samples", "attack_restarts", "attack_steps",
                      "attack_seed", "vnnlib")


@dataclass(frozen=True)
class DataConfig:
    """Where the images come from and how they are split (see :mod:`.data`)."""

    source: str
    train: float | int = 0.6
    val: float | int = 0.2
    test: float | int = 0.2
    split_seed: int = 0
    verify_from: str = "auto"
    scale: float | None = None
    input_shape: tuple[int, ...] | None = None


@dataclass(frozen=True)
class DesignConfig:
    """The factors: initialiser x regulariser x seed, fully crossed or Latin-hypercube sampled."""

    method: str = "factorial"
    initialisers: tuple[str, ...] = ("he", "glorot", "narrow-normal")
    regularisers: tuple[str, ...] = ("dropout", "jacobian", "l2")
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    samples: int | None = None  # runs of a Latin hypercube design
    seed: int = 0  # the Latin hypercube's own seed


@dataclass(frozen=True)
class VerifyConfig:
    """Robustness verification of the selected images."""

    images_per_class: int = 30
    eps: float = 3 / 255
    backend: str = DEFAULT_BACKEND
    options: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_OPTIONS))
    timeout: float = 2.0  # seconds per instance
    group: bool | None = None  # one job per model (True), per instance (False), or per backend
    methods: tuple[str, ...] = ("CROWN",)  # the first: bounds of the unstable-ReLU count


@dataclass(frozen=True)
class RunConfig:
    """Where the jobs run (command-line options override these)."""

    executor: str = "local"
    jobs: int | None = None
    scheduler: str | None = None
    timeout: float | None = None
    threads: int = 1  # torch threads per job


@dataclass(frozen=True)
class StudyConfig:
    """A whole study; :meth:`to_dict` is what ``campaign.json`` records."""

    name: str
    data: DataConfig
    design: DesignConfig = field(default_factory=DesignConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    verify: VerifyConfig = field(default_factory=VerifyConfig)
    run: RunConfig = field(default_factory=RunConfig)
    ignored: tuple[str, ...] = ()  # keys read but no longer used (not part of the fingerprint)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "data": asdict(self.data), "design": asdict(self.design),
                "training": self.training.to_dict(), "verify": asdict(self.verify),
                "run": asdict(self.run)}

    def fingerprint(self) -> str:
        """SHA-256 of what determines the results (everything but ``run``)."""
        d = self.to_dict()
        d.pop("run")
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()

    def with_source(self, source: str) -> StudyConfig:
        return replace(self, data=replace(self.data, source=source))


def parse_eps(value: Any) -> float:
    """A radius given as a number or a fraction string such as ``"3/255"``."""
    try:
        eps = float(Fraction(value)) if isinstance(value, str) else float(value)
    except (ValueError, ZeroDivisionError, TypeError):
        raise ConfigError(f"verify.eps = {value!r}: give a number or a fraction like "
                          "'3/255'") from None
    if not 0 <= eps < 1:
        raise ConfigError(f"verify.eps = {value!r}: must be in [0, 1) (a fraction of the "
                          "data range)")
    return eps


def _build(cls: type[D], table: dict[str, Any], where: str) -> D:
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"[{where}]: unknown key(s) {', '.join(unknown)}; known: "
                          f"{', '.join(sorted(known))}")
    kw = {k: tuple(v) if isinstance(v, list) else v for k, v in table.items()}
    try:
        return cls(**kw)
    except TypeError as e:
        raise ConfigError(f"[{where}]: {e}") from None


def _check_design(d: DesignConfig) -> DesignConfig:
    inits = tuple(canonical_initialiser(i) for i in d.initialisers)
    regs = tuple(regularisation(r).name for r in d.regularisers)
    if not inits or not regs or not d.seeds:
        raise ConfigError("[design]: initialisers, regularisers and seeds must not be empty")
    if d.method not in ("factorial", "lhs"):
        raise ConfigError(f"design.method = {d.method!r}: use factorial or lhs")
    if d.method == "lhs" and not d.samples:
        raise ConfigError("design.method = 'lhs' needs design.samples (the number of models)")
    return replace(d, initialisers=inits, regularisers=regs,
                   seeds=tuple(int(s) for s in d.seeds))


def _check_backend(backend: str, options: dict[str, Any]) -> dict[str, Any]:
    """Options parsed against the backend's declared parameters (unknown names refused)."""
    try:
        cls = get_backend_class(str(backend))
        known = cls.parameters
        if ":" in str(backend):  # external:NAME: the tools file is read when the study runs
            return dict(options)
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise VerifierError(f"unknown option(s) {', '.join(unknown)}; known: "
                                f"{', '.join(sorted(known)) or 'none'}")
        return {k: known[k].parse(k, v) for k, v in options.items()}
    except VerifierError as e:
        raise ConfigError(f"[verify] backend {backend!r}: {e}") from None


def _check_run(r: RunConfig) -> RunConfig:
    if r.timeout is None:
        return r
    return replace(r, timeout=check_seconds("run.timeout", r.timeout, param=None))


def _check_verify(v: VerifyConfig) -> VerifyConfig:
    if v.images_per_class < 1:
        raise ConfigError("verify.images_per_class must be >= 1")
    if not isinstance(v.options, dict):
        raise ConfigError("verify.options must be a table, e.g. options = { method = 'crown' }")
    timeout = check_seconds("verify.timeout", v.timeout, param=None)
    if v.group not in (None, True, False):
        raise ConfigError("verify.group must be true or false (or left out)")
    options = _check_backend(v.backend, v.options)

    methods = []
    for m in v.methods:
        key = str(m).strip().lower().replace("_", "-")
        if key not in METHODS:
            raise ConfigError(f"verify.methods: unknown bound method {m!r}; use IBP, CROWN or "
                              "alpha-CROWN")
        methods.append(METHODS[key])
    if not methods:
        raise ConfigError("verify.methods must name at least one bound method")
    return replace(v, eps=parse_eps(v.eps), methods=tuple(methods), options=options,
                   timeout=timeout)


def config_from_dict(raw: dict[str, Any], *, name: str = "study") -> StudyConfig:
    """Build and validate a :class:`StudyConfig` from a parsed TOML document."""
    unknown = sorted(set(raw) - set(TABLES) - {"name"})
    if unknown:
        raise ConfigError(f"unknown top-level key(s) {', '.join(unknown)}; known: name, "
                          f"{', '.join(TABLES)}")
    data_t = dict(raw.get("data") or {})
    if "source" not in data_t:
        raise ConfigError("[data] needs source = 'builtin:digits' or a path to MNIST-format files")
    data = _build(DataConfig, data_t, "data")
    verify_t = dict(raw.get("verify") or {})
    ignored = tuple(k for k in LEGACY_VERIFY_KEYS if verify_t.pop(k, None) is not None)
    if "backend" in verify_t and "options" not in verify_t:
        verify_t["options"] = {}  # DEFAULT_OPTIONS belong to DEFAULT_BACKEND
    training_t = dict(raw.get("training") or {})
    try:
        training = TrainingConfig.from_dict(training_t)
    except TypeError as e:
        raise ConfigError(f"[training]: {e}") from None
    return StudyConfig(
        name=str(raw.get("name") or name), data=data,
        design=_check_design(_build(DesignConfig, dict(raw.get("design") or {}), "design")),
        training=training,
        verify=_check_verify(_build(VerifyConfig, verify_t, "verify")),
        run=_check_run(_build(RunConfig, dict(raw.get("run") or {}), "run")),
        ignored=tuple(f"verify.{k}" for k in ignored))


def resolve_source(source: str, config_path: Path | None) -> str:
    """An absolute path for a relative file source (see the module docstring)."""
    if ":" in source.split("/")[0] or os.path.isabs(source):
        return source
    bases = [Path.cwd()]
    if config_path is not None:
        bases += [config_path.parent, config_path.parent.parent]
    for base in bases:
        p = (base / source).resolve()
        if p.exists():
            return str(p)
    raise InputError(f"data.source {source!r} not found (looked in {', '.join(map(str, bases))}); "
                     f"give the data source or set {DATA_ENV}", param="data")


def load_config(path: str | os.PathLike[str], *, data: str | None = None) -> StudyConfig:
    """Read a study config; ``data`` (or ``$AUTOSPEC_STUDY_DATA``) replaces ``data.source``."""
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as e:
        raise InputError(f"{p}: cannot read the study config ({e.strerror or e})") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p}: not valid TOML ({e})") from None
    cfg = config_from_dict(raw, name=p.stem)
    env = None if cfg.data.source.startswith("builtin:") else os.environ.get(DATA_ENV)
    override = data or env
    source = override or cfg.data.source
    return cfg.with_source(resolve_source(source, None if override else p))


__all__ = ["DATA_ENV", "DEFAULT_BACKEND", "DEFAULT_OPTIONS", "LEGACY_VERIFY_KEYS", "DataConfig",
           "DesignConfig", "RunConfig", "StudyConfig", "VerifyConfig",
           "config_from_dict", "load_config", "parse_eps", "resolve_source"]
