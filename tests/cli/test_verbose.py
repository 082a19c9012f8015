"""`-v` logs each progress step and the time of each phase on stderr; `-vv` adds tracebacks;
typed library errors name parameters and the CLI adds the option they are about."""

from __future__ import annotations

import json
import re

import pytest

from autospec_cli.cli.common import PARAM_FLAGS, error_line
from autospec_cli.errors import ConfigError, InputError, OutputExistsError

TRAIN = ("train", "builtin:spiral", "--arch", "mlp:4", "--epochs", "3", "--tol", "0")


def test_v_logs_every_training_epoch_with_times(cli_runner, tmp_path) -> None:
    code, out, err = cli_runner("-v", "--json", *TRAIN, "-o", str(tmp_path / "m.onnx"))
    assert code == 0, err
    assert json.loads(out)["epochs_run"] == 3  # stdout stays one JSON document
    steps = re.findall(r"^\[\s*\d+\.\d\ds\] train: (\d)/3", err, flags=re.M)
    assert steps == ["1", "2", "3"]
    assert re.search(r"train: 3/3 \(done in \d+\.\d\ds\)", err)
    assert err.rstrip().endswith("finished")


def test_without_v_no_step_lines(cli_runner, tmp_path) -> None:
    code, _, err = cli_runner("--json", *TRAIN, "-o", str(tmp_path / "m.onnx"))
    assert code == 0, err
    assert "train: 1/3" not in err and "finished" not in err


def test_quiet_wins_over_v(cli_runner, tmp_path) -> None:
    code, _, err = cli_runner("-v", "-q", *TRAIN, "-o", str(tmp_path / "m.onnx"))
    assert code == 0, err
    assert "train: 1/3" not in err


@pytest.fixture()
def broken_info(monkeypatch):
    from autospec_cli.cli import data

    def boom(*args, **kwargs):
        raise RuntimeError("planted bug")

    monkeypatch.setattr(data, "describe", boom)


def test_internal_error_is_one_line_without_vv(cli_runner, broken_info) -> None:
    code, _, err = cli_runner("data", "info", "builtin:spiral")
    assert code == 4
    assert err.strip().count("\n") == 0 and "Traceback" not in err
    assert "RuntimeError: planted bug" in err and "-vv" in err


def test_vv_shows_the_traceback_of_an_internal_error(cli_runner, broken_info) -> None:
    code, _, err = cli_runner("-vv", "data", "info", "builtin:spiral")
    assert code == 4
    assert "Traceback" in err and "boom" in err
    assert err.rstrip().splitlines()[-1].startswith("internal error: RuntimeError: planted bug")


def test_vv_shows_the_traceback_of_a_typed_error(cli_runner, tmp_path) -> None:
    args = ("data", "split", "builtin:spiral", "-o", str(tmp_path / "s"), "--ratio", "1.5")
    code, _, err = cli_runner(*args)
    assert code == 2 and "Traceback" not in err
    code, _, err = cli_runner("-vv", *args)
    assert code == 2 and "Traceback" in err and "check_ratio" in err
    assert err.rstrip().splitlines()[-1].startswith("error: ratio must be strictly between")


# -- library errors name parameters; the CLI names the option ----------------------------------


def test_library_messages_name_parameters_not_flags() -> None:
    from autospec_cli.data.split import check_ratio

    with pytest.raises(ConfigError) as info:
        check_ratio(1.5)
    assert "--" not in str(info.value) and str(info.value).startswith("ratio must be")
    assert info.value.param == "ratio"


def test_error_line_adds_the_option() -> None:
    assert error_line(ConfigError("ratio must be < 1", param="ratio")) == (
        "ratio must be < 1 (option --ratio)"
    )
    assert error_line(InputError("plain")) == "plain"
    assert error_line(ConfigError("odd", param="not_a_flag")) == "odd"
    assert error_line(OutputExistsError("x exists; pass --force")) == "x exists; pass --force"
    assert OutputExistsError("x exists").param == "force"
    assert all(flag.startswith("--") for flag in PARAM_FLAGS.values())


def test_cli_error_names_the_flag(cli_runner, tmp_path) -> None:
    code, _, err = cli_runner(
        "data", "split", "builtin:spiral", "-o", str(tmp_path / "s"), "--ratio", "1.5"
    )
    assert code == 2 and err.strip().count("\n") == 0
    assert "ratio must be strictly between 0 and 1" in err and "(option --ratio)" in err


def test_typed_errors_survive_pickling() -> None:
    import pickle

    e = pickle.loads(pickle.dumps(ConfigError("bad", param="window")))
    assert str(e) == "bad" and e.param == "window"
    f = pickle.loads(pickle.dumps(OutputExistsError("there")))
    assert f.param == "force"
