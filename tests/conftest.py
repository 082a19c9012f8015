"""Shared fixtures. Real data is read in place from ../shared/data (never copied here)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _shared_data() -> Path:
    env = os.environ.get("AUTOSPEC_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real datasets (oran-commag, vnncomp2021, mnist, cicids2017, nsl-kdd)."""
    p = _shared_data()
    if not p.is_dir():
        pytest.skip(f"shared data not found at {p}")
    return p


@pytest.fixture()
def cli_runner():
    """Run the CLI in-process like a user: returns (exit_code, stdout, stderr)."""
    import contextlib
    import io

    from autospec_cli.cli.main import main

    def run(*args: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = 0
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            from autospec_cli.cli import common

            old = common.console.file, common.err_console.file
            common.console.file, common.err_console.file = out, err
            try:
                main(list(args))
            except SystemExit as e:
                code = int(e.code or 0) if not isinstance(e.code, str) else 1
            finally:
                common.console.file, common.err_console.file = old
        return code, out.getvalue(), err.getvalue()

    return run
