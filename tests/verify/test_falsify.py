"""The shared signed-gradient loop: schedules, restarts, box projection, early exit, deadlines."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from autospec_cli.errors import VerifierError
from autospec_cli.verify.falsify import (
    PGDConfig,
    box_starts,
    case_margins,
    descend,
    restart_scales,
    snap_float32,
    torch_case_margin,
)
from autospec_cli.vnnlib.property import Case, Polytope


def sum_margin(c: float):
    """Margin ``c - sum(x)``: violated where the inputs sum to at least ``c``."""
    return lambda x: c - x.sum(dim=1)


def test_config_rejects_bad_values() -> None:
    with pytest.raises(VerifierError, match="schedule"):
        PGDConfig(schedule="step")
    with pytest.raises(VerifierError, match="steps"):
        PGDConfig(steps=-1)
    with pytest.raises(VerifierError, match="scale_cycle"):
        PGDConfig(scale_cycle=0)


def test_schedules() -> None:
    lin = PGDConfig(steps=4, step=0.1, floor=0.005, schedule="linear")
    assert [lin.rate(t) for t in range(4)] == [0.1 * (1 - t / 4) + 0.005 for t in range(4)]
    cos = PGDConfig(steps=4, step=0.2, floor=0.002, schedule="cosine")
    assert cos.rate(0) == pytest.approx(0.202)
    assert cos.rate(2) == pytest.approx(0.2 * 0.5 + 0.002)
    assert [cos.rate(t) for t in range(4)] == sorted((cos.rate(t) for t in range(4)), reverse=True)


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_iterates_follow_the_documented_update(schedule: str) -> None:
    """x_{t+1} = clip(x_t - rate(t) * 2^-(r mod c) * (hi - lo) * sign(grad), lo, hi),
    bit for bit (bab's trajectories, and so its verdicts and box counts, depend on it)."""
    gen = torch.Generator().manual_seed(3)
    W = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    lo = torch.tensor([-1.0, 0.0, 2.0, -3.0], dtype=torch.float64)
    hi = torch.tensor([1.0, 0.5, 2.5, 3.0], dtype=torch.float64)

    def margin(x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x @ W).sum(dim=1) - 0.3 * x.square().sum(dim=1)

    cfg = PGDConfig(steps=7, step=0.1, floor=0.005, schedule=schedule, scale_cycle=3)
    x0 = lo + (hi - lo) * torch.rand(6, 4, generator=gen, dtype=torch.float64)
    got = descend(margin, x0, lo, hi, cfg).x
    x = x0.clone()
    scale = torch.tensor([0.5 ** (r % 3) for r in range(6)], dtype=torch.float64)[:, None]
    for t in range(7):
        x = x.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(margin(x).sum(), x)
        decay = 0.5 * (1 + math.cos(math.pi * t / 7)) if schedule == "cosine" else 1 - t / 7
        x = torch.minimum(torch.maximum(x.detach() - (0.1 * decay + 0.005) * (scale * (hi - lo))
                                        * g.sign(), lo), hi)
    assert torch.equal(got, x)


def test_restart_scales_set_each_rows_step() -> None:
    x = torch.zeros(6, 2)
    lo, hi = -torch.ones(2), torch.ones(2)
    cfg = PGDConfig(steps=1, step=0.1, floor=0.0, scale_cycle=5)
    out = descend(lambda z: z.sum(dim=1) + 10, x, lo, hi, cfg).x
    expect = torch.tensor([-0.2 * 0.5 ** (r % 5) for r in range(6)])
    assert torch.allclose(out, expect[:, None].expand(6, 2))
    assert restart_scales(3, 1, x).flatten().tolist() == [1.0, 1.0, 1.0]


def test_finds_the_violating_corner_and_stops_early() -> None:
    n = 12
    lo, hi = -torch.ones(n), torch.ones(n)
    seen: list[int] = []

    def check(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor | None:
        seen.append(int((m <= 0).sum()))
        return x[m <= 0][0] if bool((m <= 0).any()) else None

    x0 = box_starts(lo, hi, 4, generator=torch.Generator().manual_seed(0))
    run = descend(sum_margin(11.5), x0, lo, hi, PGDConfig(steps=100, step=0.1), check=check)
    assert run.found is not None and float(run.found.sum()) >= 11.5
    assert run.steps < 100 and seen and seen[-1] > 0  # stopped at the first confirmed hit


def test_check_sees_the_last_iterate_and_may_decline() -> None:
    calls: list[bool] = []

    def check(x: torch.Tensor, m: torch.Tensor) -> None:
        calls.append(bool((m <= 0).any()))
        return None

    lo, hi = torch.zeros(2), torch.ones(2)
    run = descend(sum_margin(5.0), torch.zeros(3, 2), lo, hi, PGDConfig(steps=5), check=check)
    assert run.found is None and run.steps == 5 and calls == [False]  # never violated: once
    calls.clear()
    run = descend(sum_margin(0.0), torch.zeros(3, 2), lo, hi, PGDConfig(steps=5), check=check)
    assert calls == [True] * 6  # declined at every iterate, and shown the last one
    calls.clear()
    no_exit = PGDConfig(steps=5, early_exit=False)
    descend(sum_margin(0.0), torch.zeros(3, 2), lo, hi, no_exit, check=check)
    assert calls == [True]


def test_without_check_the_last_iterate_is_not_evaluated() -> None:
    n_calls = 0

    def margin(x: torch.Tensor) -> torch.Tensor:
        nonlocal n_calls
        n_calls += 1
        return -x.sum(dim=1)

    descend(margin, torch.zeros(2, 3), torch.zeros(3), torch.ones(3), PGDConfig(steps=4))
    assert n_calls == 4


def test_tick_abandons_the_search() -> None:
    class Late(Exception):
        pass

    ticks = 0

    def tick() -> None:
        nonlocal ticks
        ticks += 1
        if ticks > 3:
            raise Late

    with pytest.raises(Late):
        descend(sum_margin(99.0), torch.zeros(2, 2), torch.zeros(2), torch.ones(2),
                PGDConfig(steps=10), check=lambda x, m: None, tick=tick)
    assert ticks == 4


def test_track_best_keeps_each_rows_smallest_margin() -> None:
    """On a margin with its minimum inside the box, large fixed steps overshoot; the best
    iterate is at least as good as the last one and its recorded margin is its real one."""
    target = torch.tensor([0.3, -0.2])

    def margin(x: torch.Tensor) -> torch.Tensor:
        return (x - target).abs().sum(dim=1)

    lo, hi = -torch.ones(2), torch.ones(2)
    x0 = box_starts(lo, hi, 5, generator=torch.Generator().manual_seed(1))
    cfg = PGDConfig(steps=6, step=0.4, floor=0.0, scale_cycle=1, early_exit=False,
                    track_best=True)
    run = descend(margin, x0, lo, hi, cfg)
    assert run.best_x is not None and run.best_margin is not None
    assert torch.allclose(margin(run.best_x), run.best_margin)
    assert bool((run.best_margin <= margin(run.x)).all())
    assert bool((run.best_margin <= margin(x0)).all())


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 5), st.integers(0, 8), st.integers(0, 2**31 - 1))
def test_iterates_stay_in_per_row_boxes(d: int, steps: int, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(4, d, generator=gen, dtype=torch.float64)
    b = torch.randn(4, d, generator=gen, dtype=torch.float64)
    lo, hi = torch.minimum(a, b), torch.maximum(a, b)
    x0 = lo + (hi - lo) * torch.rand(4, d, generator=gen, dtype=torch.float64)
    w = torch.randn(d, generator=gen, dtype=torch.float64)
    boxes_ok: list[bool] = []

    def check(x: torch.Tensor, m: torch.Tensor) -> None:
        boxes_ok.append(bool(((x >= lo) & (x <= hi)).all()))

    run = descend(lambda x: torch.sin(x @ w) + 2, x0, lo, hi,
                  PGDConfig(steps=steps, step=0.7), check=check)
    assert boxes_ok == [True]
    assert bool(((run.x >= lo) & (run.x <= hi)).all())


def test_box_starts() -> None:
    lo = torch.tensor([0.0, -2.0, 1.0], dtype=torch.float64)
    hi = torch.tensor([1.0, 2.0, 1.5], dtype=torch.float64)
    x = box_starts(lo, hi, 5, generator=torch.Generator().manual_seed(0))
    assert x.shape == (1 + 5 + 8, 3) and x.dtype == torch.float64
    assert torch.equal(x[0], (lo + hi) / 2)
    corners = {tuple(r) for r in x[6:].tolist()}
    assert corners == {(a, b, c) for a in (0.0, 1.0) for b in (-2.0, 2.0) for c in (1.0, 1.5)}
    assert bool(((x >= lo) & (x <= hi)).all())
    again = box_starts(lo, hi, 5, generator=torch.Generator().manual_seed(0))
    assert torch.equal(x, again)
    few = box_starts(lo, hi, 5, generator=torch.Generator().manual_seed(0), corners_up_to=2,
                     centre=False)
    assert torch.equal(few, x[1:6])


def test_torch_case_margin_matches_numpy() -> None:
    case = Case(np.zeros(2), np.ones(2), [
        Polytope([[1.0, -1.0, 0.0]], [0.0]),
        Polytope([[0.0, 1.0, -1.0], [0.0, 0.0, 1.0]], [0.5, 2.0]),
    ])
    Y = np.random.default_rng(0).normal(size=(50, 3))
    got = torch_case_margin(case, torch.float64, "cpu")(torch.as_tensor(Y)).numpy()
    np.testing.assert_allclose(got, case_margins(case, Y))
    assert np.array_equal(got <= 0, case.unsafe(Y))


def test_snap_float32_keeps_points_in_the_box() -> None:
    lo = np.array([0.1, -1e-9])
    hi = np.array([0.1 + 1e-7, 1e-9])
    X = snap_float32(np.array([[0.1, 0.0], [0.2, 5.0]]), lo, hi)
    assert np.all(X >= lo) and np.all(X <= hi)
    assert np.array_equal(X, X.astype(np.float32).astype(np.float64))
