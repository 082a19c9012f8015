"""GDVB config loading: schema, validation messages, defaults, constraints over level values."""

from __future__ import annotations

import itertools
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autospec_cli.bench.config import FACTORS, load_gdvb_config, parse_gdvb_config
from autospec_cli.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]

FULL = """
[seed]
network = "builtin:digits-conv"
data = "builtin:digits"
center = 3
radius = 0.05
[factors]
neu = [0.25, 0.5, 0.75, 1.0]
fc = [0, 0.5, 1.0]
conv = [0, 0.5, 1.0]
idm = [0.25, 0.5, 1.0]
ids = [0.5, 1.0]
scl = [0.5, 1.0, 1.5]
trn = [0, 1, 2]
[array]
strength = 3
seed = 4
constraints = ["fc == 0 and conv == 0"]
[training]
seeds = 2
epochs = 7
lr = 1e-3
batch = 32
[verify]
timeout = 12.5
verifiers = ["lirpa", "bab", "attack"]
"""

MINIMAL = '[seed]\nnetwork = "builtin:digits-conv"\ndata = "builtin:digits"\n'


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "gdvb.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_full_config_fields(tmp_path) -> None:
    cfg = load_gdvb_config(write(tmp_path, FULL))
    assert cfg.seed.network == "builtin:digits-conv" and cfg.seed.data == "builtin:digits"
    assert cfg.seed.center == 3 and cfg.seed.radius == 0.05
    assert list(cfg.factors) == list(FACTORS)
    assert cfg.factors["neu"] == (0.25, 0.5, 0.75, 1.0) and cfg.factors["trn"] == (0, 1, 2)
    assert cfg.factors["scl"] == (0.5, 1.0, 1.5)  # > 1 allowed
    assert cfg.strength == 3 and cfg.array_seed == 4
    assert cfg.constraints == ("fc == 0 and conv == 0",)
    assert (cfg.training.seeds, cfg.training.epochs, cfg.training.lr, cfg.training.batch) == (
        2, 7, 1e-3, 32)
    assert cfg.training.input_norm == "feature"  # the default
    assert cfg.verify.timeout == 12.5 and cfg.verify.verifiers == ("lirpa", "bab", "attack")
    assert cfg.source_dir == tmp_path.resolve() and cfg.path == (tmp_path / "gdvb.toml").resolve()
    assert cfg.levels == {"neu": 4, "fc": 3, "conv": 3, "idm": 3, "ids": 2, "scl": 3, "trn": 3}


def test_defaults_for_omitted_factors_and_sections(tmp_path) -> None:
    cfg = load_gdvb_config(write(tmp_path, MINIMAL + "[factors]\nneu = [0.5, 1.0]\n"))
    assert cfg.factors["neu"] == (0.5, 1.0)
    assert all(cfg.factors[f] == (1.0,) for f in ("fc", "conv", "idm", "ids", "scl"))
    assert cfg.factors["trn"] == (0,)
    assert cfg.strength == 2 and cfg.array_seed == 0 and cfg.constraints == ()
    assert cfg.training.seeds >= 1 and cfg.verify.timeout > 0 and cfg.verify.verifiers
    ca = cfg.covering_array()
    assert len(ca) == 2 and [r["neu"] for r in ca.value_records()] in ([0.5, 1.0], [1.0, 0.5])


def test_relative_onnx_path_resolves_against_config_dir(tmp_path) -> None:
    (tmp_path / "nets").mkdir()
    (tmp_path / "nets" / "seed.onnx").write_bytes(b"x")
    text = '[seed]\nnetwork = "nets/seed.onnx"\ndata = "builtin:digits"\n'
    cfg = load_gdvb_config(write(tmp_path, text))
    assert Path(cfg.seed.network) == (tmp_path / "nets" / "seed.onnx").resolve()
    with pytest.raises(ConfigError, match="seed.network.*not found"):
        load_gdvb_config(write(tmp_path, text.replace("seed.onnx", "other.onnx")))
    (tmp_path / "nets" / "seed.txt").write_text("x")
    with pytest.raises(ConfigError, match=r"seed.network: expected a \.onnx"):
        load_gdvb_config(write(tmp_path, text.replace("seed.onnx", "seed.txt")))


