"""Covering arrays and their exclusion constraints: coverage, validity, determinism, safety.

Every check of coverage here is brute force and independent of the library: all full rows
are enumerated, the constraints are evaluated by Python predicates built alongside their
source text, and the allowed tuples are the projections of the valid rows.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autospec_cli.bench.constraints import ConstraintSet, compile_constraints
from autospec_cli.bench.covering import (
    array_to_json,
    covering_array,
    format_table,
    verify_covering,
)
from autospec_cli.errors import ConfigError

# --------------------------------------------------------------------------- brute force


def brute_allowed(levels, t, excluded):
    """The set of (columns, levels) t-tuples that some valid full row contains."""
    allowed = set()
    for row in itertools.product(*(range(n) for n in levels)):
        if not excluded(row):
            for cols in itertools.combinations(range(len(levels)), t):
                allowed.add((cols, tuple(row[c] for c in cols)))
    return allowed


def brute_check(rows, levels, t, excluded):
    """(uncovered allowed tuples, rows that are excluded or out of range)."""
    bad = [
        i
        for i, r in enumerate(rows)
        if excluded(tuple(r)) or any(not 0 <= v < n for v, n in zip(r, levels, strict=True))
    ]
    covered = {
        (cols, tuple(int(r[c]) for c in cols))
        for i, r in enumerate(rows)
        if i not in bad
        for cols in itertools.combinations(range(len(levels)), t)
    }
    return brute_allowed(levels, t, excluded) - covered, bad


# --------------------------------------------------------------------------- random constraints


@st.composite
def atoms(draw, levels):
    i = draw(st.integers(0, len(levels) - 1))
    v = draw(st.integers(0, levels[i] - 1))
    kind = draw(st.sampled_from(["==", "!=", "<", ">=", "in"]))
    if kind == "in":
        w = draw(st.integers(0, levels[i] - 1))
        return f"f{i} in ({v}, {w})", lambda r: r[i] in (v, w)
    ops = {
        "==": lambda a: a == v,
        "!=": lambda a: a != v,
        "<": lambda a: a < v,
        ">=": lambda a: a >= v,
    }
    op = ops[kind]
    return f"f{i} {kind} {v}", lambda r: op(r[i])


@st.composite
def expressions(draw, levels, depth=2):
    if depth == 0 or draw(st.booleans()):
        return draw(atoms(levels))
    kind = draw(st.sampled_from(["and", "or", "not"]))
    a_src, a_fn = draw(expressions(levels, depth - 1))
    if kind == "not":
        return f"not ({a_src})", lambda r: not a_fn(r)
    b_src, b_fn = draw(expressions(levels, depth - 1))
    if kind == "and":
        return f"({a_src}) and ({b_src})", lambda r: a_fn(r) and b_fn(r)
    return f"({a_src}) or ({b_src})", lambda r: a_fn(r) or b_fn(r)


@st.composite
def problems(draw):
    levels = draw(st.lists(st.integers(2, 5), min_size=2, max_size=6))
    t = draw(st.integers(2, min(3, len(levels))))
    cons = draw(st.lists(expressions(levels), max_size=3))
    seed = draw(st.integers(0, 2**16))
    return levels, t, cons, seed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_random_problems_cover_every_allowed_tuple(problem) -> None:
    levels, t, cons, seed = problem
    sources = [s for s, _ in cons]

    def excluded(row):
        return any(fn(row) for _, fn in cons)

    allowed = brute_allowed(levels, t, excluded)
    if not allowed:
        with pytest.raises(ConfigError, match="exclude every row"):
            covering_array(levels, t, sources, seed=seed, time_budget=None, iterations=200)
        return
    ca = covering_array(levels, t, sources, seed=seed, time_budget=None, iterations=200)
    uncovered, bad = brute_check(ca.rows.tolist(), levels, t, excluded)
    assert not uncovered and not bad
    assert ca.stats["allowed_tuples"] == len(allowed)
    assert ca.stats["uncovered"] == 0 and len(ca) == ca.stats["rows"]
    # The exact allowed-tuple oracle agrees with brute force.
    cs = ConstraintSet([f"f{i}" for i in range(len(levels))], levels, sources)
    for cols in itertools.combinations(range(len(levels)), t):
        mask = cs.allowed_mask(cols)
        for vals in itertools.product(*(range(levels[c]) for c in cols)):
            assert bool(mask[vals]) == ((cols, vals) in allowed)


def test_same_seed_same_array_and_seeds_differ() -> None:
    levels = {"a": 4, "b": 3, "c": 4, "d": 2, "e": 3}
    cons = ["a == 0 and b == 1"]
    one = covering_array(levels, 2, cons, seed=7, time_budget=None)
    two = covering_array(levels, 2, cons, seed=7, time_budget=None)
    assert np.array_equal(one.rows, two.rows) and not one.stats["time_capped"]
    others = [covering_array(levels, 2, cons, seed=s, time_budget=None).rows for s in range(4)]
    assert any(not np.array_equal(one.rows, o) for o in others)


@pytest.mark.parametrize(
    ("levels", "t", "optimum"),
    [([2, 2, 2], 2, 4), ([3, 3, 3, 3], 2, 9), ([2] * 4, 3, 8), ([4, 4, 3], 2, 16)],
)
def test_reaches_known_optimum_on_small_arrays(levels, t, optimum) -> None:
    ca = covering_array(levels, t, seed=0, time_budget=None)
    assert len(ca) == optimum == ca.stats["lower_bound"]


def test_beats_greedy_tools_on_gdvb_sized_pairwise_problem() -> None:
    # 5^5 6^2, t=2: PICT 43, jenny 45, allpairspy 46-48; the lower bound is 36.
    ca = covering_array([5] * 5 + [6] * 2, 2, seed=0, time_budget=None)
    assert 36 <= len(ca) <= 40
    assert ca.stats["greedy_rows"] >= len(ca)


def test_gdvb_mnist_constraints() -> None:
    levels = {"neu": 5, "fc": 3, "conv": 5, "idm": 5, "ids": 5, "eps": 5, "prop": 5}
    cons = ["fc == 0 and conv == 0", "fc == 2 and conv == 0 and idm == 0 and not (neu < 4)"]
    ca = covering_array(levels, 2, cons, seed=0, time_budget=None)
    assert len(ca) <= 30  # PICT: 37
    recs = ca.records()
    assert not any(r["fc"] == 0 and r["conv"] == 0 for r in recs)
    assert not any(
        r["fc"] == 2 and r["conv"] == 0 and r["idm"] == 0 and r["neu"] >= 4 for r in recs
    )
    assert ca.stats["allowed_tuples"] == ca.stats["total_tuples"] - 1  # only (fc=0, conv=0)


# --------------------------------------------------------------------------- exact allowed tuples


def test_tuple_allowed_only_through_one_completion_is_covered() -> None:
    # a=0 is only possible together with c=2, so pair (a=0, b=1) needs exactly row (0, 1, 2).
    cons = ["a == 0 and c != 2"]
    levels = {"a": 3, "b": 3, "c": 3}
    cs = ConstraintSet(list(levels), list(levels.values()), cons)
    assert cs.allowed_mask((0, 1))[0, 1]  # no constraint mentions b, still allowed
    assert not cs.allowed_mask((0, 2))[0, 0]
    ca = covering_array(levels, 2, cons, seed=3, time_budget=None)
    assert [0, 1, 2] in ca.rows.tolist()


def test_tuple_excluded_indirectly_is_not_required() -> None:
    # No single constraint mentions b, yet a=0 admits no valid row at all.
    cons = [f"a == 0 and c == {v}" for v in range(3)]
    levels = {"a": 3, "b": 2, "c": 3}
    cs = ConstraintSet(list(levels), list(levels.values()), cons)
    assert not cs.allowed_mask((0, 1))[0].any()
    ca = covering_array(levels, 2, cons, time_budget=None)
    assert 0 not in ca.rows[:, 0]
    assert ca.stats["allowed_tuples"] == ca.stats["total_tuples"] - 2 - 3  # (a=0, b=*), (a=0, c=*)


def test_constraint_across_more_than_t_factors() -> None:
    levels = [2, 2, 2, 2]
    cons = ["f0 == f1 and f1 == f2 and f2 == f3"]  # excludes 0000 and 1111 only
    ca = covering_array(levels, 2, cons, time_budget=None)
    assert not ((ca.rows == ca.rows[:, :1]).all(axis=1)).any()
    assert verify_covering(ca.rows, levels, 2, cons).ok


@pytest.mark.parametrize(
    "cons",
    [["a == 0", "a == 1"], ["a >= 0"], ["a in (0, 1) or b < 5"], ["not (a != a)"]],
)
def test_constraints_excluding_everything_are_a_config_error(cons) -> None:
    with pytest.raises(ConfigError, match="exclude every row"):
        covering_array({"a": 2, "b": 3}, 2, cons)


# --------------------------------------------------------------------------- parser safety


@pytest.mark.parametrize(
    ("expr", "fragment"),
    [
        ("__import__('os').system('true')", "Call"),
        ("a.real == 0", "Attribute"),
        ("len(a) == 1", "Call"),
        ("a == 'x'", "not a number"),
        ("a + 1 == 2", "BinOp"),
        ("a == True", "not a number"),
        ("(lambda: 0)() == 0", "Call"),
        ("[x for x in ()] == 0", "ListComp"),
        ("a[0] == 1", "Subscript"),
        ("a", "bare name"),
        ("a if b else a", "IfExp"),
        ("a = 0", "use == for equality"),
        ("a is 0", "Is"),
        ("zz == 0", "unknown factor 'zz'"),
        ("a in b", "tuple of numbers"),
        ("", "non-empty"),
        ("a == 0 and " * 400 + "a == 0", "longer than"),
    ],
)
def test_parser_rejects_unsafe_or_unknown_input(expr, fragment) -> None:
    with pytest.raises(ConfigError, match="constraint") as info:
        ConstraintSet(["a", "b"], [3, 3], [expr])
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_three_valued_partial_evaluation_uses_domains() -> None:
    cs = ConstraintSet(["neu", "fc"], [5, 3], ["neu < 9 and fc == 1"])
    assert cs.status([-1, -1]) is None
    assert cs.status([-1, 1]) is True  # every neu level is < 9
    assert cs.status([-1, 0]) is False
    cs2 = ConstraintSet(["neu"], [5], ["neu in (0, 1, 2, 3, 4)"])
    assert cs2.status([-1]) is True


def test_constraints_on_level_values() -> None:
    values = {"neu": [0.2, 0.4, 0.6, 0.8, 1.0], "fc": [0, 1, 2]}
    cs = compile_constraints(["neu", "fc"], [5, 3], ["neu > 0.7 and fc == 0"], values)
    rows = np.array([[3, 0], [4, 0], [2, 0], [4, 1]])
    assert cs.excluded(rows).tolist() == [True, True, False, False]
    ca = covering_array({"neu": 5, "fc": 3}, 2, ["neu > 0.7 and fc == 0"], values=values)
    assert len(ca) == 13 and not ((ca.rows[:, 0] >= 3) & (ca.rows[:, 1] == 0)).any()


# --------------------------------------------------------------------------- API edges


def test_bad_levels_and_strength_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="strength"):
        covering_array([2, 2], t=3)
    with pytest.raises(ConfigError, match="levels"):
        covering_array([2, 0, 2])
    with pytest.raises(ConfigError, match="at least one factor"):
        covering_array([])


def test_single_level_factors_and_t_equal_k() -> None:
    ca = covering_array([1, 3, 2], t=3, time_budget=None)
    assert len(ca) == 6 and sorted(map(tuple, ca.rows.tolist())) == sorted(
        itertools.product([0], range(3), range(2))
    )


def test_verify_covering_reports_gaps_and_bad_rows() -> None:
    levels = {"a": 2, "b": 2}
    rows = [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert verify_covering(rows, levels, 2).ok
    rep = verify_covering(rows[:3] + [[2, 1]], levels, 2, ["a == 0 and b == 1"])
    assert rep.violating_rows == [1, 3]
    assert rep.uncovered == [((0, 1), (1, 1))]
    assert rep.allowed_tuples == 3 and rep.total_tuples == 4 and not rep.ok


def test_renderers() -> None:
    ca = covering_array({"neu": 2, "fc": 3}, 2, seed=1, time_budget=None)
    doc = json.loads(json.dumps(array_to_json(ca, {"neu": [0.5, 1.0], "fc": [0, 1, 2]})))
    assert doc["factors"] == ["neu", "fc"] and len(doc["rows"]) == 6 == len(doc["values"])
    assert doc["stats"]["uncovered"] == 0
    assert {tuple(v) for v in doc["values"]} == set(itertools.product([0.5, 1.0], [0, 1, 2]))
    table = format_table(ca).splitlines()
    assert table[0].split() == ["#", "neu", "fc"] and len(table) == 7
    with pytest.raises(ConfigError, match="no level values"):
        array_to_json(ca, {"neu": [1, 2]})


def test_time_cap_still_returns_a_verified_array() -> None:
    levels = [4] * 6
    ca = covering_array(levels, 3, seed=0, time_budget=1e-9)
    assert ca.stats["time_capped"] and len(ca) == ca.stats["greedy_rows"]
    uncovered, bad = brute_check(ca.rows.tolist(), levels, 3, lambda r: False)
    assert not uncovered and not bad


def test_level_values_are_kept_for_value_records() -> None:
    values = {"neu": [0.5, 1.0], "fc": [0, 0.5, 1.0]}
    ca = covering_array({"neu": 2, "fc": 3}, 2, ["fc == 0 and neu == 1.0"], values=values)
    recs = ca.value_records()
    assert {(r["neu"], r["fc"]) for r in recs} == {(0.5, 0), (0.5, 0.5), (0.5, 1.0),
                                                   (1.0, 0.5), (1.0, 1.0)}
    assert ca.values == {"neu": (0.5, 1.0), "fc": (0, 0.5, 1.0)}
    with pytest.raises(ConfigError, match="no level values"):
        covering_array([2, 2]).value_records()
