"""Cheap commands stay cheap: listing backends and help never import torch (about a second
of start-up), so they answer in a fraction of a second."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PROBE = (
    "import sys\n"
    "from autospec_cli.cli.main import main\n"
    "code = 0\n"
    "try:\n    main(sys.argv[1:])\n"
    "except SystemExit as e:\n    code = e.code\n"
    "print('MODULES', 'torch' in sys.modules, 'auto_LiRPA' in sys.modules, "
    "'onnxruntime' in sys.modules, code, file=sys.stderr)\n"
)


def _run(*argv: str) -> tuple[str, str]:
    out = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True,
                         timeout=120, check=False)
    line = [x for x in out.stderr.splitlines() if x.startswith("MODULES")][-1]
    return out.stdout, line


@pytest.mark.parametrize("argv", [("verify", "backends", "--json"), ("--help",),
                                  ("verify", "--help")])
def test_listing_backends_and_help_import_no_torch(argv: tuple[str, ...]) -> None:
    stdout, modules = _run(*argv)
    assert modules == "MODULES False False False 0", modules
    if argv[-1] == "--json":
        rows = {r["name"]: r for r in json.loads(stdout)["backends"]}
        # Availability is still reported (found without importing), with parameters.
        assert rows["lirpa"]["available"] is True and "method" in rows["lirpa"]["parameters"]
        assert rows["portfolio"]["available"] is True and rows["attack"]["available"] is True
