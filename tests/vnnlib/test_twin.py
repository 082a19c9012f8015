"""Twin networks of monotonicity specs: export, bab's verdicts, replay on the original model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from autospec_cli.specs.model import Spec, SpecSet
from autospec_cli.verify.loading import onnx_runner
from autospec_cli.verify.monotonic import replay_in_benchmark, replay_pair
from autospec_cli.vnnlib.benchmark import read_benchmark
from autospec_cli.vnnlib.benchmark_export import export_specset
from autospec_cli.vnnlib.twin import build_twin, mlp_layers, pair_of


def mlp_onnx(path: Path, n_in: int, hidden: tuple[int, ...], *, negative: bool,
             seed: int = 0) -> Path:
    """A ReLU MLP with non-negative weights (monotone non-decreasing by construction), or the
    same with the first layer's weights of input 1 negated (not monotone)."""
    import torch
    from torch import nn

    from autospec_cli.models.onnx_export import export_onnx

    torch.manual_seed(seed)
    sizes = (n_in, *hidden, 1)
    mods: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        mods += [nn.Linear(a, b), nn.ReLU()]
    net = nn.Sequential(*mods[:-1])
    with torch.no_grad():
        for m in net:
            if isinstance(m, nn.Linear):
                m.weight.abs_()
        if negative:
            net[0].weight[:, 1] *= -3
    return export_onnx(net, (n_in,), path)


