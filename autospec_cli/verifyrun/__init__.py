"""The verification run: instances as campaign jobs, results read back, written and scored.

Verifications the toolchain runs over a benchmark -- ``autospec verify`` and GDVB's
``bench run`` -- go through this package, so there is one job kind, one record format and
one scoring:

- :mod:`~autospec_cli.verifyrun.jobs`: the job kinds ``verify.instance`` / ``verify.group``
  (any registered backend with its options), building them from a benchmark and reading
  their results back;
- :mod:`~autospec_cli.verifyrun.run`: the resumable ``autospec verify`` run;
- :mod:`~autospec_cli.verifyrun.records`: :class:`~autospec_cli.verifyrun.records.VerifyRecord`
  (one verifier's result on one instance) and ``load_records``, which reads them from any
  campaign store holding verification jobs -- what scoring and every report consume;
- :mod:`~autospec_cli.verifyrun.results`: the VNN-COMP results folder (``results.csv``,
  counterexamples, ``summary.json``);
- :mod:`~autospec_cli.verifyrun.scoring`: SCR, PAR2, VNN-COMP points, per factor level.

Verdict words are read with :meth:`autospec_cli.verify.base.Verdict.parse` and values are
made JSON with :func:`autospec_cli.io.to_jsonable`; neither is repeated here.

The generic machinery (job ids, the store, executors) is :mod:`autospec_cli.campaign`, which
knows nothing of verification.
"""

from __future__ import annotations

from autospec_cli.exports import lazy_exports

_EXPORTS = {
    "make_jobs": "jobs",
    "describe_instances": "jobs",
    "results_of": "jobs",
    "instance_params": "jobs",
    "collect": "jobs",
    "read_expected": "jobs",
    "InstanceInfo": "jobs",
    "run_verification": "run",
    "VerifyRun": "run",
    "write_results": "results",
    "read_results_csv": "results",
    "summarize": "results",
    "VerifyRecord": "records",
    "load_records": "records",
    "find_verify_campaigns": "records",
    "score": "scoring",
    "Scoreboard": "scoring",
    "Points": "scoring",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
