"""Benchmark: ``dln-verify check gf-hypentropy --data FILE.npz`` on large seeded designs.

Each size runs the check in a fresh subprocess (``python -m dln_verify check gf-hypentropy
--data FILE --json``, one BLAS thread) and reports its wall-clock time, CPU time and peak
resident memory (``os.wait4``: that process alone), next to the size of ``X``. It reports, it
does not assert. Data: ``X`` standard Gaussian (n×d), ``y = X[:, :5] @ w`` with Gaussian ``w``
(5-sparse planted signal), from ``numpy.random.default_rng(seed)``.

Sizes: quick (n, d) = (100, 10⁴); full (100, 10⁵), once with one and once with two threads of
the compiled integrator (BLAS one thread in both), and (1000, 10⁵) with ``--large`` (``X`` is
0.8 GB; the check then takes many minutes on a 2-core machine).

Run::

    /work/venv/bin/python benchmarks/bench_gf_data.py --quick
    /work/venv/bin/python benchmarks/bench_gf_data.py [--large]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIGURE = "gf-hypentropy --data check"


def make_data(path: str, n: int, d: int, seed: int = 0) -> None:
    """Seeded design and planted 5-sparse target, saved as ``.npz`` (arrays X, y)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = X[:, :5] @ rng.standard_normal(5)
    np.savez(path, X=X, y=y)


def measure(n: int, d: int, *, seed: int = 0, timeout_s: float = 3600.0,
            kernel_threads: int = 1) -> dict:
    """One check on fresh data in a fresh process; a row for the report.

    BLAS always runs one thread; ``kernel_threads`` is the number of numba threads of the
    compiled integrator (``NUMBA_NUM_THREADS``; 1 is what ``OMP_NUM_THREADS=1`` implies)."""
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env.pop("NUMBA_NUM_THREADS", None)
    if kernel_threads > 1:
        env["NUMBA_NUM_THREADS"] = str(int(kernel_threads))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    row: dict = {"figure": FIGURE, "n": n, "d": d, "seed": seed, "X_gib": n * d * 8 / 2**30,
                 "kernel_threads": int(kernel_threads)}
    with tempfile.TemporaryDirectory(prefix="bench_gf_") as tmp:
        data = os.path.join(tmp, "data.npz")
        make_data(data, n, d, seed)
        out_path = os.path.join(tmp, "out.json")
        cmd = [sys.executable, "-m", "dln_verify", "check", "gf-hypentropy", "--data", data,
               "--json"]
        t0 = time.perf_counter()
        with open(out_path, "w") as out, open(os.devnull, "w") as err:
            proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=ROOT)
            timed_out = False
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() - t0 > timeout_s:
                    proc.kill()
                    pid, status, usage = os.wait4(proc.pid, 0)
                    timed_out = True
                    break
                time.sleep(0.05)
            proc.returncode = os.waitstatus_to_exitcode(status)
        row["wall_s"] = time.perf_counter() - t0
        row["cpu_s"] = usage.ru_utime + usage.ru_stime
        row["peak_rss_gib"] = usage.ru_maxrss * 1024 / 2**30  # Linux: KiB
        row["peak_rss_over_X"] = row["peak_rss_gib"] / row["X_gib"]
        row["exit_code"] = proc.returncode
        row["timed_out"] = timed_out
        if not timed_out and proc.returncode in (0, 1):
            with open(out_path) as fh:
                rec = json.load(fh)
            rec = rec[0] if isinstance(rec, list) else rec
            row["status"] = rec.get("status")
            row["passed"] = rec.get("passed")
            metrics = rec.get("metrics", {})
            row["max_relative_error"] = metrics.get("max_relative_error")
            row["max_flow_residual"] = metrics.get("max_flow_residual")
    return row


def run(quick: bool, large: bool = False) -> list[dict]:
    """Rows: quick (100, 10⁴); full (100, 10⁵) with one and (on a machine with two or more
    cores) two integrator threads, and, with ``large``, (1000, 10⁵) with one."""
    sizes = [(100, 10_000)] if quick else [(100, 100_000)]
    rows = [measure(n, d) for n, d in sizes]
    if not quick and (os.cpu_count() or 1) >= 2:
        rows.append(measure(100, 100_000, kernel_threads=2))
    if large and not quick:
        rows.append(measure(1000, 100_000))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="(n, d) = (100, 1e4)")
    parser.add_argument("--large", action="store_true", help="also (n, d) = (1000, 1e5)")
    args = parser.parse_args(argv)
    for row in run(args.quick, args.large):
        print(json.dumps(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
