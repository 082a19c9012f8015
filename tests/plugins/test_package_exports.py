"""Every package's public API is importable from the package, and lazily."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

PACKAGES = ["bench", "campaign", "data", "demo", "models", "report", "specs", "study", "verify",
            "verifyrun", "vnnlib", "testing"]


@pytest.mark.parametrize("pkg", PACKAGES)
def test_every_exported_name_resolves(pkg: str) -> None:
    mod = importlib.import_module(f"autospec_cli.{pkg}")
    names = getattr(mod, "__all__", None)
    assert names, f"autospec_cli.{pkg} declares no public API"
    for name in names:
        assert getattr(mod, name) is not None, f"autospec_cli.{pkg}.{name}"
    assert set(names) <= set(dir(mod))
    with pytest.raises(AttributeError):
        mod.no_such_name  # noqa: B018


def test_importing_light_packages_loads_no_heavy_library() -> None:
    code = ("import sys\nimport autospec_cli.verify, autospec_cli.verifyrun, autospec_cli.report, "
            "autospec_cli.models, autospec_cli.study, autospec_cli.bench, autospec_cli.specs\n"
            "print([m for m in ('torch', 'onnxruntime', 'matplotlib', 'sklearn') "
            "if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
