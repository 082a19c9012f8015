"""Robustness verification pieces: the property of an image, unstable ReLUs, and verdicts of a
known model through the backends and the verification run's job kinds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from autospec_cli.models.arch import ConvNet
from autospec_cli.study.verify import (
    NOT_ROBUST,
    ROBUST,
    UNKNOWN,
    image_property,
    property_box,
    study_verdict,
    unstable_relus,
)
from autospec_cli.verify.base import Instance, Verdict


def test_spec_rows_of_the_robustness_property() -> None:
    """The unsafe region of label 2 among 4 classes: one row ``y_2 - y_j <= 0`` per j != 2."""
    prop = image_property(np.full(3, 0.5), 0.1, 2, 4)
    C = np.vstack([p.A for p in prop.cases[0].disjuncts])
    assert C.shape == (3, 4) and all(np.all(p.b == 0) for p in prop.cases[0].disjuncts)
    y = np.array([0.1, 0.2, 0.9, 0.3])
    assert np.allclose(C @ y, [0.8, 0.7, 0.6])
    C0 = np.vstack([p.A for p in image_property(np.full(3, 0.5), 0.1, 0, 4).cases[0].disjuncts])
    assert np.all(C0[:, 0] == 1) and np.all(C0.sum(axis=1) == 0)


def test_boxes_clip_to_domain(tmp_path: Path) -> None:
    from autospec_cli.vnnlib.writer import write_vnnlib

    prop = image_property(np.array([0.0, 0.5, 1.0]), 0.1, 0, 2)
    lo, hi = prop.cases[0].lo, prop.cases[0].hi
    assert np.allclose(lo, [0.0, 0.4, 0.9]) and np.allclose(hi, [0.1, 0.6, 1.0])
    write_vnnlib(tmp_path / "p.vnnlib", prop)
    flo, fhi = property_box(tmp_path / "p.vnnlib")  # what the measurement reads back
    assert np.array_equal(flo, lo) and np.array_equal(fhi, hi)


def test_study_verdict_words() -> None:
    assert [study_verdict(v) for v in Verdict] == [NOT_ROBUST, ROBUST, UNKNOWN, UNKNOWN, UNKNOWN]


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
    lo, hi = np.clip(X - 0.05, 0, 1), np.clip(X + 0.05, 0, 1)
    got = unstable_relus(net, lo, hi, "CROWN")
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
    assert list(unstable_relus(net, lo, hi, "alpha-CROWN")) == list(want)


def _threshold_net() -> nn.Module:
    """y0 - y1 = x0 - 0.5: class 0 iff x0 > 0.5."""
    net = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
        net[0].bias.zero_()
        net[2].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 0.0]]))
        net[2].bias.copy_(torch.tensor([-0.5, 0.0]))
    return net.eval()


@pytest.fixture(scope="module")
def threshold_bench(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Instance]]:
    """The threshold net as ONNX and the properties of two points at eps = 0.05."""
    from autospec_cli.models.onnx_export import export_onnx
    from autospec_cli.vnnlib.writer import write_vnnlib

    d = tmp_path_factory.mktemp("threshold")
    export_onnx(_threshold_net(), (2,), d / "net.onnx", force=True)
    insts = []
    for k, x in enumerate(([0.52, 0.3], [0.9, 0.3])):
        write_vnnlib(d / f"p{k}.vnnlib", image_property(np.array(x), 0.05, 0, 2))
        insts.append(Instance(d / "net.onnx", d / f"p{k}.vnnlib", 10.0))
    return d, insts


def test_attack_finds_the_boundary_and_robust_points_stay_robust(threshold_bench) -> None:
    """Through the study's default backend, as verification jobs in a campaign store."""
    from autospec_cli.campaign.engine import run_campaign
    from autospec_cli.campaign.executors import make_executor
    from autospec_cli.campaign.store import CampaignStore
    from autospec_cli.study.config import DEFAULT_BACKEND, DEFAULT_OPTIONS
    from autospec_cli.verifyrun.jobs import collect, describe_instances, make_jobs

    d, insts = threshold_bench
    jobs = make_jobs(DEFAULT_BACKEND, DEFAULT_OPTIONS, describe_instances(insts, d))
    run_campaign(d / "run", [j for j, _ in jobs], make_executor("inline"))
    with CampaignStore(d / "run", create=False, writable=False) as store:
        res = collect(store, jobs, len(insts))
    assert [study_verdict(r) for r in res] == [NOT_ROBUST, ROBUST]
    cex = res[0].counterexample
    assert cex is not None and abs(cex.x[0] - 0.52) <= 0.05 + 1e-7 and cex.x[0] <= 0.5
    assert res[1].counterexample is None and res[1].extra["margin"] > 0
    assert all(r.time > 0 for r in res)


def test_attack_returns_none_when_no_counterexample(threshold_bench) -> None:
    from autospec_cli.verify.registry import make_backend
    from autospec_cli.verify.runner import run_one

    _, insts = threshold_bench
    attack = make_backend("attack", samples=16, restarts=4, steps=10)
    res = attack.verify_instance(insts[1])
    assert res.verdict is Verdict.UNKNOWN and res.counterexample is None
    assert run_one("attack", {"samples": 16}, insts[0]).verdict is Verdict.SAT
