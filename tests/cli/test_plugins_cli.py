"""`autospec plugins`: every registered plug-in by kind, with origin and declared parameters."""

from __future__ import annotations

import json

from autospec_cli.verify.backends.attack import AttackVerifier


def test_plugins_json_lists_every_kind(cli_runner) -> None:
    code, out, err = cli_runner("plugins", "--json")
    assert code == 0, err
    rows = json.loads(out)["plugins"]
    by_kind: dict[str, set[str]] = {}
    for r in rows:
        by_kind.setdefault(r["kind"], set()).add(r["name"])
        assert r["origin"].startswith("autospec-cli ") and ":" in r["target"], r
    assert by_kind["verifiers"] == {"attack", "bab", "external", "lirpa", "marabou", "portfolio"}
    assert by_kind["generators"] == {"cluster", "grid", "human", "monotonic", "tree"}
    assert {"verify.instance", "verify.group", "probe.echo"} <= by_kind["jobs"]
    assert by_kind["reports"] == {"verify", "gdvb", "study"}
    assert {"csv", "builtin", "npz", "idx", "throughput", "flows", "nsl-kdd"} == by_kind["loaders"]


def test_parameters_come_from_the_declarations(cli_runner) -> None:
    code, out, _ = cli_runner("--json", "plugins", "--kind", "verifiers")
    rows = {r["name"]: r for r in json.loads(out)["plugins"]}
    assert code == 0 and set(r["kind"] for r in rows.values()) == {"verifiers"}
    samples = rows["attack"]["parameters"]["samples"]
    assert samples == {**AttackVerifier.parameters["samples"].describe()}
    assert samples["type"] == "int" and samples["default"] == 2048 and samples["min"] == 0
    assert rows["portfolio"]["parameters"]["attack_share"]["max"] == 1
    assert rows["attack"]["parameters"]["device"]["choices"] == ["cpu", "cuda"]
    code, out, _ = cli_runner("plugins", "--json", "-k", "generator")
    gens = {r["name"]: r for r in json.loads(out)["plugins"]}
    assert gens["tree"]["parameters"]["max_depth"] == {
        "type": "int", "default": 10, "help": "maximum depth", "choices": None, "min": 1,
        "max": None, "optional": False}
    assert gens["tree"]["parameters"]["random_state"]["optional"] is True
    code, out, _ = cli_runner("plugins", "--json", "-k", "jobs")
    assert all("parameters" not in r for r in json.loads(out)["plugins"])


def test_plugins_table_and_bad_kind(cli_runner) -> None:
    code, out, _ = cli_runner("plugins", "--kind", "generators")
    words = " ".join(out.split())
    assert code == 0 and "generators tree: parameters" in words and "max_depth" in words
    code, _, err = cli_runner("plugins", "--kind", "nope")
    assert code == 2 and "unknown plug-in kind 'nope'; choose one of verifiers" in err
