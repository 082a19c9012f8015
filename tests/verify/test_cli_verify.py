"""`autospec verify`: results files and documented exit codes, through the real CLI."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest
from conformance import build_problems, write_benchmark_folder

FAST = ["--opt", "samples=64", "--opt", "restarts=2", "--opt", "steps=10"]
INLINE = [*FAST, "-e", "inline"]  # no worker process start: for tests of the store policy


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict:
    return {p.name: p for p in build_problems(tmp_path_factory.mktemp("tiny"))}


@pytest.fixture()
def bench(tmp_path, tiny):
    def make(*names: str) -> Path:
        return write_benchmark_folder(tmp_path / "bench", [tiny[n] for n in names], timeout=10)
    return make


def unsat_tool(tmp_path: Path) -> str:
    tool = tmp_path / "always_unsat.py"
    tool.write_text("import sys\nopen(sys.argv[5], 'w').write('unsat\\n')\n")
    return (f"command={sys.executable} {tool} v1 {{category}} {{onnx}} {{vnnlib}} {{results}} "
            "{timeout}")


def test_violation_found_exits_1_and_writes_results(cli_runner, bench) -> None:
    b = bench("lin_sat", "lin_unsat")
    code, out, err = cli_runner("--quiet", "verify", str(b), "--backend", "attack", *FAST)
    assert code == 1, err
    rows = list(csv.reader(open(b / "results-attack" / "results.csv")))
    assert [r[4] for r in rows] == ["sat", "unknown"]
    assert [r[1] for r in rows] == ["onnx/lin_sat.onnx", "onnx/lin_unsat.onnx"]
    assert rows[0][0] == "bench"
    assert (b / "results-attack" / "counterexamples" / "lin_sat__lin_sat.counterexample").is_file()
    assert json.loads((b / "results-attack" / "summary.json").read_text())["counts"]["sat"] == 1
    assert "sat" in out


def test_all_holds_exits_0(cli_runner, bench, tmp_path) -> None:
    b = bench("lin_unsat", "abs_unsat")
    code, out, err = cli_runner("--quiet", "verify", "run", str(b), "--backend", "external",
                                "--opt", unsat_tool(tmp_path), "-o", str(tmp_path / "res"))
    assert code == 0, err
    assert [r[4] for r in csv.reader(open(tmp_path / "res" / "results.csv"))] == ["unsat", "unsat"]


def test_undecided_exits_3_and_json(cli_runner, bench) -> None:
    b = bench("lin_unsat")
    code, out, err = cli_runner("verify", str(b), "--backend", "attack", *FAST, "--json",
                                "--timeout", "5", "--category", "mycat")
    assert code == 3, err
    doc = json.loads(out)
    assert doc["counts"]["unknown"] == 1 and doc["exit_code"] == 3
    assert doc["backend"] == "attack"
    assert next(csv.reader(open(b / "results-attack" / "results.csv")))[0] == "mycat"


def _verify_json(cli_runner, *args: str) -> tuple[int, dict]:
    code, out, err = cli_runner("verify", *args, "--json")
    assert code in (0, 1, 3), err
    return code, json.loads(out)


def test_rerun_resumes_without_running_anything(cli_runner, bench) -> None:
    b = bench("lin_sat", "lin_unsat")
    code, first = _verify_json(cli_runner, str(b), "--backend", "attack", *INLINE)
    assert code == 1 and first["campaign"]["ran"] == 2 and first["campaign"]["new"] == 2
    out = b / "results-attack"
    assert (out / "campaign.sqlite").is_file()
    desc = json.loads((out / "campaign.json").read_text())
    assert desc["kind"] == "verify" and desc["backend"] == "attack" and desc["instances"] == 2
    csv_before = (out / "results.csv").read_text()
    cex = out / "counterexamples" / "lin_sat__lin_sat.counterexample"
    cex_before = cex.read_text()
    code, again = _verify_json(cli_runner, str(b), "--backend", "attack", *INLINE)
    assert code == 1
    assert (again["campaign"]["ran"], again["campaign"]["skipped"]) == (0, 2)
    assert [r["result"] for r in again["results"]] == [r["result"] for r in first["results"]]
    assert (out / "results.csv").read_text() == csv_before  # rewritten from the store
    assert cex.read_text() == cex_before  # the counterexample survives the JSON round trip


def test_interrupted_run_resumes_only_the_missing_instances(cli_runner, bench) -> None:
    from autospec_cli.campaign.store import CampaignStore

    b = bench("lin_sat", "lin_unsat", "abs_unsat")
    _verify_json(cli_runner, str(b), "--backend", "attack", *INLINE)
    with CampaignStore(b / "results-attack") as store:  # as if killed before two finished
        records = store.results()
        assert len(records) == 3 and {r.kind for r in records} == {"verify.instance"}
        store.db.execute("UPDATE jobs SET status = 'pending', result = NULL WHERE id != ?",
                         (records[0].id,))
    code, doc = _verify_json(cli_runner, str(b), "--backend", "attack", *INLINE)
    assert (doc["campaign"]["ran"], doc["campaign"]["skipped"]) == (2, 1)
    assert [r["result"] for r in doc["results"]] == ["sat", "unknown", "unknown"] and code == 1


def test_other_settings_need_force_and_force_starts_over(cli_runner, bench) -> None:
    b = bench("lin_unsat")
    assert cli_runner("-q", "verify", str(b), "--backend", "attack", *INLINE)[0] == 3
    code, _, err = cli_runner("-q", "verify", str(b), "--backend", "attack", *INLINE,
                              "--timeout", "7")
    assert code == 2 and "--force" in err and "timeout" in err
    code, doc = _verify_json(cli_runner, str(b), "--backend", "attack", *INLINE, "--timeout", "7",
                             "--force")
    assert code == 3 and doc["campaign"]["ran"] == 1
    from autospec_cli.campaign.store import CampaignStore

    with CampaignStore(b / "results-attack") as store:
        assert len(store.results()) == 1  # the old run's job was discarded


def test_results_without_a_store_need_force(cli_runner, bench, tmp_path) -> None:
    b = bench("lin_unsat")
    out = tmp_path / "old"
    out.mkdir()
    (out / "results.csv").write_text("x,onnx/a.onnx,vnnlib/a.vnnlib,0,unsat,1\n")
    code, _, err = cli_runner("-q", "verify", str(b), "--backend", "attack", *INLINE, "-o",
                              str(out))
    assert code == 2 and "--force" in err
    assert cli_runner("-q", "verify", str(b), "--backend", "attack", *INLINE, "-o", str(out),
                      "--force")[0] == 3


def test_batch_runs_one_job_per_model_with_the_same_verdicts(cli_runner, bench, tmp_path) -> None:
    from autospec_cli.campaign.store import CampaignStore

    b = bench("lin_sat", "lin_unsat")
    _, single = _verify_json(cli_runner, str(b), "--backend", "attack", *FAST)
    _, grouped = _verify_json(cli_runner, str(b), "--backend", "attack", *FAST, "--batch",
                              "-o", str(tmp_path / "g"), "-j", "2")
    assert [r["result"] for r in grouped["results"]] == [r["result"] for r in single["results"]]
    with CampaignStore(tmp_path / "g") as store:
        kinds = [r.kind for r in store.results()]
    assert kinds == ["verify.group", "verify.group"]  # two models, one job each


@pytest.mark.parametrize("args, fragment", [
    (["--backend", "nope"], "unknown verifier backend"),
    (["--backend", "attack", "--opt", "bogus=1"], "unknown option"),
    (["--backend", "attack", "--opt", "samples=lots"], "cannot read"),
    (["--backend", "external:nothere", "--tools", "/nonexistent/tools.toml"], "not found"),
    (["--backend", "attack", "--executor", "cloud"], "--executor"),
    (["--backend", "attack", "--executor", "dask"], "scheduler"),
])
def test_bad_usage_exits_2(cli_runner, bench, args, fragment) -> None:
    code, _, err = cli_runner("-q", "verify", str(bench("lin_sat")), *args)
    assert code == 2 and fragment in err, err


def test_missing_benchmark_exits_2(cli_runner, tmp_path) -> None:
    code, _, err = cli_runner("verify", str(tmp_path / "nothing"))
    assert code == 2 and "not a benchmark folder" in err


def test_named_external_tool_from_tools_file(cli_runner, bench, tmp_path) -> None:
    tools = tmp_path / "tools.toml"
    cmd = unsat_tool(tmp_path).removeprefix("command=").split()
    tools.write_text("[tools.fake]\ncommand = " + json.dumps(cmd) + "\n")
    b = bench("lin_unsat")
    code, out, err = cli_runner("-q", "verify", str(b), "--backend", "external:fake", "--tools",
                                str(tools))
    assert code == 0, err
    assert (b / "results-external-fake" / "results.csv").is_file()


def test_verify_instance_prints_verdict_and_counterexample(cli_runner, tiny) -> None:
    p = tiny["lin_sat"]
    code, out, err = cli_runner("-q", "verify", "instance", str(p.onnx), str(p.vnnlib),
                                "--backend", "attack", *FAST)
    assert code == 1, err
    assert out.startswith("sat") and "(X_0 " in out
    code, out, _ = cli_runner("verify", "instance", str(p.onnx), str(p.vnnlib), "--backend",
                              "attack", *FAST, "--json")
    assert json.loads(out)["results"][0]["result"] == "sat"


def test_backends_lists_parameters(cli_runner) -> None:
    code, out, _ = cli_runner("verify", "backends", "--json")
    assert code == 0
    rows = {r["name"]: r for r in json.loads(out)["backends"]}
    assert rows["attack"]["available"] and "restarts" in rows["attack"]["parameters"]
    code, out, _ = cli_runner("verify", "backends")
    assert code == 0 and "attack" in out


def test_report_on_two_verifiers_flags_the_conflict(cli_runner, bench, tmp_path) -> None:
    b = bench("lin_sat", "lin_unsat")
    assert cli_runner("-q", "verify", str(b), "--backend", "attack", *INLINE)[0] == 1
    assert cli_runner("-q", "verify", str(b), "--backend", "external", "-e", "inline",
                      "--opt", unsat_tool(tmp_path))[0] == 0  # a wrong tool: says unsat
    code, out, err = cli_runner("report", str(b), "-o", str(tmp_path / "rep"), "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert sorted(doc["verifiers"]) == ["attack", "external"]
    assert [c["instance"] for c in doc["scoreboard"]["conflicts"]] == [
        "onnx/lin_sat.onnx::vnnlib/lin_sat.vnnlib"]
    scores = {v["verifier"]: v["solved"] for v in doc["scoreboard"]["verifiers"]}
    assert scores == {"attack": 0, "external": 1}  # only the uncontested unsat counts
    assert (tmp_path / "rep" / "scr_box.png").is_file()


def test_locked_or_corrupt_results_store_is_exit_2(cli_runner, bench) -> None:
    from autospec_cli.campaign.store import CampaignStore

    b = bench("lin_unsat")
    out = b / "results-attack"
    assert cli_runner("-q", "verify", str(b), "--backend", "attack", *INLINE)[0] == 3
    with CampaignStore(out) as other:
        other.acquire_lock()
        code, _, err = cli_runner("-q", "verify", str(b), "--backend", "attack", *INLINE)
        assert code == 2 and "being run by another process" in err
    (out / "campaign.sqlite").write_bytes(b"garbage" * 100)
    for name in ("campaign.sqlite-wal", "campaign.sqlite-shm"):
        (out / name).unlink(missing_ok=True)
    code, _, err = cli_runner("-q", "verify", str(b), "--backend", "attack", *INLINE)
    assert code == 2 and "not a SQLite database" in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow  # ~30 s: a LocalCluster plus one isolated process (torch import) per job;
# tests/campaign/test_campaign_dask.py checks the same equality on probe jobs in seconds
def test_local_and_dask_local_store_the_same_verdicts(cli_runner, bench, tmp_path) -> None:
    pytest.importorskip("distributed")
    b = bench("lin_sat", "lin_unsat", "abs_unsat")
    verdicts = {}
    for ex in ("local", "dask-local"):
        code, doc = _verify_json(cli_runner, str(b), "--backend", "attack", *FAST, "-e", ex,
                                 "-j", "2", "-o", str(tmp_path / ex))
        verdicts[ex] = [(r["onnx"], r["result"]) for r in doc["results"]]
        assert code == 1 and doc["campaign"]["ran"] == 3
    assert verdicts["local"] == verdicts["dask-local"]
    rows = {ex: [r[:3] + r[4:5] for r in csv.reader(open(tmp_path / ex / "results.csv"))]
            for ex in verdicts}
    assert rows["local"] == rows["dask-local"]
    cex = "counterexamples/lin_sat__lin_sat.counterexample"
    assert (tmp_path / "local" / cex).read_text() == (tmp_path / "dask-local" / cex).read_text()


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0"])
def test_a_time_limit_that_is_not_a_positive_number_is_refused(cli_runner, bench, tiny,
                                                               value: str) -> None:
    b = bench("lin_unsat")
    code, _, err = cli_runner("verify", str(b), "--backend", "attack", "--timeout", value)
    assert code == 2 and "--timeout must be a positive number" in err
    prob = tiny["lin_unsat"]
    code, _, err = cli_runner("verify", "instance", str(prob.onnx), str(prob.vnnlib),
                              "--backend", "attack",
                              "--timeout", value)
    assert code == 2 and "--timeout must be a positive number" in err
    assert not (b / "results-attack").exists()


def test_jobs_beyond_the_cores_are_capped_with_a_note(cli_runner, bench, monkeypatch) -> None:
    from autospec_cli.campaign import executors

    monkeypatch.setattr(executors, "usable_cores", lambda: 2)
    b = bench("lin_unsat")
    code, out, err = cli_runner("verify", str(b), "--backend", "attack", *FAST, "-j", "100000",
                                "--json")
    assert code == 3, err
    notes = [line for line in err.splitlines() if line.startswith("note:")]
    assert notes == ["note: --jobs 100000 is more than the cores available here (2): running 2 "
                     "worker(s); raise --jobs-max to allow more"]
    assert json.loads(out)["exit_code"] == 3
    code, _, err = cli_runner("-q", "verify", str(b), "--backend", "attack", *FAST, "-j", "4",
                              "--jobs-max", "1", "--force")
    assert code == 3 and "note:" not in err  # --quiet hides the note


def test_cap_jobs_rules(monkeypatch) -> None:
    from autospec_cli.campaign import executors
    from autospec_cli.errors import ConfigError

    monkeypatch.setattr(executors, "usable_cores", lambda: 4)
    assert executors.cap_jobs("local", 3) == (3, None)
    assert executors.cap_jobs("local", None) == (None, None)
    n, note = executors.cap_jobs("dask-local", 9)
    assert n == 4 and note and "(4)" in note
    n, note = executors.cap_jobs("local", 9, jobs_max=8)
    assert n == 8 and note and "--jobs-max (8)" in note
    assert executors.cap_jobs("local", 9, jobs_max=16) == (9, None)  # allowed explicitly
    assert executors.cap_jobs("dask", 500) == (500, None)  # remote workers: not ours to cap
    with pytest.raises(ConfigError):
        executors.cap_jobs("local", 2, jobs_max=0)


def test_resume_compares_effective_timeout_and_category(cli_runner, bench) -> None:
    """The benchmark's rows say 10 s: `--timeout 10` and no `--timeout` are the same run, and
    so are the default category and naming it; another timeout still needs --force."""
    b = bench("lin_unsat")
    code, first = _verify_json(cli_runner, str(b), "--backend", "attack", *INLINE, "--timeout",
                               "10")
    assert first["campaign"]["ran"] == 1
    code, again = _verify_json(cli_runner, str(b), "--backend", "attack", *INLINE)
    assert (again["campaign"]["ran"], again["campaign"]["skipped"]) == (0, 1)
    code, named = _verify_json(cli_runner, str(b), "--backend", "attack", *INLINE, "--category",
                               "bench")
    assert (named["campaign"]["ran"], named["campaign"]["skipped"]) == (0, 1)
    desc = json.loads((b / "results-attack" / "campaign.json").read_text())
    assert desc["timeout"] == [10.0] and desc["category"] == ["bench"]
    code, _, err = cli_runner("-q", "verify", str(b), "--backend", "attack", *INLINE,
                              "--timeout", "10.5")
    assert code == 2 and "different timeout" in err
