"""Study configs: parsing, validation, data source resolution, the shipped configs."""

from __future__ import annotations

from pathlib import Path

import pytest

from autospec_cli.cli.common import error_line
from autospec_cli.errors import ConfigError, InputError
from autospec_cli.study.config import DEFAULT_OPTIONS, config_from_dict, load_config, parse_eps
from autospec_cli.study.run import design_runs

REPO = Path(__file__).resolve().parents[2]


def test_parse_eps() -> None:
    assert parse_eps("3/255") == pytest.approx(3 / 255)
    assert parse_eps(0.1) == 0.1
    for bad in ("x", "1/0", 2, -0.1):
        with pytest.raises(ConfigError):
            parse_eps(bad)


def test_defaults_and_canonical_names() -> None:
    cfg = config_from_dict({"data": {"source": "builtin:digits"},
                            "design": {"initialisers": ["kaiming", "xavier", "narrow"]},
                            "verify": {"methods": ["crown", "alpha_crown"]}})
    assert cfg.design.initialisers == ("he", "glorot", "narrow-normal")
    assert cfg.verify.methods == ("CROWN", "alpha-CROWN")
    assert cfg.verify.eps == pytest.approx(3 / 255)
    assert len(design_runs(cfg)) == 45
    same = config_from_dict({"data": {"source": "builtin:digits"},
                             "design": {"initialisers": ["he", "glorot", "narrow-normal"]},
                             "verify": {"methods": ["CROWN", "alpha-CROWN"], "eps": "3/255"},
                             "run": {"jobs": 7}})
    assert cfg.fingerprint() == same.fingerprint()  # spelling and [run] do not matter
    assert cfg.fingerprint() != config_from_dict({"data": {"source": "builtin:digits"}}
                                                 ).fingerprint()


@pytest.mark.parametrize("raw", [
    {},
    {"data": {"source": "builtin:digits", "nope": 1}},
    {"data": {"source": "builtin:digits"}, "training": {"epoch": 3}},
    {"data": {"source": "builtin:digits"}, "design": {"regularisers": ["batchnorm"]}},
    {"data": {"source": "builtin:digits"}, "design": {"method": "lhs"}},
    {"data": {"source": "builtin:digits"}, "verify": {"methods": ["magic"]}},
    {"data": {"source": "builtin:digits"}, "extra": {}},
])
def test_bad_configs_are_refused(raw: dict) -> None:
    with pytest.raises(ConfigError):
        config_from_dict(raw)


def test_lhs_design_samples() -> None:
    cfg = config_from_dict({"data": {"source": "builtin:digits"},
                            "design": {"method": "lhs", "samples": 9, "seeds": list(range(9))}})
    runs = design_runs(cfg)
    assert len(runs) == 9 and len({r["seed"] for r in runs}) == 9


def test_shipped_configs_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    digits = load_config(REPO / "configs" / "study-digits.toml")
    assert len(design_runs(digits)) == 45 and digits.data.source == "builtin:digits"
    monkeypatch.setenv("AUTOSPEC_STUDY_DATA", str(tmp_path))
    mnist = load_config(REPO / "configs" / "study-mnist.toml")
    assert mnist.data.source == str(tmp_path)
    assert mnist.verify.images_per_class == 30 and mnist.verify.eps == pytest.approx(3 / 255)
    assert len(design_runs(mnist)) == 45


def test_missing_source_says_what_to_do(tmp_path: Path) -> None:
    p = tmp_path / "s.toml"
    p.write_text('[data]\nsource = "no/such/folder"\n')
    with pytest.raises(InputError, match="AUTOSPEC_STUDY_DATA") as e:
        load_config(p)
    assert e.value.param == "data"  # the CLI names its option for it:
    assert error_line(e.value).endswith("(option --data)")
    p.write_text("[data\n")
    with pytest.raises(ConfigError):
        load_config(p)


def test_verifier_is_any_backend_with_checked_options() -> None:
    base = {"data": {"source": "builtin:digits"}}
    default = config_from_dict(base)
    assert (default.verify.backend, default.verify.options) == (
        "portfolio", {"backends": "lirpa[method=alpha-crown],attack,bab"})
    assert DEFAULT_OPTIONS == default.verify.options
    cfg = config_from_dict({**base, "verify": {"backend": "lirpa", "timeout": 5,
                                               "options": {"method": "alpha-crown",
                                                           "tolerance": 0}}})
    assert cfg.verify.options == {"method": "alpha-crown", "tolerance": 0.0}
    assert cfg.verify.timeout == 5.0 and cfg.verify.group is None
    assert config_from_dict({**base, "verify": {"backend": "bab"}}).verify.options == {}
    assert cfg.fingerprint() != default.fingerprint()
    for bad in ({"backend": "nope"}, {"backend": "lirpa", "options": {"nope": 1}},
                {"backend": "lirpa", "options": {"method": "magic"}}, {"timeout": 0},
                {"options": "x"}, {"group": "yes"}):
        with pytest.raises(ConfigError):
            config_from_dict({**base, "verify": bad})


def test_keys_of_the_former_pipeline_are_read_and_ignored() -> None:
    base = {"data": {"source": "builtin:digits"}}
    old = config_from_dict({**base, "verify": {"batch": 4, "attack_steps": 9, "vnnlib": False}})
    assert old.ignored == ("verify.batch", "verify.attack_steps", "verify.vnnlib")
    assert old.fingerprint() == config_from_dict(base).fingerprint()
    assert (old.verify.backend, old.verify.options) == ("portfolio",
                                                        {"backends": DEFAULT_OPTIONS["backends"]})


def test_config_loads_on_python_310_without_tomllib(tmp_path) -> None:
    """``tomllib`` is new in Python 3.11; on 3.10 (which pyproject supports) the study config
    reads TOML with ``tomli``. The module once imported ``tomllib`` unconditionally, so
    ``autospec study`` could not even be imported on 3.10. Simulated here in a subprocess:
    ``sys.version_info`` says 3.10, ``tomllib`` is missing and ``tomli`` is available."""
    import subprocess
    import sys
    import textwrap

    (tmp_path / "s.toml").write_text('[data]\nsource = "builtin:digits"\n', encoding="utf-8")
    script = textwrap.dedent(f"""
        import sys, tomllib
        import autospec_cli.study.training  # its dependencies, imported as on 3.11
        sys.modules["tomli"] = tomllib  # the same API under its 3.10 name
        sys.modules["tomllib"] = None
        sys.version_info = (3, 10, 14, "final", 0)
        sys.modules.pop("autospec_cli.study.config", None)
        from autospec_cli.study.config import load_config
        print(load_config({str(tmp_path / "s.toml")!r}).data.source)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["builtin:digits"]
