"""Benchmark: dual Newton vs cvxpy/Clarabel for the implicit-bias prediction.

Prints, for several α, the speed ratio ``cvxpy time / newton time`` (both measured in this run,
after a warm-up, best of N) at (n, d) = (200, 5000), and the agreement of the two answers
(relative ℓ2 distance) with both certificates. ``--quick`` uses (n, d) = (50, 500).

Problem: ``argmin_{Xβ=y} ψ_α(β)`` (convention β = u⊙v, u₀ = √2α, v₀ = 0; Woodworth et al.,
COLT 2020, arXiv:2002.09277), Gaussian X, generic y (seeded).

Run::

    /work/venv/bin/python benchmarks/bench_implicit_bias.py            # full, ~2–4 min
    /work/venv/bin/python benchmarks/bench_implicit_bias.py --quick    # seconds
    /work/venv/bin/python benchmarks/bench_implicit_bias.py --blas-threads 1
"""

from __future__ import annotations

import argparse
import os
import platform
import time


def best_of(fn, repeats: int) -> tuple[float, object]:
    """Best wall-clock time of ``repeats`` calls (the machines are noisy: report the minimum)."""
    best = float("inf")
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="(n, d) = (50, 500)")
    parser.add_argument("--n", type=int, default=None)
    parser.add_argument("--d", type=int, default=None)
    parser.add_argument("--alphas", type=float, nargs="+", default=[1e-3, 1e-1, 1.0, 10.0])
    parser.add_argument("--newton-repeats", type=int, default=7)
    parser.add_argument("--cvxpy-repeats", type=int, default=None,
                        help="default 1 at full size, 3 with --quick")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--blas-threads", type=int, default=None,
                        help="set OPENBLAS/OMP/MKL_NUM_THREADS before numpy is imported "
                             "(on a loaded 2-core machine, 1 thread is 5-15x faster for Newton)")
    args = parser.parse_args(argv)
    if args.blas_threads is not None:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.blas_threads)
    import numpy as np

    from dln_verify.numeric.convex import implicit_bias_solution

    n, d = (50, 500) if args.quick else (200, 5000)
    n = args.n or n
    d = args.d or d
    cvx_rep = args.cvxpy_repeats or (3 if args.quick else 1)
    rng = np.random.default_rng(args.seed)
    X = rng.standard_normal((n, d))
    y = rng.standard_normal(n)
    print("# implicit_bias_solution: newton vs cvxpy (CLARABEL, tolerances 1e-12)")
    print(f"# n = {n}, d = {d}, seed = {args.seed}, python {platform.python_version()}, "
          f"numpy {np.__version__}, machine {platform.machine()}")
    blas = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    print(f"# BLAS threads: {blas}; load average {os.getloadavg()[0]:.2f} (noisy if > cores)")
    print(f"# best of {args.newton_repeats} (newton) / {cvx_rep} (cvxpy) after one warm-up each")
    # warm-up: BLAS threads, first touch of memory, cvxpy import and canonicalisation code paths
    implicit_bias_solution(X, y, 1.0, method="newton")
    Xs, ys = X[: min(n, 20), : min(d, 60)], y[: min(n, 20)]
    implicit_bias_solution(Xs, ys, 1.0, method="cvxpy", tol=1e-6)
    header = (f"{'alpha':>8} {'newton_s':>10} {'it':>4} {'cvxpy_s':>9} {'it':>4} {'ratio':>8} "
              f"{'rel_diff':>9} {'newton_kkt':>10} {'newton_res':>10} {'cvxpy_kkt':>10} "
              f"{'cvxpy_res':>10}")
    print(header)
    ratios = []
    for alpha in args.alphas:
        t_n, sol_n = best_of(lambda a=alpha: implicit_bias_solution(X, y, a, method="newton"),
                             args.newton_repeats)
        t_c, sol_c = best_of(lambda a=alpha: implicit_bias_solution(X, y, a, method="cvxpy"),
                             cvx_rep)
        rel = float(np.linalg.norm(sol_c.beta - sol_n.beta) / np.linalg.norm(sol_n.beta))
        cn, cc = sol_n.certificate, sol_c.certificate
        ratios.append(t_c / t_n)
        print(f"{alpha:8.1e} {t_n:10.4f} {sol_n.iterations:4d} {t_c:9.3f} {sol_c.iterations:4d} "
              f"{t_c / t_n:8.1f} {rel:9.2e} {cn.optimality_residual:10.1e} "
              f"{cn.primal_residual:10.1e} {cc.optimality_residual:10.1e} "
              f"{cc.primal_residual:10.1e}")
    print(f"# speed ratio cvxpy/newton: min {min(ratios):.1f}, "
          f"geometric mean {float(np.exp(np.mean(np.log(ratios)))):.1f}, max {max(ratios):.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
