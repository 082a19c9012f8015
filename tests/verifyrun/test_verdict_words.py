"""Verdict.parse: the one mapping of verdict words, used by scoring, results files and tools."""

from __future__ import annotations

import enum
from pathlib import Path

import pytest

from autospec_cli.errors import InputError
from autospec_cli.verify.backends.external import parse_results_text, verdict_from_stdout
from autospec_cli.verify.base import Verdict
from autospec_cli.verifyrun.jobs import read_expected
from autospec_cli.verifyrun.results import read_results_csv
from autospec_cli.verifyrun.scoring import ScoreRecord, score

WORDS = {
    "sat": Verdict.SAT, "unsat": Verdict.UNSAT, "unknown": Verdict.UNKNOWN,
    "timeout": Verdict.TIMEOUT, "error": Verdict.ERROR,
    "holds": Verdict.UNSAT, "violated": Verdict.SAT, "safe": Verdict.UNSAT,
    "unsafe": Verdict.SAT, "timed-out": Verdict.TIMEOUT, "timed_out": Verdict.TIMEOUT,
    "timed out": Verdict.TIMEOUT,
}


@pytest.mark.parametrize("word, verdict", sorted(WORDS.items()))
def test_every_word_in_any_case_and_spacing(word: str, verdict: Verdict) -> None:
    assert Verdict.parse(word) is verdict
    assert Verdict.parse(f"  {word.upper()}\n") is verdict
    assert Verdict.parse(word.title().replace(" ", "   ")) is verdict


def test_enums_pass_through_and_unknown_words_list_the_accepted_ones() -> None:
    class Other(enum.Enum):
        X = "Holds"

    assert Verdict.parse(Verdict.ERROR) is Verdict.ERROR
    assert Verdict.parse(Other.X) is Verdict.UNSAT
    for bad in ("maybe", "", "sat!", None, "time out"):
        with pytest.raises(InputError, match="unknown verdict") as info:
            Verdict.parse(bad)
        assert "sat, unsat, unknown, timeout, error" in str(info.value)
        assert "holds" in str(info.value) and "timed-out" in str(info.value)


def test_scoring_accepts_timed_out_like_results_files() -> None:
    # the bug: scoring refused "timed-out" although results.csv reading accepted it
    board = score([ScoreRecord("a", "i1", "timed-out", 10.0, 10.0),
                   ScoreRecord("a", "i2", "Timed Out", 10.0, 10.0, expected="holds")])
    assert (board.verifiers[0].unsolved, board.verifiers[0].par2_sum) == (2, 40.0)


def test_every_reader_maps_words_the_same_way(tmp_path: Path) -> None:
    csv_path = tmp_path / "results.csv"
    lines = [f"c,a.onnx,p{k}.vnnlib,0,{w},1\n" for k, w in enumerate(WORDS)]
    csv_path.write_text("".join(lines), encoding="utf-8")
    assert [r["result"] for r in read_results_csv(csv_path)] == [v.value for v in WORDS.values()]
    for word, verdict in WORDS.items():
        assert parse_results_text(f"\n{word.upper()}\n((X_0 1))")[0] is verdict
        assert verdict_from_stdout(f"log line\n{word}\ntrailer")[0] is verdict
    assert parse_results_text("maybe\n") == (None, "")
    (tmp_path / "expected.csv").write_text(
        "onnx,vnnlib,expected\na.onnx,p.vnnlib,Violated\nb.onnx,p.vnnlib,safe\n"
        "c.onnx,p.vnnlib,timed-out\nd.onnx,p.vnnlib,?\n", encoding="utf-8")
    assert read_expected(tmp_path) == {("a.onnx", "p.vnnlib"): "sat",
                                       ("b.onnx", "p.vnnlib"): "unsat"}


def test_results_csv_names_the_line_of_an_unknown_word(tmp_path: Path) -> None:
    p = tmp_path / "r.csv"
    p.write_text("c,a.onnx,p.vnnlib,0,sat,1\nc,a.onnx,q.vnnlib,0,perhaps,1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"r.csv:2: unknown result 'perhaps'"):
        read_results_csv(p)


def test_manifest_known_verdicts_use_the_same_words(tmp_path: Path) -> None:
    from autospec_cli.verify.base import Instance
    from autospec_cli.verifyrun.jobs import describe_instances

    insts = [Instance(tmp_path / "a.onnx", tmp_path / f"p{k}.vnnlib", 5.0) for k in range(3)]
    manifest = {"instances": [{"onnx": "a.onnx", "vnnlib": f"p{k}.vnnlib",
                               "meta": {"expected": word}}
                              for k, word in enumerate(("Holds", "violated", "unknown"))]}
    infos = describe_instances(insts, tmp_path, manifest)
    assert [i.expected for i in infos] == ["unsat", "sat", None]
