"""Every command and option is documented; the root behaves like a well-mannered CLI."""

from __future__ import annotations

import typer.main

from autospec_cli import __version__
from autospec_cli.cli.main import app


def _walk(cmd, path: tuple[str, ...] = ()):
    yield path, cmd
    if hasattr(cmd, "commands"):
        for name, sub in cmd.commands.items():
            yield from _walk(sub, path + (name,))


def test_every_command_has_help_text() -> None:
    root = typer.main.get_command(app)
    assert len(list(_walk(root))) > 1
    missing = [" ".join(p) or "autospec" for p, c in _walk(root) if not (c.help or "").strip()]
    assert not missing, f"commands without help text: {missing}"


def test_every_option_has_help_text() -> None:
    root = typer.main.get_command(app)
    missing = []
    for path, cmd in _walk(root):
        for param in cmd.params:
            if param.param_type_name == "option" and not (param.help or "").strip():
                missing.append(f"{' '.join(path)} {param.opts[0]}")
    assert not missing, f"options without help text: {missing}"


def test_version(cli_runner) -> None:
    code, out, _ = cli_runner("--version")
    assert code == 0
    assert out.strip() == f"autospec {__version__}"


def test_unknown_command_is_usage_error(cli_runner) -> None:
    code, _, err = cli_runner("no-such-command")
    assert code == 2
    assert "Traceback" not in err


def test_version_is_the_package_metadata_version() -> None:
    """One version source: the installed metadata is read from autospec_cli.__version__."""
    from importlib.metadata import version

    assert version("autospec-cli") == __version__


def test_help_shows_no_value_placeholder_for_flags(cli_runner) -> None:
    """Flags (``--force``, ``--batch/--no-batch``, ``-v``, ``--help``) take no value, so help
    must not show one (typer prints ``<bool>``); options with values keep theirs."""
    root = typer.main.get_command(app)
    seen = 0
    for path, _ in _walk(root):
        code, out, err = cli_runner(*path, "--help")
        assert code == 0, (path, err)
        assert "<bool>" not in out, (path, out)
        seen += 1
    assert seen > 20
    _, out, _ = cli_runner("verify", "run", "--help")
    assert "<flo" in out and "<int" in out  # --timeout and --jobs still show theirs
    _, out, _ = cli_runner("--help")
    assert out.count("<int") == 1  # --seed; -v (a counter) shows none
