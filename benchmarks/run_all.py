"""The benchmark suite: every figure as a ratio against a baseline measured in the same run.

Run from the repository root::

    python benchmarks/run_all.py [--quick] [--json out.json]

It reports, it does not assert. The machine's 1-thread float64 dgemm rate (best of 3 on a
2000×2000 product) and the BLAS configuration (threadpoolctl) are measured first; every
1-thread figure runs under ``threadpoolctl.threadpool_limits(1)``. Timings are best-of-N wall
clock (the machines are shared: ratios from the same run are comparable, absolute seconds
between runs are not). See benchmarks/README.md for what each row means.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import textwrap
import time

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def best_of(fn, repeats: int):
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def dgemm_peak(size: int = 2000) -> float:
    """1-thread float64 matmul rate (flop/s), best of 3."""
    a = np.random.default_rng(0).standard_normal((size, size))
    a @ a  # warm-up
    t, _ = best_of(lambda: a @ a, 3)
    return 2.0 * size**3 / t


def bench_prediction(q: bool, peak: float, rows: list) -> None:
    import dln_verify.numeric.convex.implicit_bias as ib

    n, d = (50, 500) if q else (200, 5000)
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((n, d)), rng.standard_normal(n)
    ib.implicit_bias_solution(X, y, 1.0, method="newton")
    ib.implicit_bias_solution(X[:20, :60], y[:20], 1.0, method="cvxpy", tol=1e-6)
    for alpha in (1e-6, 1e-3, 0.1, 1.0, 10.0):
        def cold(a=alpha):
            ib._factor_cache.clear()  # a new dataset every call: factor included
            return ib.implicit_bias_solution(X, y, a, method="newton")
        t_cold, sol = best_of(cold, 5)
        t_warm, _ = best_of(lambda a=alpha: ib.implicit_bias_solution(X, y, a, method="newton"), 5)
        t_cvx, cvx = best_of(lambda a=alpha: ib.implicit_bias_solution(X, y, a, method="cvxpy"),
                             1)
        it = max(sol.iterations, 1)
        roof = it * (n * n * d + n**3 / 3.0) / peak  # syrk n²d + Cholesky n³/3 per iteration
        c = sol.certificate
        rows.append({
            "figure": "prediction vs cvxpy+Clarabel", "n": n, "d": d, "alpha": alpha,
            "newton_s_cold": t_cold, "newton_s_cached_factor": t_warm, "cvxpy_s": t_cvx,
            "ratio_cvxpy_over_newton_cold": t_cvx / t_cold, "iterations": sol.iterations,
            "roofline_s": roof, "newton_cold_over_roofline": t_cold / roof,
            "kkt": c.optimality_residual, "primal": c.primal_residual,
            "cvxpy_kkt": cvx.certificate.optimality_residual,
            "cvxpy_primal": cvx.certificate.primal_residual,
        })
        print(f"  α={alpha:g}: newton {t_cold:.4f}s cold / {t_warm:.4f}s cached ({sol.iterations}"
              f" it), cvxpy {t_cvx:.2f}s, ratio {t_cvx / t_cold:.0f}x, roofline x"
              f"{t_cold / roof:.2f}, kkt {c.optimality_residual:.1e}", flush=True)


LARGE = textwrap.dedent("""
    import resource, sys, time, numpy as np
    from threadpoolctl import threadpool_limits
    from dln_verify.numeric.convex import implicit_bias_solution
    n, d = int(sys.argv[1]), int(sys.argv[2])
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d)); y = rng.standard_normal(n)
    with threadpool_limits(1):
        t0 = time.perf_counter()
        sol = implicit_bias_solution(X, y, 1.0, method="newton")
        t = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(t, rss, sol.iterations, sol.certificate.optimality_residual,
          sol.certificate.primal_residual)
