"""Job identity (stable content hashes) and the job-kind registry."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autospec_cli.campaign import jobs as jobs_mod
from autospec_cli.campaign.jobs import (
    JobSpec,
    canonical_json,
    job_kind,
    load_target,
    register_job_kind,
    resolve_kind,
    target_of,
)
from autospec_cli.errors import ConfigError

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=4),
    max_leaves=12,
)
params = st.dictionaries(st.text(max_size=6), json_values, max_size=6)


def module_level_job(params: dict) -> dict:
    return {"ok": True}


def test_id_is_a_fixed_sha256_of_kind_and_canonical_params() -> None:
    # A pinned value: a change here silently orphans every stored campaign.
    spec = JobSpec("probe.echo", {"value": 3, "a": [1, 2]})
    assert spec.id == JobSpec("probe.echo", {"a": [1, 2], "value": 3}).id
    assert spec.params_json == '{"a":[1,2],"value":3}'
    import hashlib

    key = '{"inputs":null,"kind":"probe.echo","params":{"a":[1,2],"value":3}}'
    assert spec.id == hashlib.sha256(key.encode()).hexdigest()


@given(params)
def test_id_ignores_key_order_and_survives_a_json_round_trip(p: dict) -> None:
    a = JobSpec("k", p)
    b = JobSpec("k", dict(reversed(list(p.items()))))
    assert a.id == b.id and a == b and hash(a) == hash(b)
    assert JobSpec("k", a.params).id == a.id


@given(params, params)
def test_different_params_give_different_ids(p: dict, q: dict) -> None:
    if canonical_json(p) != canonical_json(q):
        assert JobSpec("k", p).id != JobSpec("k", q).id


def test_kind_inputs_and_number_types_are_part_of_the_id() -> None:
    base = JobSpec("a", {"x": 1})
    assert JobSpec("b", {"x": 1}).id != base.id
    assert JobSpec("a", {"x": 1.0}).id != base.id  # documented: canonical JSON keeps 1 vs 1.0
    assert JobSpec("a", {"x": 1}, inputs={"onnx": "ab"}).id != base.id
    assert JobSpec("a", {"x": 1}, timeout=5).id == base.id  # timeout is policy, not identity


def test_tuples_become_lists_like_workers_will_see_them() -> None:
    spec = JobSpec("a", {"x": (1, 2)})
    assert spec.params == {"x": [1, 2]}
    assert spec.id == JobSpec("a", {"x": [1, 2]}).id


@pytest.mark.parametrize("bad", [{"x": float("nan")}, {"x": object()}, {"x": {1, 2}}])
def test_non_json_params_are_a_config_error(bad: dict) -> None:
    with pytest.raises(ConfigError, match="not plain JSON"):
        JobSpec("a", bad)


def test_bad_kind_or_params_type() -> None:
    with pytest.raises(ConfigError):
        JobSpec("", {})
    with pytest.raises(ConfigError):
        JobSpec("a", [1, 2])  # type: ignore[arg-type]


def test_registry_resolution_order_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs_mod.JOB_KINDS, "_local", {})
    assert resolve_kind("probe.echo") == "autospec_cli.campaign.diagnostic_jobs:echo"
    assert resolve_kind("json:dumps") == "json:dumps"  # a kind that is a path
    assert resolve_kind("old.kind", {"old.kind": "json:loads"}) == "json:loads"
    with pytest.raises(ConfigError, match="unknown job kind 'nope'"):
        resolve_kind("nope")
    register_job_kind("mine", module_level_job)
    assert resolve_kind("mine") == f"{__name__}:module_level_job"
    register_job_kind("probe.echo", "json:dumps")  # explicit registration wins
    assert resolve_kind("probe.echo") == "json:dumps"
    assert job_kind("decorated")(module_level_job) is module_level_job
    assert resolve_kind("decorated") == f"{__name__}:module_level_job"
    with pytest.raises(ConfigError, match="top-level"):

        @job_kind("local")
        def _local(params: dict) -> dict:  # pragma: no cover - refused before it could run
            return {}


def test_decorator_refuses_closures_and_main(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs_mod.JOB_KINDS, "_local", {})
    with pytest.raises(ConfigError, match="top-level"):
        target_of(lambda p: p)
    module_level_job.__module__ = "__main__"
    try:
        with pytest.raises(ConfigError, match="__main__"):
            target_of(module_level_job)
    finally:
        module_level_job.__module__ = __name__
    with pytest.raises(ConfigError, match="module:function"):
        register_job_kind("x", "no_colon_here")


def test_load_target_imports_nested_names() -> None:
    assert load_target("os.path:join")("a", "b").endswith("b")
    with pytest.raises(ModuleNotFoundError):
        load_target("no_such_module_xyz:f")
