"""Robustness verification pieces: spec matrix, boxes, unstable ReLUs, attack + confirmation."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from autospec_cli.models.arch import ConvNet
from autospec_cli.study.verify import (
    NOT_ROBUST,
    ROBUST,
    AttackConfig,
    attack,
    boxes,
    spec_matrix,
    unstable_relus,
    verify_images,
)


def test_spec_matrix_rows() -> None:
    C = spec_matrix([2, 0], 4)
    assert C.shape == (2, 3, 4)
    y = np.array([0.1, 0.2, 0.9, 0.3])
    assert np.allclose(C[0] @ y, [0.8, 0.7, 0.6])
    assert np.all(C[1][:, 0] == 1) and np.all(C[1].sum(axis=1) == 0)


def test_boxes_clip_to_domain() -> None:
    lo, hi = boxes(np.array([[0.0, 0.5, 1.0]]), 0.1)
    assert np.allclose(lo, [[0.0, 0.4, 0.9]]) and np.allclose(hi, [[0.1, 0.6, 1.0]])


def _net(seed: int = 0) -> ConvNet:
    torch.manual_seed(seed)
    net = ConvNet((1, 6, 6), filters=2, n_classes=3).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def test_unstable_relus_match_exact_intervals() -> None:
    """One conv layer before the ReLU: the interval of its pre-activation is exact, so the
    count must equal a direct interval computation."""
    net = _net()
    rng = np.random.default_rng(0)
    X = rng.random((5, 36))
    lo, hi = boxes(X, 0.05)
    from autospec_cli.models.lirpa_compat import compute_bounds

    compute_bounds(net, lo, hi, spec_matrix([0] * 5, 3), "CROWN")
    got = unstable_relus(net, 36)
    conv = net.folded()[0]
    W, b = conv.weight.detach().numpy(), conv.bias.detach().numpy()
    mid, rad = (lo + hi) / 2, (hi - lo) / 2
    tm = nn.functional.conv2d(torch.tensor(mid.reshape(5, 1, 6, 6)), torch.tensor(W).double(),
                              torch.tensor(b).double()).numpy()
    tr = nn.functional.conv2d(torch.tensor(rad.reshape(5, 1, 6, 6)),
                              torch.tensor(np.abs(W)).double()).numpy()
    want = ((tm - tr < 0) & (tm + tr > 0)).reshape(5, -1).sum(axis=1)
    assert got is not None and list(got) == list(want)
    assert want.sum() > 0


class _Runner:
    """onnxruntime stand-in with the ModelRunner protocol (sizes + batched run)."""

    def __init__(self, net: nn.Module) -> None:
        self.net, self.n_inputs, self.n_outputs = net, 2, 2

    def run(self, X: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self.net(torch.as_tensor(np.asarray(X, dtype=np.float32))).double().numpy()


def _threshold_net() -> nn.Module:
    """y0 - y1 = x0 - 0.5: class 0 iff x0 > 0.5."""
    net = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
        net[0].bias.zero_()
        net[2].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 0.0]]))
        net[2].bias.copy_(torch.tensor([-0.5, 0.0]))
    return net.eval()


def test_attack_finds_the_boundary_and_robust_points_stay_robust() -> None:
    net = _threshold_net()
    X = np.array([[0.52, 0.3], [0.9, 0.3]])
    res = verify_images(net, _Runner(net), X, [0, 0], [7, 8], eps=0.05,
                        attack_cfg=AttackConfig(samples=8, restarts=2, steps=5))
    assert [r.verdict for r in res] == [NOT_ROBUST, ROBUST]
    cex = res[0].cex
    assert cex is not None and abs(cex[0] - 0.52) <= 0.05 + 1e-7 and cex[0] <= 0.5
    assert res[1].cex is None and res[1].margin > 0
    assert all(r.time > 0 for r in res)


def test_attack_returns_none_when_no_counterexample() -> None:
    net = _threshold_net()
    lo, hi = boxes(np.array([[0.9, 0.5]]), 0.1)
    assert attack(net, lo, hi, [0], AttackConfig(samples=16, restarts=4, steps=10)) == [None]
