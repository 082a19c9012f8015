"""The central reduction of a VNN-LIB property: a list of cases.

A property describes the *counterexample region*. It is the disjunction over its cases; a case
is an input box ``lo <= x <= hi`` together with a disjunction of output polytopes
``A_k y <= b_k``. The property is ``sat`` (violated) iff some x in some case's box gives an
output y satisfying some polytope of that case. ``x`` and ``y`` are the model's input and
output tensors flattened in row-major order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Polytope:
    """The conjunction ``A y <= b`` (A: (k, n_out), b: (k,))."""

    A: np.ndarray
    b: np.ndarray

    def __post_init__(self) -> None:
        self.A = np.atleast_2d(np.asarray(self.A, dtype=np.float64))
        self.b = np.asarray(self.b, dtype=np.float64).reshape(-1)

    def holds(self, Y: np.ndarray, tol: float = 0.0) -> np.ndarray:
        """For each row of ``Y`` (N, n_out): does ``A y <= b + tol`` hold?"""
        Y = np.atleast_2d(Y)
        return np.all(Y @ self.A.T <= self.b + tol, axis=1)


@dataclass
class Case:
    """Input box and the disjunction of unsafe output polytopes."""

    lo: np.ndarray
    hi: np.ndarray
    disjuncts: list[Polytope]

    def __post_init__(self) -> None:
        self.lo = np.asarray(self.lo, dtype=np.float64).reshape(-1)
        self.hi = np.asarray(self.hi, dtype=np.float64).reshape(-1)

    def unsafe(self, Y: np.ndarray, tol: float = 0.0) -> np.ndarray:
        """For each row of ``Y``: does it satisfy at least one unsafe polytope?"""
        Y = np.atleast_2d(Y)
        out = np.zeros(Y.shape[0], dtype=bool)
        for p in self.disjuncts:
            out |= p.holds(Y, tol)
        return out

    def contains(self, X: np.ndarray, tol: float = 0.0) -> np.ndarray:
        X = np.atleast_2d(X)
        return np.all((X >= self.lo - tol) & (X <= self.hi + tol), axis=1)


@dataclass
class Property:
    """A parsed property: the disjunction of its cases."""

    cases: list[Case]
    n_inputs: int
    n_outputs: int
    meta: dict = field(default_factory=dict)

    def is_violated_by(self, X: np.ndarray, Y: np.ndarray, tol: float = 0.0) -> np.ndarray:
        """For rows (x, y): is x in some case's box with y unsafe for that case?"""
        X = np.atleast_2d(X)
        Y = np.atleast_2d(Y)
        out = np.zeros(X.shape[0], dtype=bool)
        for c in self.cases:
            out |= c.contains(X, tol) & c.unsafe(Y, tol)
        return out
