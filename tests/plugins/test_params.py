"""Strict parsing of declared parameters: no silent truncation, booleans from a word list,
bounds and choices, one-line errors naming the parameter; every shipped declaration is sound."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from autospec_cli.errors import ConfigError, ParameterError, VerifierError
from autospec_cli.params import BOOL_WORDS, Parameter, declared, param, parse_pairs

INT = Parameter(int, 0, "an int")
FLOAT = Parameter(float, 0.0, "a float")
BOOL = Parameter(bool, False, "a flag")


@pytest.mark.parametrize(("raw", "value"), [
    ("3", 3), (" -2 ", -2), ("+7", 7), (3, 3), (3.0, 3), (-0.0, 0), (10**20, 10**20),
])
def test_int_accepts_exact_integers(raw: Any, value: int) -> None:
    got = INT.parse("n", raw)
    assert got == value and type(got) is int


@pytest.mark.parametrize("raw", [2.7, "2.7", "2.5", "3.0", "1e3", "", "three", True, False,
                                 float("nan"), float("inf"), [1], None])
def test_int_refuses_what_is_not_exactly_an_integer(raw: Any) -> None:
    with pytest.raises(ParameterError, match=r"^parameter n\b") as err:
        INT.parse("n", raw)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(("raw", "value"), [
    ("0.5", 0.5), ("1e-3", 1e-3), (" 2 ", 2.0), (1, 1.0), (0.25, 0.25), ("-0", 0.0),
])
def test_float_reads_numbers(raw: Any, value: float) -> None:
    got = FLOAT.parse("x", raw)
    assert got == value and type(got) is float


@pytest.mark.parametrize("raw", ["nan", "inf", "-Infinity", float("nan"), math.inf, True,
                                 "x", "0.5.1", [0.5]])
def test_float_refuses_non_finite_booleans_and_words(raw: Any) -> None:
    with pytest.raises(ParameterError, match="parameter x"):
        FLOAT.parse("x", raw)


def test_float_may_allow_non_finite_values() -> None:
    p = Parameter(float, 0.0, "", finite=False)
    assert p.parse("x", "inf") == math.inf and math.isnan(p.parse("x", "nan"))


@pytest.mark.parametrize(("raw", "value"), [
    *[(w, v) for w, v in BOOL_WORDS.items()], ("TRUE", True), ("No", False), (" on ", True),
    ("OFF", False), (True, True), (False, False), (1, True), (0, False),
])
def test_bool_reads_the_word_list(raw: Any, value: bool) -> None:
    assert BOOL.parse("flag", raw) is value


@pytest.mark.parametrize("raw", ["flase", "ture", "", "y", "2", 2, -1, 0.5, None])
def test_bool_refuses_anything_else(raw: Any) -> None:
    with pytest.raises(ParameterError, match="parameter flag"):
        BOOL.parse("flag", raw)


def test_the_bool_word_list_is_fixed() -> None:
    assert sorted(BOOL_WORDS) == sorted(["true", "false", "yes", "no", "on", "off", "1", "0"])


def test_str_accepts_strings_and_paths_only() -> None:
    p = Parameter(str, "", "")
    assert p.parse("s", "x") == "x" and p.parse("s", Path("a/b")) == str(Path("a/b"))
    with pytest.raises(ParameterError, match="parameter s must be a string"):
        p.parse("s", 3)


@pytest.mark.parametrize(("p", "raw", "message"), [
    (Parameter(int, 1, "", min=1), "0", "parameter n must be >= 1, got 0"),
    (Parameter(int, 1, "", max=5), 6, "parameter n must be <= 5, got 6"),
    (Parameter(float, 0.5, "", min=0, max=1), "1.5",
     "parameter n must be between 0 and 1, got 1.5"),
    (Parameter(float, 0.5, "", min=0, max=1), -0.1, "must be between 0 and 1, got -0.1"),
    (Parameter(str, "a", "", choices=("a", "b")), "c", "parameter n: 'c' is not one of a, b"),
])
def test_bounds_and_choices(p: Parameter, raw: Any, message: str) -> None:
    with pytest.raises(ParameterError) as err:
        p.parse("n", raw)
    assert message in str(err.value)


def test_bounds_are_inclusive() -> None:
    p = Parameter(float, 0.5, "", min=0, max=1)
    assert p.parse("n", "0") == 0.0 and p.parse("n", 1) == 1.0


def test_optional_parameters_read_none() -> None:
    p = Parameter(int, 0, "", optional=True)
    assert p.parse("seed", "none") is None and p.parse("seed", "NULL") is None
    assert p.parse("seed", None) is None and p.parse("seed", "4") == 4


def test_a_converter_type_reports_unreadable_values() -> None:
    def pair(raw: Any) -> tuple[int, int]:
        a, b = str(raw).split(",")
        return int(a), int(b)

    p = Parameter(pair, (0, 0), "two ints")
    assert p.parse("xy", "1,2") == (1, 2)
    with pytest.raises(ParameterError, match=r"parameter xy: cannot read '1' as pair"):
        p.parse("xy", "1")


def test_errors_are_config_and_verifier_errors() -> None:
    """Backends raised VerifierError and generators ConfigError before; both still catch."""
    with pytest.raises(ConfigError):
        INT.parse("n", "x")
    with pytest.raises(VerifierError):
        INT.parse("n", "x")


def test_parse_pairs() -> None:
    params = {"step_size": FLOAT, "n": INT}
    assert parse_pairs(params, ["step-size=0.5", "n=3"], "backend b") == {"step_size": 0.5, "n": 3}
    with pytest.raises(ParameterError,
                       match="^backend b: unknown option 'm'; known: n, step_size$"):
        parse_pairs(params, ["m=1"], "backend b")
    with pytest.raises(ParameterError, match="^backend b: option 'n': expected key=value$"):
        parse_pairs(params, ["n"], "backend b")
    with pytest.raises(ParameterError, match="^backend b: parameter n: cannot read '2.7'"):
        parse_pairs(params, ["n=2.7"], "backend b")


def test_help_text_carries_bounds_choices_and_default() -> None:
    assert Parameter(int, 10, "depth", min=1).help_text() == "depth (>= 1; default 10)"
    assert (Parameter(str, "a", "mode", choices=("a", "b")).help_text()
            == "mode (one of a, b; default a)")
    assert Parameter(float, 0.1, "x").describe() == {
        "type": "float", "default": 0.1, "help": "x", "choices": None, "min": None,
        "max": None, "optional": False}


@dataclass(kw_only=True)
class _Declared:
    depth: int = param(10, "maximum depth", min=1)
    rate: float = param(0.5, "a rate", min=0.0, max=1.0)
    plain: str = "x"
    anything: Any = None


def test_param_fields_hold_the_one_default() -> None:
    ps = declared(_Declared)
    assert _Declared().depth == ps["depth"].default == 10
    assert ps["depth"].type is int and ps["depth"].min == 1
    assert ps["rate"].type is float and ps["rate"].max == 1.0
    assert ps["plain"].type is str and ps["plain"].default == "x"  # inferred from a plain field
    assert ps["anything"].parse("anything", "[1, 2]") == [1, 2]  # untyped: JSON, else string
    assert ps["anything"].parse("anything", "abc") == "abc"


def _all_declarations() -> list[tuple[str, str, Parameter]]:
    from autospec_cli.specs.generators.registry import GENERATORS
    from autospec_cli.verify.registry import VERIFIERS

    out = []
    for reg in (VERIFIERS, GENERATORS):
        for name in reg.names():
            for key, p in reg.load(name).parameters.items():
                out.append((name, key, p))
    return out


def test_every_shipped_default_fits_its_own_declaration() -> None:
    decls = _all_declarations()
    assert len(decls) > 30
    for owner, key, p in decls:
        if p.type in (int, float, bool):
            assert p.parse(key, p.default) == p.default, (owner, key)
        assert p.help, f"{owner}.{key} has no help"
        if p.default is not None and p.type in (int, float):
            p.check(key, p.default)


def test_backend_options_are_parsed_strictly() -> None:
    from autospec_cli.verify.registry import get_backend_class, parse_option_pairs

    attack, marabou = get_backend_class("attack"), get_backend_class("marabou")
    with pytest.raises(VerifierError, match="^backend attack: parameter samples: cannot read "
                       "'2.7' as an integer$"):
        parse_option_pairs(attack, ["samples=2.7"])
    with pytest.raises(VerifierError, match="^backend marabou: parameter refine: cannot read "
                       "'flase' as a boolean"):
        parse_option_pairs(marabou, ["refine=flase"])
    assert parse_option_pairs(marabou, ["refine=OFF"]) == {"refine": False}
    with pytest.raises(VerifierError, match="parameter samples must be >= 0, got -1"):
        attack(samples=-1)
    with pytest.raises(VerifierError, match="parameter batch must be >= 1, got 0"):
        get_backend_class("bab")(batch=0)
    with pytest.raises(VerifierError, match="parameter attack_share must be between 0 and 1"):
        get_backend_class("portfolio")(attack_share=1.5)
