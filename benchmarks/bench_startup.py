"""Start-up time of cheap commands (``autospec --help``, ``autospec verify backends``).

These commands must not import torch or the backends' dependencies; the README promises them
in well under half a second. Prints one JSON line per command: the best and median wall time
of ``--repeat`` runs in fresh interpreters, the best CPU time (user + system: steadier than
wall time on a busy machine), and whether torch was imported.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

COMMANDS: dict[str, list[str]] = {
    "help": ["--help"],
    "verify-backends": ["verify", "backends"],
    "version": ["--version"],
}
PROBE = ("import sys, runpy; sys.argv = ['autospec', *sys.argv[1:]]\n"
         "try:\n    runpy.run_module('autospec_cli', run_name='__main__')\n"
         "except SystemExit:\n    pass\n"
         "print('torch' in sys.modules, file=sys.stderr)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    for name, argv in COMMANDS.items():
        times, cpu = [], []
        torch = False
        for _ in range(args.repeat):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True,
                                 text=True, check=False)
            times.append(time.perf_counter() - t0)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            torch = torch or out.stderr.strip().endswith("True")
        print(json.dumps({"command": name, "best_s": round(min(times), 3),
                          "median_s": round(statistics.median(times), 3),
                          "best_cpu_s": round(min(cpu), 3),
                          "imports_torch": torch}), flush=True)


if __name__ == "__main__":
    main()
