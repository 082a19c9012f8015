"""The verification run: instances as campaign jobs, results read back, written and scored.

Every verification the toolchain runs -- ``autospec verify``, GDVB's ``bench run``, the
training-factor study -- goes through this package, so there is one job kind, one record
format and one scoring:

- :mod:`~autospec_cli.verifyrun.jobs`: the job kinds ``verify.instance`` / ``verify.group``
  (any registered backend with its options), building them from a benchmark and reading
  their results back;
- :mod:`~autospec_cli.verifyrun.run`: the resumable ``autospec verify`` run;
- :mod:`~autospec_cli.verifyrun.results`: the VNN-COMP results folder (``results.csv``,
  counterexamples, ``summary.json``);
- :mod:`~autospec_cli.verifyrun.scoring`: SCR, PAR2, VNN-COMP points, per factor level.

The generic machinery (job ids, the store, executors) is :mod:`autospec_cli.campaign`, which
knows nothing of verification.
"""