def test_shipped_digits_config_loads_and_builds_an_array() -> None:
    cfg = load_gdvb_config(REPO / "configs" / "gdvb-digits.toml")
    assert cfg.seed.network == "builtin:digits-conv" and cfg.strength == 2
    assert cfg.training.seeds == 2 and sum(n > 1 for n in cfg.levels.values()) == 7
    ca = cfg.covering_array(time_budget=None)
    recs = ca.value_records()
    for con in cfg.constraints:  # the shipped constraint is over values fc/conv == 0
        assert con == "fc == 0 and conv == 0"
        assert not any(r["fc"] == 0 and r["conv"] == 0 for r in recs)
    assert ca.stats["uncovered"] == 0


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        ("[other]\n", "config top level: unknown key 'other'"),
        ("[factors]\nneurons = [1.0]\n", "factors: unknown key 'neurons'"),
        ("[array]\nt = 2\n", "array: unknown key 't'"),
        ("[training]\nepoch = 2\n", "training: unknown key 'epoch'"),
        ("[verify]\ntimeout = 0\n", "verify.timeout: expected a number > 0"),
        ("[verify]\nverifiers = ['nope']\n", "verify.verifiers: unknown backend 'nope'"),
        ("[verify]\nverifiers = []\n", "verify.verifiers: expected a non-empty list"),
        ("[verify]\nverifiers = ['bab', 'bab']\n", "names a backend twice"),
        ("[factors]\nneu = [0, 1.0]\n", "factors.neu: level 0 must be > 0"),
        ("[factors]\nfc = [-0.5, 1.0]\n", "factors.fc: level -0.5 must be >= 0"),
        ("[factors]\ntrn = [0.5]\n", "factors.trn: level 0.5 must be an instance index"),
        ("[factors]\nidm = [0.5, 0.5]\n", "factors.idm: levels [0.5, 0.5] repeat"),
        ("[factors]\nids = []\n", "factors.ids: expected a non-empty list"),
        ("[factors]\nids = [true]\n", "factors.ids: level True is not a finite number"),
        ("[factors]\nids = ['1']\n", "factors.ids: level '1' is not a finite number"),
        ("[factors]\nscl = 1.0\n", "factors.scl: expected a non-empty list"),
        ("[array]\nstrength = 0\n", "array.strength: expected an integer from 1 to 7"),
        ("[array]\nstrength = 8\n", "array.strength: expected an integer from 1 to 7"),
        ("[array]\nseed = -1\n", "array.seed: expected an integer >= 0"),
        ("[array]\nconstraints = 'fc == 0'\n", "array.constraints: expected a list"),
        ("[array]\nconstraints = ['fc = 0']\n", "array.constraints: constraint 'fc = 0'"),
        ("[array]\nconstraints = ['depth == 0']\n", "unknown factor 'depth'"),
        ("[array]\nconstraints = ['neu > 0']\n", "exclude every row"),
        ("[training]\nseeds = 0\n", "training.seeds: expected an integer >= 1"),
        ("[training]\nlr = -1.0\n", "training.lr: expected a number > 0"),
        ("[training]\nbatch = 1.5\n", "training.batch: expected an integer >= 1"),
        ("[training]\nepochs = true\n", "training.epochs: expected an integer >= 1"),
        ("[training]\ninput_norm = 'pixel'\n", "training.input_norm: expected one of feature"),
    ],
)
def test_bad_values_name_the_key(tmp_path, edit, fragment) -> None:
    with pytest.raises(ConfigError) as info:
        load_gdvb_config(write(tmp_path, MINIMAL + edit))
    msg = str(info.value)
    assert fragment in msg and "\n" not in msg, msg


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[seed]\ndata = 'builtin:digits'\n", "seed: missing required key 'network'"),
        ("[seed]\nnetwork = 'builtin:x'\n", "seed: missing required key 'data'"),
        ("[factors]\nneu = [1.0]\n", "config top level: missing required key 'seed'"),
        (MINIMAL.replace("builtin:digits-conv", "builtin:"), "not a valid builtin:NAME"),
        (MINIMAL.replace('"builtin:digits"', "3"), "seed.data: expected a string"),
        (MINIMAL + "center = -1\n", "seed.center: expected an integer >= 0"),
        (MINIMAL + "radius = 0\n", "seed.radius: expected a number in (0.0, 1.0]"),
        (MINIMAL + "radius = 1.5\n", "seed.radius: expected a number in (0.0, 1.0]"),
        (MINIMAL + "radius = nan\n", "seed.radius"),
        ("seed = 3\n", "seed: expected a table"),
        ("not toml [", "not valid TOML"),
    ],
)
def test_seed_section_and_file_errors(tmp_path, text, fragment) -> None:
    with pytest.raises(ConfigError) as info:
        load_gdvb_config(write(tmp_path, text))
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_missing_file(tmp_path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_gdvb_config(tmp_path / "absent.toml")


def test_constraints_are_over_level_values_not_indices(tmp_path) -> None:
    # fc index 1 is value 0.5; "fc == 1" means the value 1.0 (index 2), never index 1.
    text = MINIMAL + "[factors]\nfc = [0, 0.5, 1.0]\nconv = [0, 0.5, 1.0]\nneu = [0.5, 1.0]\n"
    text += "[array]\nconstraints = ['fc == 1 and conv == 0', 'neu > 0.7 and fc < 0.6']\n"
    cfg = load_gdvb_config(write(tmp_path, text))
    ca = cfg.covering_array(time_budget=None)
    recs = ca.value_records()
    assert not any(r["fc"] == 1.0 and r["conv"] == 0 for r in recs)
    assert not any(r["neu"] == 1.0 and r["fc"] in (0, 0.5) for r in recs)
    # Rows with fc index 1 (0.5) and conv 0 are allowed and, being required tuples, present.
    assert any(r["fc"] == 0.5 and r["conv"] == 0 for r in recs)
    assert ca.stats["uncovered"] == 0


@st.composite
def value_configs(draw):
    names = draw(st.lists(st.sampled_from(list(FACTORS)[:6]), min_size=2, max_size=5, unique=True))
    grid = [0.25, 0.5, 0.75, 1.0, 1.5]
    factors = {n: sorted(draw(st.sets(st.sampled_from(grid), min_size=1, max_size=4)))
               for n in names}
    a, b = draw(st.sampled_from(names)), draw(st.sampled_from(names))
    ta, tb = draw(st.sampled_from(grid)), draw(st.sampled_from(grid))
    cons = [f"{a} >= {ta} and {b} < {tb}"] if draw(st.booleans()) else []
    return factors, cons, (a, ta, b, tb), draw(st.integers(0, 100))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value_configs())
