"""VNN-LIB 1.0 reader: real competition files, hand-written structures, syntax and errors."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import numpy as np
import pytest

from autospec_cli.errors import VnnlibError
from autospec_cli.vnnlib.reader import parse_sexprs, read_vnnlib

DECL = "(declare-const X_0 Real)\n(declare-const X_1 Real)\n(declare-const Y_0 Real)\n" \
       "(declare-const Y_1 Real)\n(declare-const Y_2 Real)\n"
BOX = "(assert (>= X_0 0))(assert (<= X_0 1))(assert (>= X_1 -1))(assert (<= X_1 1))\n"


def test_acasxu_prop_1(shared_data: Path) -> None:
    p = read_vnnlib(shared_data / "vnncomp2021" / "acasxu" / "prop_1.vnnlib")
    assert (p.n_inputs, p.n_outputs, len(p.cases)) == (5, 5, 1)
    c = p.cases[0]
    assert c.lo.tolist() == [0.6, -0.5, -0.5, 0.45, -0.5]
    assert c.hi.tolist() == [0.679857769, 0.5, 0.5, 0.5, -0.45]
    assert len(c.disjuncts) == 1
    poly = c.disjuncts[0]
    assert poly.A.tolist() == [[-1.0, 0, 0, 0, 0]]
    assert poly.b.tolist() == [-3.991125645861615]  # -Y_0 <= -3.99..., i.e. Y_0 >= 3.99...
    assert c.unsafe(np.array([[3.9912256, 0, 0, 0, 0]]))[0]
    assert not c.unsafe(np.array([[3.99, 9, 9, 9, 9]]))[0]


def test_acasxu_prop_2_coc_maximal(shared_data: Path) -> None:
    path = shared_data / "vnncomp2021" / "acasxu" / "prop_2.vnnlib"
    p = read_vnnlib(path, n_inputs=5, n_outputs=5)
    (c,) = p.cases
    (poly,) = c.disjuncts  # one conjunction: Y_j <= Y_0 for every j
    expected = np.zeros((4, 5))
    expected[:, 0] = -1.0
    expected[np.arange(4), np.arange(1, 5)] = 1.0
    assert np.array_equal(poly.A, expected)
    assert np.array_equal(poly.b, np.zeros(4))
    assert c.unsafe(np.array([[5.0, 1, 2, 3, 5]]))[0]  # Y_0 maximal (tie included)
    assert not c.unsafe(np.array([[5.0, 1, 2, 6, 4]]))[0]


def test_all_competition_test_properties_parse(shared_data: Path) -> None:
    files = sorted((shared_data / "vnncomp2021" / "test").glob("*.vnnlib"))
    assert len(files) >= 4
    for f in files:
        p = read_vnnlib(f)
        assert p.cases and all(np.all(np.isfinite(c.lo)) and np.all(c.lo <= c.hi) for c in p.cases)
        assert all(c.disjuncts for c in p.cases)
    prop = read_vnnlib(shared_data / "vnncomp2021" / "test" / "test_prop.vnnlib")
    assert (prop.n_inputs, prop.n_outputs) == (5, 5)
    assert prop.cases[0].disjuncts[0].A.shape == (4, 5)
    nano = read_vnnlib(shared_data / "vnncomp2021" / "test" / "test_nano.vnnlib")
    assert nano.cases[0].lo.tolist() == [-1.0] and nano.cases[0].hi.tolist() == [1.0]
    assert nano.cases[0].disjuncts[0].A.tolist() == [[1.0]]
    assert nano.cases[0].disjuncts[0].b.tolist() == [-1.0]


@pytest.mark.parametrize("text,value", [
    ("1", 1.0), ("-1.", -1.0), (".5", 0.5), ("1e-3", 1e-3), ("1E+3", 1000.0), ("-0.0", 0.0),
    ("+2.25", 2.25), ("-.5e1", -5.0), ("0.1", 0.1), ("123456789012345678", 123456789012345678.0),
])
def test_float_syntax(text: str, value: float) -> None:
    p = read_vnnlib(f"(declare-const X_0 Real)(declare-const Y_0 Real)"
                    f"(assert (>= X_0 {text}))(assert (<= X_0 {text}))(assert (<= Y_0 {text}))")
    c = p.cases[0]
    assert c.lo[0] == value and c.hi[0] == value
    assert c.disjuncts[0].b[0] == value


def test_comments_whitespace_and_ignored_commands() -> None:
    text = """; header ; with ; semicolons
    (declare-const X_0 Real) ; inline comment (with parens
    (declare-fun Y_0 () Real)
    (set-logic QF_LRA)
    (assert ; split
       (<=
         X_0 ; still going
         2))
    (assert (>= X_0 -2))(assert (>= Y_0 1))
    (check-sat)
    (get-model)"""
    p = read_vnnlib(text)
    assert p.cases[0].lo.tolist() == [-2.0] and p.cases[0].hi.tolist() == [2.0]
    assert p.cases[0].disjuncts[0].A.tolist() == [[-1.0]]


def test_nested_or_and_to_dnf() -> None:
    text = DECL + "(assert (>= X_1 -1))(assert (<= X_1 1))" + """
    (assert (or
      (and (>= X_0 0) (<= X_0 1)
           (or (>= Y_0 5) (and (<= Y_1 2) (>= Y_1 1) (or (<= Y_2 0) (>= Y_2 3)))))
      (and (and (>= X_0 2) (<= X_0 3)) (>= Y_0 Y_1))))"""
    p = read_vnnlib(text)
    assert [c.lo.tolist() for c in p.cases] == [[0.0, -1.0], [2.0, -1.0]]
    first, second = p.cases
    assert len(first.disjuncts) == 3  # Y_0>=5 | (Y_1 in [1,2] & Y_2<=0) | (Y_1 in [1,2] & Y_2>=3)
    assert first.disjuncts[0].A.tolist() == [[-1.0, 0, 0]]
    assert first.disjuncts[1].A.shape == (3, 3) and first.disjuncts[2].A.shape == (3, 3)
    assert second.disjuncts[0].A.tolist() == [[-1.0, 1.0, 0]] and second.disjuncts[0].b[0] == 0
    Y = np.array([[0.0, 1.5, 4.0], [0.0, 1.5, 1.0], [6.0, 0.0, 0.0]])
    assert first.unsafe(Y).tolist() == [True, False, True]


def test_disjunctive_input_boxes_like_nn4sys() -> None:
    lines = ["(declare-const X_0 Real)", "(declare-const X_1 Real)", "(declare-const Y_0 Real)",
             "(assert (or"]
    for i in range(50):
        lines.append(
            f"  (and (>= X_0 {i}.0) (<= X_0 {i}.5) (>= X_1 0) (<= X_1 1) (>= Y_0 {i * 2}))")
    lines.append("  (and (>= X_0 0.0) (<= X_0 0.5) (>= X_1 0) (<= X_1 1) (<= Y_0 -7))")
    lines.append("))")
    p = read_vnnlib("\n".join(lines))
    assert len(p.cases) == 50  # the last disjunct shares the first box: merged into case 0
    assert [c.lo[0] for c in p.cases] == [float(i) for i in range(50)]
    assert len(p.cases[0].disjuncts) == 2 and len(p.cases[1].disjuncts) == 1
    assert p.cases[7].disjuncts[0].b.tolist() == [-14.0]
    x = np.array([[7.2, 0.5]])
    assert p.is_violated_by(x, np.array([[14.0]]))[0]
    assert not p.is_violated_by(x, np.array([[13.0]]))[0]


def test_linear_terms_and_constants_on_either_side() -> None:
    text = DECL + BOX + """(assert (or
        (and (<= (+ Y_0 (* 2 Y_1) (- Y_2)) 3))
        (and (>= (- Y_0 Y_1) 0.5))
        (and (<= (+ Y_0 1) (* 2 Y_1)))
        (and (>= 4 Y_2) (< (* Y_1 -3) (- 2)))))"""
    d = read_vnnlib(text).cases[0].disjuncts
    assert d[0].A.tolist() == [[1.0, 2.0, -1.0]] and d[0].b.tolist() == [3.0]
    assert d[1].A.tolist() == [[-1.0, 1.0, 0.0]] and d[1].b.tolist() == [-0.5]
    assert d[2].A.tolist() == [[1.0, -2.0, 0.0]] and d[2].b.tolist() == [-1.0]
    assert d[3].A.tolist() == [[0.0, 0.0, 1.0], [0.0, -3.0, 0.0]] and d[3].b.tolist() == [4.0, -2.0]


def test_equality_chains_and_strict_comparisons() -> None:
    text = """(declare-const X_0 Real)(declare-const X_1 Real)(declare-const Y_0 Real)
    (assert (= X_0 0.25))(assert (<= -1 X_1 2))(assert (> Y_0 1))"""
    c = read_vnnlib(text).cases[0]
    assert c.lo.tolist() == [0.25, -1.0] and c.hi.tolist() == [0.25, 2.0]
    assert c.disjuncts[0].A.tolist() == [[-1.0]] and c.disjuncts[0].b.tolist() == [-1.0]
    assert c.unsafe(np.array([[1.0]]))[0]  # strict > read as >=: the boundary is included


def test_empty_output_part_means_always_unsafe() -> None:
    p = read_vnnlib("(declare-const X_0 Real)(declare-const Y_0 Real)(declare-const Y_1 Real)"
                    "(assert (<= X_0 1))(assert (>= X_0 0))")
    (poly,) = p.cases[0].disjuncts
    assert poly.A.shape == (0, 2) and poly.holds(np.array([[5.0, -5.0]]))[0]


def test_gz_files_and_paths(tmp_path: Path, shared_data: Path) -> None:
    src = (shared_data / "vnncomp2021" / "acasxu" / "prop_2.vnnlib").read_bytes()
    gz = tmp_path / "prop_2.vnnlib.gz"
    gz.write_bytes(gzip.compress(src))
    plain = tmp_path / "prop_2.vnnlib"
    plain.write_bytes(src)
    a, b, c = read_vnnlib(gz), read_vnnlib(str(plain)), read_vnnlib(src.decode())
    for q in (b, c):
        assert np.array_equal(a.cases[0].lo, q.cases[0].lo)
        assert np.array_equal(a.cases[0].disjuncts[0].A, q.cases[0].disjuncts[0].A)


@pytest.mark.parametrize("text,needle", [
    (DECL + "(assert (<= X_0 1))(assert (>= X_0 0))(assert (<= X_1 1))(assert (>= Y_0 0))", "X_1"),
    (DECL + BOX + "(assert (>= Y_7 0))", "Y_7"),
    (DECL + BOX + "(assert (>= Z 0))", "Z"),
    (DECL + BOX + "(assert (>= Y_0 0)", "parenthes"),
    (DECL + BOX + "(assert (>= Y_0 0)))", "parenthes"),
    ("this is not (vnnlib)\n", "unexpected"),
    ("(1 2 3)", "unsupported command"),
    (DECL + BOX + "(assert (<= (+ X_0 Y_0) 1))", "mixing"),
    (DECL + BOX + "(assert (<= (* Y_0 Y_1) 1))", "non-linear"),
    (DECL + BOX + "(assert (<= (+ X_0 X_1) 1))", "one input"),
    (DECL + BOX + "(assert (not (<= Y_0 1)))", "unsupported formula"),
    (DECL + BOX + "(assert (<= Y_0 inf))", "inf"),
    (DECL + "(assert (<= X_0 0))(assert (>= X_0 1))(assert (<= X_1 1))(assert (>= X_1 0))",
     "unsatisfiable"),
    (DECL, "no assertions"),
    ("(declare-const X_0 Bool)", "declaration"),
    (DECL + BOX + "(push 1)", "unsupported command"),
])
def test_errors_are_one_line(text: str, needle: str) -> None:
    with pytest.raises(VnnlibError) as e:
        read_vnnlib(text)
    msg = str(e.value)
    assert needle in msg and "\n" not in msg


def test_declared_sizes_must_match_the_model(shared_data: Path) -> None:
    f = shared_data / "vnncomp2021" / "acasxu" / "prop_1.vnnlib"
    with pytest.raises(VnnlibError, match="declares 5 inputs.*model has 784"):
        read_vnnlib(f, n_inputs=784)
    with pytest.raises(VnnlibError, match="prop_1.vnnlib"):  # file errors name the file
        read_vnnlib(f, n_outputs=10)


def test_missing_file() -> None:
    with pytest.raises(VnnlibError, match="does not exist"):
        read_vnnlib(Path("no/such/file.vnnlib"))


def test_sexpr_fast_and_slow_paths_agree() -> None:
    text = '(a (b c) () ((d)) e) (f)'
    assert parse_sexprs(text) == [["a", ["b", "c"], [], [["d"]], "e"], ["f"]]
    assert parse_sexprs('(a "b")') == [["a", '"b"']]  # quotes force the slow path


def test_large_multi_case_file_is_fast() -> None:
    parts = ["(declare-const X_0 Real)", "(declare-const X_1 Real)", "(declare-const Y_0 Real)",
             "(declare-const Y_1 Real)", "(assert (or"]
    n = 5000
    for i in range(n):
        parts.append(f"(and (>= X_0 {i * 0.001!r}) (<= X_0 {i * 0.001 + 0.0005!r}) (>= X_1 -1.5)"
                     f" (<= X_1 2.5) (>= Y_0 {i * 0.37!r}) (<= Y_1 Y_0))")
    parts.append("))")
    text = "\n".join(parts)
    t = time.perf_counter()
    p = read_vnnlib(text)
    elapsed = time.perf_counter() - t
    assert len(p.cases) == n
    assert p.cases[-1].disjuncts[0].A.tolist() == [[-1.0, 0.0], [-1.0, 1.0]]
    assert elapsed < 10.0, f"{n} cases took {elapsed:.1f} s"