def graph_onnx(path: Path) -> Path:
    """A model that is not an MLP chain (a Tanh): the twin copies its graph."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    W = np.array([[1.0, 2.0], [0.5, -1.0]], np.float32)
    g = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["h"]), helper.make_node("Tanh", ["h"], ["t"]),
         helper.make_node("ReduceSum", ["t", "axes"], ["y"], keepdims=1)],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1])],
        [numpy_helper.from_array(W, "W"), numpy_helper.from_array(np.array([1], np.int64), "axes")])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def monotone_specs(boxes: list[tuple[list[float], list[float]]],
                   direction: str = "increasing") -> SpecSet:
    d = len(boxes[0][0])
    return SpecSet(task="regression", features=[f"f{i}" for i in range(d)],
                   algorithm="monotonic",
                   specs=[Spec(id=f"m-{k}", lo=np.array(lo), hi=np.array(hi), support=10,
                               kind="monotonic", direction=direction)
                          for k, (lo, hi) in enumerate(boxes)])


@pytest.mark.parametrize("kind", ["mlp", "graph"])
@pytest.mark.parametrize("direction", ["increasing", "decreasing"])
def test_twin_agrees_with_two_runs_of_the_original(tmp_path: Path, kind: str,
                                                   direction: str) -> None:
    model = (mlp_onnx(tmp_path / "m.onnx", 3, (5, 4), negative=True) if kind == "mlp"
             else graph_onnx(tmp_path / "m.onnx"))
    n = 3 if kind == "mlp" else 2
    lo, hi = -np.ones(n), np.linspace(0.5, 2, n)
    twin = build_twin(model, lo, hi, direction, tmp_path / "t.onnx")
    import onnx

    assert (mlp_layers(onnx.load(str(model))) is not None) == (kind == "mlp")
    f, g = onnx_runner(model), onnx_runner(twin)
    rng = np.random.default_rng(0)
    Z = np.hstack([rng.uniform(lo, hi, (64, n)), rng.uniform(0, hi - lo, (64, n))])
    for z in Z.astype(np.float32):
        x, xp = pair_of(z, hi)
        assert np.all(x <= xp) and np.all(xp <= hi)
        fx, fxp = (float(v) for v in f.run(np.stack([x, xp]).astype(np.float32)).reshape(-1))
        want = fxp - fx if direction == "increasing" else fx - fxp
        assert float(g.run(z.reshape(1, -1)).reshape(-1)[0]) == pytest.approx(want, abs=1e-5)


def test_export_writes_twins_properties_and_the_original(tmp_path: Path) -> None:
    model = mlp_onnx(tmp_path / "m.onnx", 2, (4,), negative=False)
    specs = monotone_specs([([0, 0], [1, 1]), ([1, 0], [2, 0.5])])
    export_specset(specs, model, tmp_path / "b")
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["monotonic"]["original_model"] == "onnx/m.onnx"
    assert (tmp_path / "b" / "onnx" / "m.onnx").is_file()
    insts = read_benchmark(tmp_path / "b")
    assert len(insts) == 2 and all(i.onnx.name.endswith(".twin.onnx") for i in insts)
    text = insts[1].vnnlib.read_text()
    assert "(declare-const X_3 Real)" in text and "(assert (<= X_3 0.5))" in text
    assert "(<= Y_0 -0.001)" in text


def _verify(bench: Path) -> list:
    from autospec_cli.verify.backends.bab.backend import BabVerifier

    bab = BabVerifier(split="relu")
    return [bab.verify_instance(i) for i in read_benchmark(bench)]


def test_bab_proves_a_monotone_network_on_every_box(tmp_path: Path) -> None:
    model = mlp_onnx(tmp_path / "m.onnx", 2, (4,), negative=False)
    export_specset(monotone_specs([([0, 0], [1, 1]), ([-1, 0.5], [0, 2])]), model,
                   tmp_path / "b")
    assert [r.verdict.value for r in _verify(tmp_path / "b")] == ["unsat", "unsat"]


def test_bab_finds_a_violating_pair_replayed_on_the_original(tmp_path: Path) -> None:
    model = mlp_onnx(tmp_path / "m.onnx", 2, (4,), negative=True)
    export_specset(monotone_specs([([0, 0], [1, 1])]), model, tmp_path / "b")
    (result,) = _verify(tmp_path / "b")
    assert result.verdict.value == "sat"
    z = result.counterexample.x
    check = replay_in_benchmark(tmp_path / "b", "vnnlib/m-0.vnnlib", z)
    assert check is not None and check.ok, check
    assert np.all(check.x <= check.x_prime) and check.f_x_prime < check.f_x
    # the same pair is no violation of "non-increasing"; a monotone model has none
    assert not replay_pair(model, z, [0, 0], [1, 1], "decreasing").ok
    good = mlp_onnx(tmp_path / "g.onnx", 2, (4,), negative=False)
    assert not replay_pair(good, z, [0, 0], [1, 1], "increasing").ok


@pytest.mark.slow
def test_cli_round_trip_generate_export_verify(cli_runner, tmp_path: Path) -> None:
    from autospec_cli.data.dataset import Dataset

    rng = np.random.default_rng(0)
    X = rng.random((200, 2))
    data = Dataset(X=X, y=X.sum(axis=1) + rng.normal(0, 1e-3, 200), task="regression",
                   name="up", features=["a", "b"]).save_npz(tmp_path / "d.npz")
    specs = tmp_path / "S.json"
    code, out, err = cli_runner("specs", "generate", str(data), "--algo", "monotonic",
                                "--opt", "max_depth=1", "-o", str(specs))
    assert code == 0, err
    assert SpecSet.load(specs).is_monotonic and len(SpecSet.load(specs)) == 2
    code, out, err = cli_runner("--json", "specs", "evaluate", str(specs), str(data))
    assert code == 0, err
    assert json.loads(out)["agreement"] > 0.95
    verdicts = {}
    for name, negative in (("good", False), ("bad", True)):
        model = mlp_onnx(tmp_path / f"{name}.onnx", 2, (4,), negative=negative)
        bench = tmp_path / name
        code, out, err = cli_runner("export", str(specs), "--model", str(model), "-o", str(bench))
        assert code == 0, err
        code, out, err = cli_runner("--json", "verify", str(bench), "--backend", "bab",
                                    "--timeout", "60")
        doc = json.loads(out)
        verdicts[name] = (code, [r["result"] for r in doc["results"]],
                          [r.get("pair") for r in doc["results"]])
    assert verdicts["good"][:2] == (0, ["unsat", "unsat"])
    code, results, pairs = verdicts["bad"]
    assert code == 1 and "sat" in results
    for r, pair in zip(results, pairs, strict=True):
        assert (pair is not None) == (r == "sat")
        if pair is not None:
            assert pair["confirmed"] and pair["f_x_prime"] < pair["f_x"]
            assert np.all(np.array(pair["x"]) <= np.array(pair["x_prime"]))


def test_export_writes_the_vnnlib2_pair_queries(tmp_path: Path) -> None:
    """BENCH/2.0: the network declared twice, over the original model, same boxes."""
    from autospec_cli.vnnlib.product import prepare

    model = mlp_onnx(tmp_path / "m.onnx", 2, (4,), negative=False)
    export_specset(monotone_specs([([0, 0], [1, 1]), ([1, 0], [2, 0.5])], "decreasing"), model,
                   tmp_path / "b")
    insts = read_benchmark(tmp_path / "b" / "2.0")
    assert [i.onnx.name for i in insts] == ["m.onnx", "m.onnx"]
    text = insts[1].vnnlib.read_text()
    assert "(equal-to f)" in text and "(assert (<= X[1] X2[1]))" in text
    assert "(assert (<= X2[1] 0.5))" in text and "(assert (>= Y2[0] (+ Y[0] 0.001)))" in text
    manifest = json.loads((tmp_path / "b" / "2.0" / "manifest.json").read_text())
    assert manifest["monotonic"]["form"] == "pair" and manifest["vnnlib_version"] == "2.0"
    prep = prepare(text, {"f": insts[1].onnx}, where=tmp_path / "prod")
    assert prep.reparam is not None and prep.reparam.pairs == [(0, 2), (1, 3)]


def _verify_v2(bench: Path) -> list:
    from autospec_cli.verify.backends.bab.backend import BabVerifier
    from autospec_cli.verify.runner import run_instances

    return run_instances(BabVerifier(), read_benchmark(bench / "2.0"))


def test_vnnlib2_form_proves_a_monotone_network(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("AUTOSPEC_CACHE", str(tmp_path / "cache"))
    model = mlp_onnx(tmp_path / "m.onnx", 2, (4,), negative=False)
    export_specset(monotone_specs([([0, 0], [1, 1]), ([-1, 0.5], [0, 2])]), model,
                   tmp_path / "b")
    assert [r.verdict.value for r in _verify_v2(tmp_path / "b")] == ["unsat", "unsat"]


def test_vnnlib2_form_finds_the_violating_pair(tmp_path: Path, monkeypatch) -> None:
    """Same verdict as the twin (1.0) form; the witness is the pair (x, x') itself."""
    monkeypatch.setenv("AUTOSPEC_CACHE", str(tmp_path / "cache"))
    model = mlp_onnx(tmp_path / "m.onnx", 2, (4,), negative=True)
    export_specset(monotone_specs([([0, 0], [1, 1])]), model, tmp_path / "b")
    assert [r.verdict.value for r in _verify(tmp_path / "b")] == ["sat"]
    (result,) = _verify_v2(tmp_path / "b")
    assert result.verdict.value == "sat" and result.extra.get("replayed")
    pair = result.counterexample.x
    check = replay_in_benchmark(tmp_path / "b" / "2.0", "vnnlib/m-0.vnnlib", pair)
    assert check is not None and check.ok, check
    assert np.array_equal(check.x, pair[:2]) and np.array_equal(check.x_prime, pair[2:])
    runner = onnx_runner(model)
    fx, fxp = runner.run(np.stack([pair[:2], pair[2:]])).reshape(-1)
    assert np.all(pair[:2] <= pair[2:]) and fxp <= fx - 1e-3


@pytest.mark.slow
def test_cli_vnnlib2_round_trip(cli_runner, tmp_path: Path, monkeypatch) -> None:
    """`autospec verify BENCH/2.0 --backend bab`: exit 0 on the monotone model, 1 with a
    confirmed pair on the other -- the verdicts of `autospec verify BENCH` (the twin form)."""
    monkeypatch.setenv("AUTOSPEC_CACHE", str(tmp_path / "cache"))
    specs = monotone_specs([([0, 0], [1, 1])]).save(tmp_path / "S.json")
    for name, negative, want in (("good", False, (0, ["unsat"])), ("bad", True, (1, ["sat"]))):
        model = mlp_onnx(tmp_path / f"{name}.onnx", 2, (4,), negative=negative)
        bench = tmp_path / name
        code, out, err = cli_runner("export", str(specs), "--model", str(model), "-o",
                                    str(bench))
        assert code == 0, err
        for folder in (bench, bench / "2.0"):
            code, out, err = cli_runner("--json", "verify", str(folder), "--backend", "bab",
                                        "--timeout", "60")
            doc = json.loads(out)
            assert (code, [r["result"] for r in doc["results"]]) == want, (folder, err)
            if negative:
                pair = doc["results"][0]["pair"]
                assert pair["confirmed"] and pair["f_x_prime"] < pair["f_x"]


def test_cli_export_refuses_vnnlib2_for_monotonic_specs(cli_runner, tmp_path: Path) -> None:
    model = mlp_onnx(tmp_path / "m.onnx", 2, (4,), negative=False)
    specs = monotone_specs([([0, 0], [1, 1])]).save(tmp_path / "S.json")
    code, out, err = cli_runner("export", str(specs), "--model", str(model), "-o",
                                str(tmp_path / "b"), "--vnnlib-version", "2")
    assert code == 2 and err.strip().startswith("error: ") and "VNN-LIB 1.0" in err
    assert err.strip().count("\n") == 0
    assert not (tmp_path / "b").exists()


def test_large_outputs_stay_decidable(tmp_path: Path) -> None:
    """Throughput-scale values (inputs ~1e5, outputs ~1e7) in float32: the twin's output is in
    units of the output scale, so it converts (onnxruntime agrees with the converted model)
    and the monotone network is proved."""
    import onnx
    from onnx import numpy_helper

    path = mlp_onnx(tmp_path / "up.onnx", 2, (4,), negative=False)
    m = onnx.load(str(path))
    for init in m.graph.initializer:  # the last layer's weights scaled by 1e2
        if init.name.startswith("2."):
            init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) * 1e2, init.name))
    onnx.save(m, str(path))
    export_specset(monotone_specs([([1e5, 2e5], [3e5, 4e5])]), path, tmp_path / "b")
    meta = json.loads((tmp_path / "b" / "manifest.json").read_text())["instances"][0]["meta"]
    assert meta["scale"] > 1e6
    assert meta["tolerated_drop"] == pytest.approx(1e-3 * meta["scale"])
    (result,) = _verify(tmp_path / "b")
    assert result.verdict.value == "unsat", result.message