def test_random_configs_cover_all_allowed_value_pairs(problem) -> None:
    factors, cons, (a, ta, b, tb), seed = problem
    doc = {"seed": {"network": "builtin:n", "data": "builtin:digits"},
           "factors": factors, "array": {"constraints": cons, "seed": seed}}

    def excluded(row: dict) -> bool:
        return bool(cons) and row[a] >= ta and row[b] < tb

    full = {n: factors.get(n, [FACTORS[n]]) for n in FACTORS}
    valid = [dict(zip(full, vals, strict=True)) for vals in itertools.product(*full.values())]
    valid = [r for r in valid if not excluded(r)]
    if not valid:
        with pytest.raises(ConfigError, match="exclude every row"):
            parse_gdvb_config(doc, ".")
        return
    cfg = parse_gdvb_config(doc, ".")
    recs = cfg.covering_array(time_budget=None).value_records()
    assert not any(excluded(r) for r in recs)
    for x, y in itertools.combinations(full, 2):
        need = {(r[x], r[y]) for r in valid}
        assert need <= {(r[x], r[y]) for r in recs}


def _shipped(tmp_path: Path, name: str, seed_under_bench_out: str
             ) -> tuple[dict, Path, Path, Path]:
    """configs/NAME.toml as a document, read from a stand-in repository under ``tmp_path``
    whose seed (under bench-out/) and shared MNIST t10k file exist (empty): ``(doc, configs
    folder, seed, data)``."""
    from autospec_cli.bench.config import tomllib

    doc = tomllib.loads((REPO / "configs" / f"{name}.toml").read_text())
    configs = tmp_path / "repo" / "configs"
    configs.mkdir(parents=True)
    seed = tmp_path / "repo" / "bench-out" / seed_under_bench_out
    data = tmp_path / "shared" / "data" / "mnist" / "t10k-images.idx3-ubyte.gz"
    for f in (seed, data):
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(b"")
    return doc, configs, seed, data


def test_shipped_mnist_config_points_at_the_trained_seed_and_the_t10k_file(tmp_path) -> None:
    """configs/gdvb-mnist.toml: seed from `autospec train` under bench-out/, distillation data
    from the shared MNIST t10k file (both relative to the config); it builds its array."""
    doc, configs, seed, data = _shipped(tmp_path, "gdvb-mnist", "gdvb-mnist/mnist-conv.onnx")
    cfg = parse_gdvb_config(doc, configs)
    assert Path(cfg.seed.network).resolve() == seed.resolve()
    assert Path(cfg.seed.data).resolve() == data.resolve()
    assert {"bab", "marabou", "portfolio", "lirpa", "attack"} <= set(cfg.verify.verifiers)
    assert cfg.covering_array(time_budget=None).stats["uncovered"] == 0
    seed.unlink()
    with pytest.raises(ConfigError, match="seed.network.*not found"):
        parse_gdvb_config(doc, configs)


def test_shipped_mnist_mlp_config_distils_with_global_input_statistics(tmp_path) -> None:
    """configs/gdvb-mnist-mlp.toml: an MLP seed (no conv factor), students trained with one
    global input standardisation, and its training jobs carry that choice."""
    from autospec_cli.bench.generate import training_jobs

    doc, configs, seed, _ = _shipped(tmp_path, "gdvb-mnist-mlp", "gdvb-mnist-mlp/mnist-mlp.onnx")
    cfg = parse_gdvb_config(doc, configs)
    assert cfg.training.input_norm == "global" and cfg.factors["conv"] == (1.0,)
    assert {"bab", "marabou", "portfolio"} <= set(cfg.verify.verifiers)

    spec = SimpleNamespace(to_dict=dict)
    plan = SimpleNamespace(seed_spec=SimpleNamespace(input_shape=(1, 28, 28)),
                           networks={"n0": SimpleNamespace(spec=spec, levels={"ids": 1.0})})
    jobs = training_jobs(cfg, plan, tmp_path / "out", seed)
    assert len(jobs) == cfg.training.seeds
    assert all(j.params["input_norm"] == "global" for j in jobs)
    default = parse_gdvb_config({**doc, "training": {"seeds": 1}}, configs)
    assert "input_norm" not in training_jobs(default, plan, tmp_path / "out", seed)[0].params