""")


def bench_large(q: bool, rows: list) -> None:
    n, d = (300, 30000) if q else (1000, 100000)
    out = subprocess.run([sys.executable, "-c", LARGE, str(n), str(d)], capture_output=True,
                         text=True, cwd=ROOT, check=True).stdout.split()
    t, rss, it, kkt, res = float(out[0]), float(out[1]), int(out[2]), float(out[3]), float(out[4])
    rows.append({"figure": "prediction at scale", "n": n, "d": d, "alpha": 1.0, "time_s": t,
                 "peak_rss_bytes": rss, "data_bytes": 8.0 * n * d, "iterations": it, "kkt": kkt,
                 "primal": res})
    print(f"  ({n}, {d}) α=1: {t:.2f}s, peak RSS {rss / 2**30:.2f} GiB (X is "
          f"{8 * n * d / 2**30:.2f} GiB), {it} it, kkt {kkt:.1e}", flush=True)


def bench_gd(q: bool, peak: float, rows: list) -> None:
    from dln_verify.numeric.gd import gradient_descent

    n, d, B = 100, 1000, 256
    K = 50 if q else 200
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d)) / np.sqrt(n)
    y = rng.standard_normal(n)
    gam = np.linspace(0.01, 0.05, B)
    u0, v0 = np.full(d, 0.1), np.zeros(d)
    for label, bs in (("GD", None), ("SGD b=10", 10)):
        gradient_descent(X, y, u0, v0, gam, 3, tol=1e-300, batch_size=bs)  # compile / warm up
        t, _ = best_of(lambda b=bs: gradient_descent(X, y, u0, v0, gam, K, tol=1e-300,
                                                     record_every=K, batch_size=b), 3)
        sub = 16  # the per-run numpy loop on 16 runs, scaled to B
        t_loop, _ = best_of(lambda b=bs, m=sub: [gradient_descent(
            X, y, u0, v0, gam[i], K, tol=1e-300, record_every=K, batch_size=b, backend="numpy")
            for i in range(m)], 1)
        t_loop *= B / sub
        flops = 4.0 * B * n * d * (K + 1)
        rows.append({"figure": f"batched {label}, shared X", "n": n, "d": d, "B": B, "steps": K,
                     "time_s": t, "percent_of_dgemm_peak": 100 * flops / t / peak,
                     "per_run_numpy_loop_s": t_loop, "ratio_vs_per_run_loop": t_loop / t})
        print(f"  {label}: {t:.3f}s, {100 * flops / t / peak:.1f}% of dgemm peak, "
              f"{t_loop / t:.1f}x the per-run numpy loop", flush=True)
    # a different X per run
    K2 = 5 if q else 20
    Bx = 64 if q else B
    Xs = rng.standard_normal((Bx, n, d)) / np.sqrt(n)
    ys = rng.standard_normal((Bx, n))
    gx = gam[:Bx]
    gradient_descent(Xs, ys, u0, v0, gx, 2, tol=1e-300)
    t, _ = best_of(lambda: gradient_descent(Xs, ys, u0, v0, gx, K2, tol=1e-300,
                                            record_every=K2), 3)
    P = rng.standard_normal((Bx, d, 1))
    R = rng.standard_normal((Bx, 1, n))

    def matmuls():
        for _ in range(K2 + 1):
            np.matmul(Xs, P)
            np.matmul(R, Xs)
    t_mm, _ = best_of(matmuls, 3)
    rows.append({"figure": "batched GD, X per run", "n": n, "d": d, "B": Bx, "steps": K2,
                 "time_s": t, "batched_matmul_s": t_mm,
                 "percent_of_batched_matmul": 100 * t_mm / t})
    print(f"  X per run (B={Bx}): {t:.3f}s, {100 * t_mm / t:.0f}% of the batched np.matmul rate",
          flush=True)


def bench_momentum(q: bool, rows: list) -> None:
    """Heavy ball on the momentum claims' designs: the compiled per-run driver on a shared design
    index vs the batched numpy loop on per-run copies (what momentum-sparsity ran before)."""
    from dln_verify.numeric.instances import sparse_regression
    from dln_verify.numeric.momentum import heavy_ball

    S, n, d = 6, 30, 100
    data = [sparse_regression(n, d, 3, np.random.default_rng(s)) for s in range(S)]
    Xs, ys = np.stack([x for x, _, _ in data]), np.stack([y for _, y, _ in data])
    lams = np.array([0.1, 0.3, 1.0, 2.0])
    mom = np.repeat([0.9, 0.5], lams.shape[0])
    gam = np.concatenate([lams * 0.1**2, lams * 0.5**2])  # γ = λ(1 − β_m)²
    B = S * gam.shape[0]
    design = np.repeat(np.arange(S), gam.shape[0])
    horizon = 40.0 if q else 400.0
    args = (0.1, np.tile(gam, S), np.tile(mom, S), [horizon])
    heavy_ball(Xs, ys, *args[:3], [1.0], design=design)  # compile / load the cache
    t_c, run = best_of(lambda: heavy_ball(Xs, ys, *args, design=design), 3)
    t_np, _ = best_of(lambda: heavy_ball(Xs[design], ys[design], *args, backend="numpy"), 1)
    its = int(np.sum(run.iterations + 1))
    rows.append({"figure": "heavy ball, momentum-claim designs", "n": n, "d": d, "B": B,
                 "designs": S, "run_iterations": its, "compiled_s": t_c,
                 "numpy_batched_copies_s": t_np, "ratio": t_np / t_c,
                 "us_per_run_iteration": 1e6 * t_c / its})
    print(f"  heavy ball B={B} on {S} designs ({its} run-iterations): compiled {t_c:.2f}s "
          f"({1e6 * t_c / its:.2f} µs per run-iteration), {t_np / t_c:.1f}x the batched numpy "
          "loop on copied designs", flush=True)


def bench_gf_data(q: bool, rows: list) -> None:
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    from bench_gf_data import run

    for row in run(q):
        rows.append(row)
        print(f"  ({row['n']}, {row['d']}), {row['kernel_threads']} integrator thread(s): "
              f"{row['wall_s']:.1f}s wall, {row['cpu_s']:.1f}s CPU, "
              f"peak RSS {row['peak_rss_gib']:.2f} GiB (X is {row['X_gib']:.2f} GiB), "
              f"{row.get('status')}", flush=True)


def bench_cli(q: bool, rows: list) -> None:
    def run(*args):
        subprocess.run([sys.executable, "-m", "dln_verify", *args], cwd=ROOT, check=False,
                       capture_output=True)
    t_list, _ = best_of(lambda: run("list"), 3)
    run("check", "mirror-horizon")  # warms the derivation cache
    t_mh, _ = best_of(lambda: run("check", "mirror-horizon"), 1 if q else 2)
    t_py, _ = best_of(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), 3)
    rows.append({"figure": "CLI", "list_s": t_list, "mirror_horizon_check_warm_s": t_mh,
                 "python_startup_s": t_py})
    print(f"  dln-verify list {t_list:.2f}s; check mirror-horizon (warm cache) {t_mh:.2f}s; "
          f"bare python {t_py:.2f}s", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (about a minute)")
    parser.add_argument("--json", default=None, help="write the table to this file")
    parser.add_argument("--only", nargs="*", default=None,
                        help="subset of: prediction large gd momentum gfdata cli")
    args = parser.parse_args(argv)
    parts = args.only or ["prediction", "large", "gd", "momentum", "gfdata", "cli"]
    rows: list[dict] = []
    import scipy.linalg  # noqa: F401  (load scipy's BLAS too, so that threadpoolctl lists it)

    with threadpool_limits(1):
        peak = dgemm_peak()
    env = {"python": platform.python_version(), "numpy": np.__version__,
           "machine": platform.machine(), "cpus": os.cpu_count(),
           "load_average": os.getloadavg()[0], "dgemm_peak_flops_1thread": peak,
           "blas": [{k: i.get(k) for k in ("internal_api", "version", "num_threads",
                                           "threading_layer", "architecture")}
                    for i in threadpool_info()],
           "quick": args.quick}
    print(f"# dgemm 1-thread peak {peak / 1e9:.1f} GFLOP/s; load average "
          f"{env['load_average']:.1f} on {env['cpus']} CPUs; BLAS {env['blas']}")
    print("# best-of-N wall clock; ratios are against baselines measured in this run")
    with threadpool_limits(1):
        if "prediction" in parts:
            print("prediction (implicit_bias_solution, Newton) vs cvxpy + Clarabel (tol 1e-12):")
            bench_prediction(args.quick, peak, rows)
        if "large" in parts:
            print("prediction at scale (separate process):")
            bench_large(args.quick, rows)
        if "gd" in parts:
            print("simulation kernels:")
            bench_gd(args.quick, peak, rows)
        if "momentum" in parts:
            bench_momentum(args.quick, rows)
    if "gfdata" in parts:
        print("check gf-hypentropy --data (fresh process, one BLAS thread):")
        bench_gf_data(args.quick, rows)
    if "cli" in parts:
        print("command line:")
        bench_cli(args.quick, rows)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"environment": env, "rows": rows}, fh, indent=2)
        print(f"# written {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
