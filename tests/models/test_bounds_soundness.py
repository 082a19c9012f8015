"""auto_LiRPA bounds (IBP, CROWN, alpha-CROWN) are sound: they contain every sampled output.

Random small MLPs and a small ConvNet, random boxes; 10^5 points per example (box corners,
points on the faces and uniform points), evaluated in float64. Also the C-matrix form and the
ReLU pre-activation bounds behind ``unstable_relus``.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autospec_cli.models import lirpa_compat as lc
from autospec_cli.models.arch import MLP, ConvNet
from autospec_cli.verify.backends.lirpa import relu_stability, unstable_relus

N_POINTS = 100_000
METHODS = ["IBP", "CROWN", "alpha-CROWN"]
SETTINGS = settings(max_examples=3, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


def random_mlp(rng: np.random.Generator) -> MLP:
    depth = int(rng.integers(1, 4))
    hidden = [int(h) for h in rng.integers(2, 12, size=depth)]
    n_in, n_out = int(rng.integers(1, 7)), int(rng.integers(1, 4))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(rng.integers(1 << 30)))
        model = MLP(n_in, hidden, n_out, activation=str(rng.choice(["relu", "relu", "tanh"])))
    model.set_input_stats(rng.normal(0, 2, (50, n_in)))
    model.set_output_stats(rng.normal(0, 3, n_out), rng.uniform(0.5, 4, n_out))
    return model.eval()


def random_convnet(rng: np.random.Generator) -> ConvNet:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(rng.integers(1 << 30)))
        model = ConvNet((1, 6, 6), convs=[2], fcs=[6], n_classes=3, kernel=3, pool=2)
    bn = model.features[1]
    bn.running_mean.copy_(torch.as_tensor(rng.normal(0, 0.5, 2)))
    bn.running_var.copy_(torch.as_tensor(rng.uniform(0.5, 2, 2)))
    model.set_input_stats(rng.random((20, 36)))
    return model.eval()


def random_boxes(rng: np.random.Generator, n_in: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    centre = rng.normal(0, 1.5, (k, n_in))
    radius = rng.uniform(0.0, 1.0, (k, n_in)) * rng.choice([0.05, 0.5, 2.0], size=(k, 1))
    return centre - radius, centre + radius


def sample_box(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray, n: int) -> np.ndarray:
    """``n`` points: all corners (or random ones past 10 inputs), face points, uniform points."""
    d = lo.size
    if d <= 10:
        bits = (np.arange(2**d)[:, None] >> np.arange(d)[None, :]) & 1
    else:
        bits = rng.integers(0, 2, (n // 10, d))
    corners = np.where(bits == 1, hi, lo)
    faces = lo + (hi - lo) * rng.random((n // 4, d))
    pick = rng.random(faces.shape) < 0.5
    faces = np.where(pick, np.where(rng.random(faces.shape) < 0.5, lo, hi), faces)
    uniform = lo + (hi - lo) * rng.random((max(0, n - len(corners) - len(faces)), d))
    return np.vstack([corners, faces, uniform])[:n]


def outputs64(m64: torch.nn.Module, X: np.ndarray) -> np.ndarray:
    """Outputs of a float64 copy of the model (take the copy before bounding)."""
    with torch.no_grad():
        return m64(torch.as_tensor(X, dtype=torch.float64)).reshape(len(X), -1).numpy()


def check_sound(model: torch.nn.Module, n_in: int, method: str, rng: np.random.Generator,
                with_c: bool) -> None:
    k = 4
    lo, hi = random_boxes(rng, n_in, k)
    m64 = copy.deepcopy(model).double().eval()
    n_out = outputs64(m64, lo[:1]).shape[1]
    C = rng.normal(0, 1, (k, 2, n_out)) if with_c else None
    lb, ub = lc.compute_bounds(model, lo, hi, C=C, method=method, alpha_iterations=3)
    assert np.all(np.isfinite(lb)) and np.all(np.isfinite(ub))
    assert np.all(lb <= ub + 1e-6)
    for i in range(k):
        Y = outputs64(m64, sample_box(rng, lo[i], hi[i], N_POINTS // k))
        if with_c:
            Y = Y @ C[i].T
        tol = 1e-5 * (1.0 + np.abs(Y).max())
        assert np.all(Y >= lb[i] - tol), \
            f"{method}: a sampled output is below the lower bound by {np.max(lb[i] - Y):.3g}"
        assert np.all(Y <= ub[i] + tol), \
            f"{method}: a sampled output is above the upper bound by {np.max(Y - ub[i]):.3g}"


@pytest.mark.parametrize("method", METHODS)
@SETTINGS
@given(seed=st.integers(0, 2**31 - 1), with_c=st.booleans())
def test_mlp_bounds_contain_sampled_outputs(method: str, seed: int, with_c: bool) -> None:
    rng = np.random.default_rng(seed)
    model = random_mlp(rng)
    check_sound(model, model.input_shape[0], method, rng, with_c)


@pytest.mark.parametrize("method", METHODS)
def test_convnet_bounds_contain_sampled_outputs(method: str) -> None:
    rng = np.random.default_rng(7)
    check_sound(random_convnet(rng), 36, method, rng, with_c=method == "CROWN")


def test_crown_is_tighter_than_ibp_on_average() -> None:
    """Not a soundness property, but the reason to use CROWN: its output ranges are narrower."""
    rng = np.random.default_rng(3)
    model = MLP(4, [20, 20], 2)
    lo, hi = random_boxes(rng, 4, 16)
    li, ui = lc.compute_bounds(model, lo, hi, method="IBP")
    lcr, ucr = lc.compute_bounds(model, lo, hi, method="CROWN")
    assert np.mean(ucr - lcr) < np.mean(ui - li)


def preactivations(model: MLP, X: np.ndarray) -> list[np.ndarray]:
    """Float64 inputs of every ReLU of the folded network."""
    net = model.folded().double()
    h = torch.as_tensor(X, dtype=torch.float64)
    out = []
    with torch.no_grad():
        for layer in net:
            if isinstance(layer, torch.nn.ReLU):
                out.append(h.numpy().copy())
            h = layer(h)
    return out


@pytest.mark.parametrize("method", ["ibp", "crown"])
def test_unstable_relus_are_sound(method: str) -> None:
    rng = np.random.default_rng(11)
    torch.manual_seed(11)
    model = MLP(3, [12, 8], 2)
    model.set_input_stats(rng.normal(0, 1, (30, 3)))
    lo, hi = random_boxes(rng, 3, 3)
    bounds = lc.relu_preactivation_bounds(model, lo, hi, method)
    stats = relu_stability(model, lo, hi, method)
    assert stats.total == 20 and len(bounds) == 2
    assert np.all(stats.unstable + stats.active + stats.inactive == stats.total)
    np.testing.assert_array_equal(unstable_relus(model, lo, hi, method), stats.unstable)
    seen_both = np.zeros(len(lo), dtype=int)
    for i in range(len(lo)):
        pre = preactivations(model, sample_box(rng, lo[i], hi[i], 20_000))
        for (lower, upper), z in zip(bounds, pre, strict=True):
            assert np.all(z >= lower[i] - 1e-5) and np.all(z <= upper[i] + 1e-5)
            seen_both[i] += int(((z.min(axis=0) < 0) & (z.max(axis=0) > 0)).sum())
    assert np.all(seen_both <= stats.unstable)
    assert stats.unstable.sum() > 0  # the boxes are wide enough to make some units unstable
