"""The CLI needs no ``click`` of its own: newer typer vendors click (``typer._click``) and no
longer installs it, and click is not one of our dependencies. ``cli/verify.py`` once imported
click only for an annotation, so ``autospec`` failed to start wherever click was absent."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import sys
    sys.modules["click"] = None  # `import click` now raises ImportError
    try:
        import typer  # noqa: F401
    except ImportError:
        sys.exit(77)  # an older typer that is built on click: nothing to check
    from autospec_cli.cli.main import main
    for argv in (["verify", "--help"], ["verify", "some-benchmark", "--help"]):
        try:
            main(argv)
        except SystemExit as e:
            assert not e.code, (argv, e.code)
    print("ok")
""")


def test_cli_starts_and_routes_verify_without_click() -> None:
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=300)
    if proc.returncode == 77:
        import pytest

        pytest.skip("this typer depends on click")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.rstrip().endswith("ok")
    # the default command: `verify BENCH` is `verify run BENCH`, whose help names --backend
    assert "--backend" in proc.stdout
