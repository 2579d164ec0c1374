"""Wall time of ``dln-verify check --all``, in total and per claim (instance set-up + check).

Run from the repository root::

    python benchmarks/bench_check_all.py [--profile quick|thorough] [--python PATH] [--json F]

It runs the command line in a fresh process with the given interpreter (default: this one; pass
another virtual environment's ``python`` to time an older revision in the same session) and
reads the per-claim lines it prints on stderr (``[k/N] id: status (T s: instance I s, check
C s)``; older revisions print only ``(C s)``, the check without the instance set-up). It
reports, it does not assert. Two runs of different revisions are only comparable when made
back to back on the same, otherwise idle, machine.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time

LINE = re.compile(r"\[(\d+)/(\d+)\] (\S+): ([a-z-]+) \(([\d.]+) s"
                  r"(?:: instance ([\d.]+) s, check ([\d.]+) s)?\)")


def run(python: str, profile: str) -> dict:
    cmd = [python, "-m", "dln_verify", "check", "--all", "--profile", profile, "--json"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    claims = []
    for line in proc.stderr.splitlines():
        m = LINE.search(line)
        if m:
            total, inst, check = m.group(5), m.group(6), m.group(7)
            claims.append({"claim": m.group(3), "status": m.group(4), "seconds": float(total),
                           "instance_s": None if inst is None else float(inst),
                           "check_s": float(total) if check is None else float(check)})
    return {"python": python, "profile": profile, "wall_s": wall, "returncode": proc.returncode,
            "claims": claims}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="quick", choices=("quick", "thorough"))
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    out = run(args.python, args.profile)
    print(f"# check --all --profile {args.profile} with {args.python}: {out['wall_s']:.1f} s wall"
          f" (exit {out['returncode']})")
    for c in sorted(out["claims"], key=lambda c: -c["seconds"]):
        inst = "" if c["instance_s"] is None else f" (instance {c['instance_s']:.1f} s)"
        print(f"  {c['claim']:28s} {c['status']:20s} {c['seconds']:6.1f} s{inst}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
