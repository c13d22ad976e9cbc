#!/usr/bin/env python3
"""Run a command and record its peak resident memory and wall time.

    python3 peak_rss.py OUT.json -- COMMAND [ARGS...]

Writes {"peak_rss_mb", "wall_seconds", "exit_code", "command"} to OUT.json and
exits with the command's exit code. Peak RSS is the largest ru_maxrss of the
waited-for descendants (getrusage RUSAGE_CHILDREN), the same figure GNU
`time -v` prints as "Maximum resident set size", so no extra package is
needed. Run a built binary, not `go run`, or the compiler's memory is counted.
"""

import json
import resource
import subprocess
import sys
import time


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.stderr.write(__doc__)
        return 2
    out, cmd = sys.argv[1], sys.argv[3:]
    t0 = time.perf_counter()
    rc = subprocess.call(cmd)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0  # KB on Linux
    with open(out, "w") as f:
        json.dump({"peak_rss_mb": peak, "wall_seconds": wall, "exit_code": rc, "command": cmd}, f, indent=1)
        f.write("\n")
    return rc


if __name__ == "__main__":
    sys.exit(main())
