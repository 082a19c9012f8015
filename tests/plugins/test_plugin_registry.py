"""The one plug-in registry: where plug-ins come from, which one wins, errors, lazy loading,
and a fake third-party entry point for each of the five kinds."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from autospec_cli import plugins
from autospec_cli.data.dataset import Dataset
from autospec_cli.errors import ConfigError, PluginError, VerifierError
from autospec_cli.params import Parameter, param
from autospec_cli.plugins import Registry
from autospec_cli.specs.generators.base import Boxes, SpecGenerator
from autospec_cli.verify.base import Result, Verdict, Verifier

REPO = Path(__file__).resolve().parents[2]


@dataclass
class _Dist:
    name: str
    version: str


@dataclass
class FakeEP:
    """What importlib.metadata.EntryPoint offers the registry: name, value and dist."""

    name: str
    value: str
    group: str = ""
    dist: _Dist | None = None


@pytest.fixture
def installed() -> Iterator[Callable[..., None]]:
    """Replace the installed entry points (other distributions' metadata) for one test."""
    with pytest.MonkeyPatch.context() as mp:

        def install(*eps: FakeEP) -> None:
            mp.setattr(plugins, "entry_points",
                       lambda group: [e for e in eps if e.group in ("", group)])
            plugins.refresh()

        yield install
    plugins.refresh()


def third_party(name: str, value: str, group: str) -> FakeEP:
    return FakeEP(name, value, group, _Dist("thirdparty-plugins", "2.1"))


# -- fake plug-ins of every kind, importable as ``test_plugin_registry:...`` -----------------
class FakeVerifier(Verifier):
    """Says unknown, after checking its options."""

    name: ClassVar[str] = "fake"
    parameters: ClassVar[dict[str, Parameter]] = {
        "level": Parameter(int, 1, "how hard to try", min=0, max=3)}

    def verify_instance(self, instance: Any) -> Result:
        return Result(Verdict.UNKNOWN)


@dataclass(kw_only=True, eq=False)
class FakeGenerator(SpecGenerator):
    """One box around everything."""

    name = "fakegen"
    pad: float = param(0.0, "widening of the box", min=0.0)

    def _boxes(self, X: np.ndarray, y: np.ndarray, task: str, features: Any) -> Boxes:
        return Boxes.from_assignment(X.min(0)[None] - self.pad, X.max(0)[None] + self.pad,
                                     np.zeros(len(X), int))


def fake_job(params: dict) -> dict:
    return {"doubled": 2 * params["x"]}


def fake_report(campaign_dir: Any, out_dir: Any, progress: Any = None) -> dict:
    return {"kind": "fake", "tables": []}


def fake_loader(source: str, request: Any) -> Dataset:
    n = int(source)
    return Dataset(X=np.arange(2.0 * n).reshape(n, 2), y=np.arange(n) % 2, features=["a", "b"],
                   task="classification", name=f"fake{n}")


HERE = "test_plugin_registry"


# -- precedence ------------------------------------------------------------------------------
def test_builtins_are_entry_points_of_this_package() -> None:
    tomllib = pytest.importorskip("tomllib")
    eps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["entry-points"]
    assert eps["autospec_cli.verifiers"]["portfolio"] == (
        "autospec_cli.verify.portfolio:PortfolioVerifier")
    assert eps["autospec_cli.jobs"]["verify.instance"] == (
        "autospec_cli.verifyrun.jobs:verify_instance")
    assert set(eps["autospec_cli.reports"]) == {"verify", "gdvb", "study"}
    assert set(eps["autospec_cli.loaders"]) == {"builtin", "npz", "idx", "throughput", "flows",
                                                "nsl-kdd", "csv"}
    jobs_src = (REPO / "autospec_cli/campaign/jobs.py").read_text()
    assert "verifyrun" not in jobs_src and "diagnostic_jobs" not in jobs_src


def test_own_plugins_come_from_the_source_tree_even_without_metadata(installed) -> None:
    installed()
    reg: Registry[Any] = Registry("verifier backend", "autospec_cli.verifiers", base=Verifier)
    assert {"attack", "portfolio", "bab"} <= set(reg.names())
    assert reg.get("portfolio").origin.startswith("autospec-cli ")


def test_stale_metadata_of_this_package_is_ignored_in_a_source_tree(installed) -> None:
    installed(FakeEP("attack", "old.module:Gone", "autospec_cli.verifiers",
                     _Dist("autospec_cli", "0.0.1")))
    reg: Registry[Any] = Registry("verifier backend", "autospec_cli.verifiers")
    assert reg.get("attack").target == "autospec_cli.verify.backends.attack:AttackVerifier"


def test_installed_metadata_is_used_outside_a_source_tree(installed, monkeypatch) -> None:
    installed(FakeEP("grid", "autospec_cli.specs.generators.grid:GridGenerator",
                     "autospec_cli.generators", _Dist("autospec-cli", "9.9")))
    monkeypatch.setattr(plugins._source_tree, "cache", ("", {}))  # as from a wheel
    reg: Registry[Any] = Registry("generator", "autospec_cli.generators")
    assert reg.names() == ["grid"] and reg.get("grid").origin == "autospec-cli 9.9"


def test_in_process_registration_wins_and_can_be_undone(installed) -> None:
    installed(third_party("mine", f"{HERE}:fake_job", "g.jobs"))
    reg: Registry[Any] = Registry("job kind", "g.jobs")
    assert reg.get("mine").origin == "thirdparty-plugins 2.1"
    reg.register("mine", "json:dumps")
    assert reg.get("mine").target == "json:dumps" and reg.get("mine").origin == "in-process"
    assert reg.load("mine")(1) == "1"
    reg.register("mine", fake_report)  # an object: kept as is, its path recorded
    assert reg.load("mine") is fake_report and reg.get("mine").target == f"{HERE}:fake_report"
    reg.unregister("mine")
    assert reg.load("mine") is fake_job


def test_a_name_declared_twice_is_an_error_naming_both(installed) -> None:
    installed(third_party("dup", f"{HERE}:fake_job", "g.jobs"),
              FakeEP("dup", "json:dumps", "g.jobs", _Dist("other-dist", "0.3")),
              FakeEP("same", "json:dumps", "g.jobs", _Dist("a", "1")),
              FakeEP("same", "json:dumps", "g.jobs", _Dist("b", "1")))
    reg: Registry[Any] = Registry("job kind", "g.jobs")
    assert reg.names() == ["dup", "same"]
    with pytest.raises(PluginError) as err:
        reg.load("dup")
    msg = str(err.value)
    assert "job kind 'dup' is declared twice" in msg and "\n" not in msg
    assert f"thirdparty-plugins 2.1 ({HERE}:fake_job)" in msg
    assert "other-dist 0.3 (json:dumps)" in msg
    assert reg.load("same")(2) == "2"  # the same target twice is no conflict
    reg.register("dup", "json:loads")  # explicit code settles it
    assert reg.load("dup")("3") == 3


# -- errors ----------------------------------------------------------------------------------
def test_errors_are_one_line_plugin_errors(installed) -> None:
    installed(FakeEP("broken", "no_such_module_xyz:thing", "g.x"),
              FakeEP("notcls", "json:dumps", "g.x"), FakeEP("notfn", "json:__name__", "g.x"))
    typed: Registry[Any] = Registry("verifier backend", "g.x", base=Verifier)
    untyped: Registry[Any] = Registry("report builder", "g.x", hint="see the docs")
    with pytest.raises(PluginError, match=r"^unknown verifier backend 'nope'; known: broken, "
                       r"notcls, notfn$"):
        typed.load("nope")
    with pytest.raises(PluginError, match="known: .*; see the docs$"):
        untyped.load("nope")
    with pytest.raises(PluginError, match=r"^verifier backend 'broken' \(no_such_module_xyz:"
                       r"thing\) cannot be loaded: ModuleNotFoundError"):
        typed.load("broken")
    with pytest.raises(PluginError, match=r"'notcls' \(json:dumps\) is not a Verifier class"):
        typed.load("notcls")
    with pytest.raises(PluginError, match=r"'notfn' \(json:__name__\) is not callable"):
        untyped.load("notfn")
    with pytest.raises(PluginError, match="not a 'module:function' path"):
        untyped.register("x", "no colon")
    assert issubclass(PluginError, ConfigError) and issubclass(PluginError, VerifierError)


def test_listing_imports_nothing() -> None:
    code = ("import sys; from autospec_cli.verify.registry import backend_names; "
            "from autospec_cli.specs.generators.registry import available_generators; "
            "from autospec_cli.report.builders import REPORTS; "
            "n = backend_names() + available_generators() + REPORTS.names(); "
            "print(len(n), [m for m in ('torch', 'sklearn', 'matplotlib', "
            "'autospec_cli.verify.backends.attack', 'autospec_cli.specs.generators.grid') "
            "if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=REPO)
    assert out.stdout.split(" ", 1)[1].strip() == "[]"


def test_help_does_not_import_torch() -> None:
    code = ("import sys\nfrom autospec_cli.cli.main import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print('torch' in sys.modules, 'numpy' in sys.modules, file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.stderr.strip().splitlines()[-1] == "False False"
    assert "plugins" in out.stdout


# -- a fake third-party plug-in of each kind -------------------------------------------------
def test_third_party_backend(installed) -> None:
    from autospec_cli.verify.registry import (
        backend_names,
        describe_backends,
        get_backend_class,
        make_backend,
        parse_option_pairs,
    )

    installed(third_party("fake", f"{HERE}:FakeVerifier", "autospec_cli.verifiers"))
    assert "fake" in backend_names() and "portfolio" in backend_names()
    cls = get_backend_class("fake")
    assert cls.__name__ == "FakeVerifier"
    assert parse_option_pairs(cls, ["level=3"]) == {"level": 3}
    with pytest.raises(VerifierError, match="backend fake: parameter level must be between 0 "
                       "and 3, got 4"):
        parse_option_pairs(cls, ["level=4"])
    assert make_backend("fake", level=2).options == {"level": 2}
    with pytest.raises(VerifierError, match="parameter level must be an integer, got 2.7"):
        make_backend("fake", level=2.7)
    (row,) = describe_backends(["fake"])
    assert row["parameters"]["level"] == {"type": "int", "default": 1, "help": "how hard to try",
                                          "choices": None, "min": 0, "max": 3, "optional": False}


def test_third_party_generator(installed) -> None:
    from autospec_cli.specs.generators.registry import (
        available_generators,
        generate_specs,
        parse_generator_options,
    )

    installed(third_party("fakegen", f"{HERE}:FakeGenerator", "autospec_cli.generators"))
    assert available_generators() == ["cluster", "fakegen", "grid", "human", "monotonic", "tree"]
    assert parse_generator_options("fakegen", ["pad=0.5"]) == {"pad": 0.5}
    with pytest.raises(ConfigError, match="generator fakegen: parameter pad must be >= 0.0"):
        parse_generator_options("fakegen", ["pad=-1"])
    ds = fake_loader("4", None)
    ss = generate_specs(ds, "fakegen", pad=0.5)
    assert len(ss) == 1 and ss.params == {"pad": 0.5} and ss.specs[0].lo[0] == -0.5


def test_third_party_job_kind(installed, tmp_path: Path) -> None:
    from autospec_cli.campaign import InlineExecutor, JobSpec, open_campaign, run_campaign
    from autospec_cli.campaign.jobs import resolve_kind

    installed(third_party("fake.double", f"{HERE}:fake_job", "autospec_cli.jobs"))
    assert resolve_kind("fake.double") == f"{HERE}:fake_job"
    assert resolve_kind("probe.echo") == "autospec_cli.campaign.diagnostic_jobs:echo"
    s = run_campaign(tmp_path / "c", [JobSpec("fake.double", {"x": 21})], InlineExecutor())
    assert s.ran == 1
    with open_campaign(tmp_path / "c", create=False) as store:
        assert [r.result for r in store.results(kind="fake.double")] == [{"doubled": 42}]


def test_third_party_report_builder(installed) -> None:
    from autospec_cli.report.builders import builder_for

    installed(third_party("fake", f"{HERE}:fake_report", "autospec_cli.reports"))
    assert builder_for("fake") is fake_report
    assert builder_for("no-such-kind").__module__ == "autospec_cli.report.verification"
    assert builder_for(None).__name__ == "build_report"


def test_third_party_data_loader(installed, tmp_path: Path) -> None:
    from autospec_cli.data.loaders import LOADERS, load_dataset

    installed(third_party("fakefmt", f"{HERE}:fake_loader", "autospec_cli.loaders"))
    assert {"csv", "fakefmt"} <= set(LOADERS.names())
    ds = load_dataset("fakefmt:5")
    assert ds.n == 5 and ds.meta["format"] == "fakefmt" and ds.meta["source"] == "fakefmt:5"
    assert "source_sha256" not in ds.meta
    csv = tmp_path / "t.txt"
    csv.write_text("a,b,label\n1,2,0\n3,4,1\n")
    forced = load_dataset(f"csv:{csv}")
    assert forced.meta["format"] == "csv" and forced.n == 2 and "source_sha256" in forced.meta
