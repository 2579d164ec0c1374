"""Shared helpers of the fuzz suite: the exit-code/traceback contract, CLI runners, inputs.

The contract every command line must keep on untrusted input (issue "Untrusted input"):

- the exit code is 0 (all passed), 1 (a claim failed), 2 (bad input) or 3 (nothing failed, some
  claim inconclusive or outside its assumptions);
- stderr never holds a traceback;
- exit 2 comes with ONE line ``dln-verify: error: ...`` (naming the parameter, checked by the
  cases that know which parameter was bad);
- a case finishes well within 60 s on 2 cores (the subprocess runner enforces it with a
  timeout; in-process cases are timed by the test).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from dln_verify.verify.claims import template_claim

#: exit codes of the contract (0 pass, 1 fail, 2 bad input, 3 undecided)
EXIT_CODES = frozenset({0, 1, 2, 3})
#: the issue's bound for one case on 2 cores
CASE_SECONDS = 60.0
#: id given to the copy of the template claim loaded through --plugin
PLUGIN_ID = "fuzz-min-norm"
TEMPLATE = Path(template_claim.__file__)


@dataclass(frozen=True)
class Outcome:
    """What one CLI invocation did."""

    code: int
    out: str
    err: str
    seconds: float

    def error_lines(self) -> list[str]:
        # lines as a terminal shows them: split on newlines only (str.splitlines also splits
        # on \x1c-\x1e, \x85, \u2028 ...)
        return [line for line in self.err.split("\n") if line.startswith("dln-verify: error:")]


def check_contract(res: Outcome, *, param: str | None = None,
                   seconds: float = CASE_SECONDS) -> None:
    """Assert the exit-code/traceback contract; with ``param``: exit 2 naming ``param``.

    ``seconds``: the time bound (60 s for one case; larger only for ``report --all``).
    """
    assert res.code in EXIT_CODES, f"exit code {res.code!r}; stderr: {res.err[-2000:]}"
    assert "Traceback" not in res.err, res.err[-4000:]
    assert "Traceback" not in res.out, res.out[-4000:]
    assert res.seconds < seconds, f"took {res.seconds:.1f} s"
    if res.code == 2:
        lines = res.error_lines()
        assert len(lines) == 1, f"exit 2 needs exactly one error line, stderr: {res.err!r}"
        assert res.err.rstrip("\n").split("\n")[-1] == lines[0], res.err
    if param is not None:
        assert res.code == 2, f"expected exit 2 for a bad {param}, got {res.code}: {res.err!r}"
        assert param in res.error_lines()[0], f"{param!r} not named in {res.err!r}"


def run_main(argv: list[str], capsys) -> Outcome:
    """Run ``dln_verify.verify.cli.main(argv)`` in-process (it always exits)."""
    from dln_verify.verify.cli import main

    capsys.readouterr()
    start = time.perf_counter()
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    seconds = time.perf_counter() - start
    out, err = capsys.readouterr()
    code = info.value.code
    code = 0 if code is None else code
    return Outcome(code if isinstance(code, int) else 1, out, err, seconds)


def run_main_io(argv: list[str]) -> Outcome:
    """:func:`run_main` without pytest's capsys (for hypothesis tests: no function fixtures)."""
    import contextlib

    from dln_verify.verify.cli import main

    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    code: object = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(argv))
        except SystemExit as exc:
            code = 0 if exc.code is None else exc.code
    seconds = time.perf_counter() - start
    return Outcome(code if isinstance(code, int) else 1, out.getvalue(), err.getvalue(), seconds)


def run_cli(*args: str, cwd: Path, timeout: float = CASE_SECONDS) -> Outcome:
    """Run the real entry point ``python -m dln_verify`` in a subprocess."""
    start = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", "dln_verify", *args], cwd=cwd,
                              capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "PYTHONWARNINGS": "ignore"})
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"dln-verify {' '.join(args)} ran past {timeout} s: {exc.stderr!r}")
    return Outcome(proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - start)


def template_plugin_text(claim_id: str = PLUGIN_ID) -> str:
    """The template claim's source with its id changed (as docs/writing-a-claim.md says)."""
    text = TEMPLATE.read_text().replace('id = "template-min-norm"', f'id = "{claim_id}"')
    assert f'id = "{claim_id}"' in text
    return text


# --- data files ---------------------------------------------------------------------------

def regression_arrays(seed: int = 0, n: int = 6, d: int = 14) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.standard_normal(n)


def npz_bytes(compressed: bool = False, **arrays) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


def npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def bad_data_files() -> dict[str, tuple[str, bytes]]:
    """The fixed corpus of --data files that must be refused (name -> (file name, bytes))."""
    X, y = regression_arrays()
    good = npz_bytes(X=X, y=y)
    return {
        "npy": ("p.npy", npy_bytes(X)),
        "npy-named-npz": ("p.npz", npy_bytes(X)),
        "npz-truncated-200": ("t.npz", good[:200]),
        "npz-truncated-half": ("t.npz", good[: len(good) // 2]),
        "plain-text": ("data.txt", b"1 2 3\n4 5 6\n"),
        "text-named-npz": ("data.npz", b"X = [[1, 2], [3, 4]]\n"),
        "empty": ("empty.npz", b""),
        "empty-zip": ("z.npz", zip_bytes({})),
        "pickle-object": ("o.npz", npz_bytes(X=np.array([{"a": 1}], dtype=object), y=y)),
        "no-y": ("noy.npz", npz_bytes(X=X)),
        "wrong-keys": ("k.npz", npz_bytes(A=X, b=y)),
        "y-2d": ("y2.npz", npz_bytes(X=X, y=X)),
        "shape-mismatch": ("m.npz", npz_bytes(X=X, y=np.ones(len(y) + 1))),
        "nan": ("nan.npz", npz_bytes(X=np.where(X > 1, np.nan, X), y=y)),
        "inf-y": ("inf.npz", npz_bytes(X=X, y=np.full_like(y, np.inf))),
        "scaled-1e300": ("big.npz", npz_bytes(X=X * 1e300, y=y * 1e300)),
        "scaled-1e-300": ("small.npz", npz_bytes(X=X * 1e-300, y=y * 1e-300)),
        "overdetermined": ("over.npz", npz_bytes(X=X.T, y=np.ones(X.shape[1]))),
        "rank-deficient": ("rank.npz", npz_bytes(X=np.vstack([X[:1]] * 3), y=np.ones(3))),
        "zero-y": ("zero.npz", npz_bytes(X=X, y=np.zeros_like(y))),
        "strings": ("s.npz", npz_bytes(X=np.array([["a", "b"]]), y=np.array(["c"]))),
        "complex": ("c.npz", npz_bytes(X=X + 1j, y=y)),
        "random-bytes": ("r.npz", bytes(np.random.default_rng(3).integers(0, 256, 4096,
                                                                          dtype=np.uint8))),
        "zip-with-junk-member": ("j.npz", zip_bytes({"X.npy": b"junk", "y.npy": b"junk"})),
    }
