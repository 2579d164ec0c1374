"""Seed sweeps on dask.distributed: one task per (claim, seed[, α]), streamed, resumable.

``dln-verify sweep`` (see ``docs/sweeps.md``) checks claims at every seed of a range, because a
verdict must not depend on the seed: a true theorem that "fails" at some seed is a bug in the
check, and a negative control that is accepted at some seed is a control that does not control.

Design
------
- **Tasks.** One task per ``(claim, seed)`` — or per ``(claim, seed, α)`` with ``--alpha LIST``.
  A task runs ``registry.get(claim).check(seed=S, profile=P, **options)`` in a worker process
  (:func:`run_task`); the seed of the task *is* the integer ``S`` (each claim derives all its
  randomness from it), so ``dln-verify check CLAIM --seed S [--alpha A]`` reproduces a task
  exactly. An exception inside a check becomes an ``error`` record
  (:func:`~dln_verify.verify.runner.error_evidence`), as in ``dln-verify check``.
- **Cluster.** A :class:`distributed.LocalCluster` of ``workers`` processes (default
  ``os.cpu_count()``), one thread each, or an existing cluster given by its scheduler address.
- **Results.** ``OUT/results.jsonl`` gets one line per finished task, written by this (client)
  process only, in the order tasks finish: append, flush, fsync per line. A line is the record of
  ``dln-verify check --json`` plus ``task`` (claim, seed, alpha), ``options``,
  ``git_revision``, ``worker`` and ``elapsed_s``.
- **Resuming.** Rerunning the same command skips the tasks already in ``results.jsonl``; a
  partially written last line (a killed client) is dropped and its task rerun. A lock file
  keeps two sweeps from writing into one folder.
- **Failures.** A worker that dies takes no finished result with it (results live in the
  client's file); the scheduler reschedules its task and ``retries`` covers exceptions escaping
  the task. A task that still cannot run (its worker died every time) is *not* written: it is
  reported as missing, the exit status is 1, and a rerun retries it.

Examples
--------
>>> parse_seeds("0-9")
range(0, 10)
>>> parse_alphas("0.2, 0.5")
[0.2, 0.5]
>>> [t.key for t in plan_tasks(["gf-depth"], parse_seeds("3-4"), [0.2])]
[('gf-depth', 3, 0.2), ('gf-depth', 4, 0.2)]
>>> check_scheduler_address("localhost:8786")
'tcp://localhost:8786'
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import math
import os
import re
import socket
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

__all__ = [
    "MAX_TASKS",
    "Task",
    "SweepResult",
    "parse_seeds",
    "parse_alphas",
    "check_scheduler_address",
    "plan_tasks",
    "ResultsFile",
    "run_task",
    "run_sweep",
    "reproduce_command",
]

#: the largest number of tasks one sweep may plan (a guard against a typo like 0-99999999)
MAX_TASKS = 1_000_000
#: extra tries of a task whose function raised (dask ``retries=``); a task whose worker died is
#: rescheduled by the scheduler itself (up to ``distributed.scheduler.allowed-failures``)
RETRIES = 2
RESULTS_NAME, SUMMARY_NAME, INDEX_NAME, LOCK_NAME = (
    "results.jsonl", "summary.json", "index.html", ".sweep.lock")

_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")


@dataclass(frozen=True, order=True)
class Task:
    """One unit of a sweep: check ``claim`` at ``seed`` (and initialisation scale ``alpha``)."""

    claim: str
    seed: int
    alpha: float | None = None

    @property
    def key(self) -> tuple[str, int, float | None]:
        return (self.claim, self.seed, self.alpha)

    def as_dict(self) -> dict[str, Any]:
        return {"claim": self.claim, "seed": self.seed, "alpha": self.alpha}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Task:
        alpha = data.get("alpha")
        return cls(str(data["claim"]), int(data["seed"]),
                   None if alpha is None else float(alpha))


@dataclass
class SweepResult:
    """What :func:`run_sweep` did: the planned tasks, their records and what is missing."""

    tasks: list[Task]
    records: dict[tuple, dict[str, Any]]
    new: int
    missing: dict[tuple, str] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)
    elapsed_s: float = 0.0


# -- parsing the command line -------------------------------------------------------------------
_SEEDS = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


def parse_seeds(text: str) -> range:
    """The inclusive seed range ``A-B`` (or a single seed ``S``) as a :class:`range`.

    Raises
    ------
    ValueError
        Naming ``--seeds`` for anything but integers ``0 <= A <= B`` (at most
        :data:`MAX_TASKS` seeds).

    Examples
    --------
    >>> parse_seeds("5"), parse_seeds("1000-1099")
    (range(5, 6), range(1000, 1100))
    >>> parse_seeds("5-2")
    Traceback (most recent call last):
    ...
    ValueError: --seeds: expected A-B with integers 0 <= A <= B (e.g. 0-99), got '5-2'
    """
    match = _SEEDS.match(str(text))
    bad = ValueError(f"--seeds: expected A-B with integers 0 <= A <= B (e.g. 0-99), got {text!r}")
    if match is None:
        raise bad
    low = int(match.group(1))
    high = int(match.group(2)) if match.group(2) is not None else low
    if low > high:
        raise bad
    if high - low + 1 > MAX_TASKS:
        raise ValueError(f"--seeds: at most {MAX_TASKS} seeds per sweep, got {text!r} "
                         f"({high - low + 1} seeds)")
    return range(low, high + 1)


def parse_alphas(text: str) -> list[float]:
    """A comma-separated list of initialisation scales ``α > 0`` (duplicates dropped).

    Each value is checked against the claim's own supported range when the instance is built.

    Examples
    --------
    >>> parse_alphas("0.05,0.2,0.2,0.7")
    [0.05, 0.2, 0.7]
    >>> parse_alphas("0.2,x")
    Traceback (most recent call last):
    ...
    ValueError: --alpha: expected a comma-separated list of numbers > 0 (e.g. 0.1,0.5), got '0.2,x'
    """
    bad = ValueError(f"--alpha: expected a comma-separated list of numbers > 0 (e.g. 0.1,0.5), "
                     f"got {text!r}")
    parts = [p.strip() for p in str(text).split(",")]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise bad from None
    if not values or not all(math.isfinite(v) and v > 0 for v in values):
        raise bad
    return list(dict.fromkeys(values))


def check_scheduler_address(address: str) -> str:
    """Validate a dask scheduler address; ``HOST:PORT`` means ``tcp://HOST:PORT``.

    Raises
    ------
    ValueError
        Naming ``--scheduler`` unless the address is ``SCHEME://HOST:PORT`` with a scheme dask
        speaks (tcp, tls, ws, wss, ucx) and a port in 1…65535.

    Examples
    --------
    >>> check_scheduler_address("tcp://10.0.0.5:8786")
    'tcp://10.0.0.5:8786'
    >>> check_scheduler_address("tcp://node1")
    Traceback (most recent call last):
    ...
    ValueError: --scheduler: expected SCHEME://HOST:PORT (e.g. tcp://node1:8786), got 'tcp://node1'
    """
    from distributed.comm.addressing import parse_address, parse_host_port

    text = str(address).strip()
    bad = ValueError(f"--scheduler: expected SCHEME://HOST:PORT (e.g. tcp://node1:8786), "
                     f"got {address!r}")
    if not text or any(ch.isspace() for ch in text):
        raise bad
    if "://" not in text:
        text = "tcp://" + text
    try:
        scheme, location = parse_address(text, strict=True)
        host, port = parse_host_port(location)
    except (ValueError, TypeError):
        raise bad from None
    if scheme not in _SCHEMES or not host or not 1 <= int(port) <= 65535:
        raise bad
    return text


def plan_tasks(claim_ids: Sequence[str], seeds: Iterable[int],
               alphas: Sequence[float] | None = None) -> list[Task]:
    """Every ``(claim, seed[, α])`` task, claim by claim, seed by seed (then α)."""
    seeds = list(seeds)
    alpha_values: list[float | None] = list(alphas) if alphas else [None]
    return [Task(c, s, a) for c in claim_ids for s in seeds for a in alpha_values]


def reproduce_command(task: Task, profile: str, options: Mapping[str, Any] | None = None,
                      plugins: Sequence[str] = ()) -> str:
    """The ``dln-verify check`` command line that reproduces ``task`` exactly.

    Examples
    --------
    >>> reproduce_command(Task("gf-depth", 7, 0.2), "quick")
    'dln-verify check gf-depth --seed 7 --profile quick --alpha 0.2'
    """
    words = ["dln-verify", "check", task.claim, "--seed", str(task.seed), "--profile", profile]
    if task.alpha is not None:
        words += ["--alpha", repr(task.alpha)]
    for name, value in sorted((options or {}).items()):
        words += ["--" + name.replace("_", "-"), _quote(str(value))]
    for path in plugins:
        words += ["--plugin", _quote(str(path))]
    return " ".join(words)


def _quote(word: str) -> str:
    import shlex

    return shlex.quote(word)


# -- the results file ---------------------------------------------------------------------------
class ResultsFile:
    """``OUT/results.jsonl``: read (repairing a torn last line), locked, appended durably.

    Use as a context manager; :meth:`append` writes one line with flush and fsync, so a line is
    either entirely in the file or (if the process dies mid-write) a torn tail that the next
    open drops.
    """

    def __init__(self, out: Path | str):
        self.out = Path(out)
        self.path = self.out / RESULTS_NAME
        self.records: dict[tuple, dict[str, Any]] = {}
        self.dropped_tail = 0
        self.duplicates = 0
        self._handle: IO[str] | None = None
        self._lock: IO[str] | None = None

    def __enter__(self) -> ResultsFile:
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            self._lock = open(self.out / LOCK_NAME, "a")  # noqa: SIM115 - held until __exit__
        except OSError as exc:
            raise ValueError(f"--out {self.out}: cannot write there: "
                             f"{exc.strerror or exc}") from None
        try:
            import fcntl

            fcntl.flock(self._lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # pragma: no cover - not POSIX: no lock, documented
            pass
        except OSError:
            self._lock.close()
            self._lock = None
            raise ValueError(f"--out {self.out}: another sweep is writing there "
                             f"(lock {LOCK_NAME} is held)") from None
        self._read()
        self._handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def _read(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1  # everything after the last newline is a torn write
        if end < len(data):
            self.dropped_tail = len(data) - end
            with open(self.path, "r+b") as handle:
                handle.truncate(end)
                handle.flush()
                os.fsync(handle.fileno())
        for number, raw in enumerate(data[:end].splitlines(), 1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
                task = Task.from_dict(record["task"])
            except (ValueError, KeyError, TypeError):
                raise ValueError(f"--out {self.out}: line {number} of {RESULTS_NAME} is not a "
                                 "sweep record (remove it, or use another --out)") from None
            if task.key in self.records:
                self.duplicates += 1  # never written by this module; keep the first
                continue
            self.records[task.key] = slim(record)

    def append(self, record: Mapping[str, Any]) -> None:
        """Write one record as one line (append, flush, fsync) and remember its slim form."""
        if self._handle is None:
            raise RuntimeError("ResultsFile.append outside its context")
        self._handle.write(json.dumps(record, sort_keys=False) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self.records[Task.from_dict(record["task"]).key] = slim(record)


_SLIM_KEYS = ("claim", "status", "passed", "metric", "metrics", "controls", "tolerances",
              "message", "seed", "profile", "task", "options", "git_revision", "elapsed_s",
              "title", "worker")


def slim(record: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a results line that the summary reads (figures and prose dropped)."""
    out = {k: record[k] for k in _SLIM_KEYS if k in record}
    if "controls" in out:
        out["controls"] = [{k: c.get(k) for k in ("name", "rejected", "metric", "metric_name")}
                           for c in out["controls"]]
    return out


# -- the worker side ----------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _worker_revision() -> str:
    from dln_verify.verify.provenance import git_revision

    return git_revision()


def run_task(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Run one task in the current (worker) process and return its results line.

    ``spec`` has ``claim``, ``seed``, ``alpha``, ``profile``, ``options`` (the claim's other
    options) and ``plugins`` (absolute paths, loaded here first: a worker is a separate
    process). Any exception becomes an ``error`` record; nothing is raised.

    Examples
    --------
    >>> line = run_task({"claim": "no-such-claim", "seed": 3, "alpha": None,
    ...                  "profile": "quick", "options": {}, "plugins": []})
    >>> line["status"], line["task"]
    ('error', {'claim': 'no-such-claim', 'seed': 3, 'alpha': None})
    >>> line["message"][:51]
    'internal error: UnknownClaimError: unknown claim id'
    """
    from dln_verify.verify import registry
    from dln_verify.verify.claim import Evidence
    from dln_verify.verify.runner import error_evidence

    claim_id, seed, profile = spec["claim"], int(spec["seed"]), spec["profile"]
    options = dict(spec.get("options") or {})
    if spec.get("alpha") is not None:
        options["alpha"] = float(spec["alpha"])
    start = time.perf_counter()
    try:
        for path in spec.get("plugins") or ():
            registry.load_plugin(path)
        evidence = registry.get(claim_id).check(seed=seed, profile=profile, **options)
    except Exception as exc:  # noqa: BLE001 - recorded as an error verdict, as in `check`
        try:
            evidence = error_evidence(claim_id, seed, profile, exc)
        except Exception:  # noqa: BLE001 - the claim itself is not loadable in this worker
            evidence = Evidence(
                claim=claim_id, title=claim_id, kind="unknown", status="error", passed=False,
                metric="none", metrics={}, tolerance={}, seed=seed, profile=profile,
                parameters={}, controls=(), reference="",
                message=f"internal error: {type(exc).__name__}: {exc}")
    record = evidence.to_json_dict()
    record.update({
        "task": {"claim": claim_id, "seed": seed, "alpha": spec.get("alpha")},
        "options": dict(spec.get("options") or {}),
        "git_revision": _worker_revision(),
        "worker": f"{socket.gethostname()}:{os.getpid()}",
        "elapsed_s": round(time.perf_counter() - start, 3),
    })
    return record


# -- progress -----------------------------------------------------------------------------------
class _Progress:
    """tqdm if it is installed, else a counter line on stderr (rewritten in place on a TTY)."""

    def __init__(self, total: int, done: int, stream: IO[str] | None = None):
        self.total, self.done, self.new = total, done, 0
        self.stream = stream or sys.stderr
        self.counts: dict[str, int] = {}
        self.start = self.last = time.monotonic()
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        try:
            from tqdm import tqdm
        except ImportError:
            self.bar = None
        else:
            self.bar = tqdm(total=total, initial=done, unit="task", file=self.stream,
                            desc="sweep", dynamic_ncols=True)

    def update(self, status: str) -> None:
        self.done += 1
        self.new += 1
        self.counts[status] = self.counts.get(status, 0) + 1
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(self.counts, refresh=False)
            return
        now = time.monotonic()
        if self.tty or now - self.last >= 10 or self.done == self.total or self.new <= 20:
            self.last = now
            self._line(now)

    def _line(self, now: float) -> None:
        elapsed = now - self.start
        left = (self.total - self.done) * elapsed / self.new if self.new else float("nan")
        counts = ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items()))
        text = (f"sweep: {self.done}/{self.total} tasks ({counts}); {elapsed:.0f} s, "
                f"~{left:.0f} s left")
        if self.tty:
            self.stream.write("\r" + text.ljust(78))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.tty:
            self.stream.write("\n")
            self.stream.flush()


# -- the client side ----------------------------------------------------------------------------
@contextlib.contextmanager
def _client(workers: int | None, scheduler: str | None) -> Iterator[Any]:
    """A dask Client on a fresh LocalCluster (``workers`` processes) or on ``scheduler``."""
    from dask.distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler)
        except (OSError, TimeoutError) as exc:
            detail = " ".join(str(exc).split()) or type(exc).__name__
            raise ValueError(f"--scheduler {scheduler}: cannot connect: {detail}") from None
        try:
            yield client
        finally:
            client.close()
        return
    n = workers or os.cpu_count() or 1
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=logging.CRITICAL) as cluster, \
            Client(cluster) as client:
        yield client


def _preflight(tasks: Sequence[Task], profile: str, options_for: Mapping[str, dict],
               plugins: Sequence[str]) -> None:
    """Build one instance per (claim, α) in this process: bad input fails before any work."""
    from dln_verify.symbolic.errors import OutsideAssumptions
    from dln_verify.verify import registry

    for path in plugins:
        registry.load_plugin(path)
    seen: set[tuple] = set()
    for task in tasks:
        if (task.claim, task.alpha) in seen:
            continue
        seen.add((task.claim, task.alpha))
        options = dict(options_for[task.claim])
        if task.alpha is not None:
            options["alpha"] = task.alpha
        try:
            registry.get(task.claim).build_instance(seed=task.seed, profile=profile, **options)
        except OutsideAssumptions:
            pass  # not bad input: the tasks will report outside-assumptions
        except ValueError as exc:
            raise ValueError(f"{task.claim}: {exc}") from None
        except Exception:  # noqa: BLE001 - a crash is the worker's error record to report
            pass


def _split_options(claim_ids: Sequence[str], options: Mapping[str, Any],
                   alphas: Sequence[float] | None,
                   note: Callable[[str], None]) -> dict[str, dict[str, Any]]:
    """Per-claim options (only the claims that declare them); ValueError for unusable ones."""
    from dln_verify.verify import registry

    claims = {c: registry.get(c) for c in claim_ids}
    options = {k: v for k, v in options.items() if v is not None}
    if "alpha" in options:
        raise ValueError("--alpha: give the sweep's list form once (e.g. --alpha 0.2,0.5)")
    if alphas:
        refusing = [c for c, claim in claims.items() if "alpha" not in claim.options]
        if refusing:
            takers = [c for c, claim in claims.items() if "alpha" in claim.options]
            raise ValueError(f"--alpha: {', '.join(refusing)} declare(s) no alpha option "
                             f"(claims here that do: {', '.join(takers) or 'none'})")
    for key in options:
        takers = [c for c, claim in claims.items() if key in claim.options]
        if not takers:
            raise ValueError(f"option --{key.replace('_', '-')} is not accepted by any of: "
                             f"{', '.join(claim_ids)}")
        if len(takers) < len(claims):
            note(f"note: option --{key.replace('_', '-')} applies only to {', '.join(takers)}")
    return {c: {k: v for k, v in options.items() if k in claim.options}
            for c, claim in claims.items()}


def _check_compatible(existing: Mapping[tuple, Mapping[str, Any]], out: Path, profile: str,
                      options_for: Mapping[str, Mapping[str, Any]]) -> None:
    for record in existing.values():
        claim = record["task"]["claim"]
        if record.get("profile") != profile:
            raise ValueError(f"--out {out}: {RESULTS_NAME} holds tasks of --profile "
                             f"{record.get('profile')}, not {profile}; use another --out")
        if claim in options_for and _plain(record.get("options", {})) != _plain(
                options_for[claim]):
            raise ValueError(f"--out {out}: {RESULTS_NAME} holds {claim} tasks run with options "
                             f"{record.get('options', {})}, not {dict(options_for[claim])}; "
                             "use another --out")


def _plain(options: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in options.items()}


def run_sweep(
    claim_ids: Sequence[str],
    seeds: Iterable[int],
    *,
    out: Path | str,
    alphas: Sequence[float] | None = None,
    profile: str = "quick",
    options: Mapping[str, Any] | None = None,
    plugins: Sequence[str | Path] = (),
    workers: int | None = None,
    scheduler: str | None = None,
    note: Callable[[str], None] | None = None,
    progress: bool = True,
    command: str | None = None,
) -> SweepResult:
    """Run (or resume) a sweep and write ``results.jsonl``, ``summary.json``, ``index.html``.

    Parameters
    ----------
    claim_ids : sequence of str
        Registered claim ids (plugins in ``plugins`` are loaded first).
    seeds : iterable of int
        The seeds; each task's seed is the integer itself.
    out : path
        Output folder (created); an existing ``results.jsonl`` there is resumed.
    alphas : sequence of float, optional
        One task per α for each seed; every claim must declare an ``alpha`` option.
    profile : {"quick", "thorough"}
    options : mapping, optional
        Other claim options (``data`` …), passed to the claims that declare them.
    plugins : sequence of paths
        Claim files, loaded here and in every worker (the paths must exist on the workers).
    workers : int, optional
        Worker processes of the local cluster (default ``os.cpu_count()``).
    scheduler : str, optional
        Address of an existing dask scheduler instead of a local cluster.
    note : callable, optional
        Where one-line notes go (default: stderr).
    progress : bool
        Show a progress bar (tqdm if installed) or counter line on stderr.

    Returns
    -------
    SweepResult

    Raises
    ------
    ValueError
        For bad input, naming the option (before any task runs).
    """
    from dln_verify.verify import registry
    from dln_verify.verify.claim import PROFILES
    from dln_verify.verify.sweep_report import write_outputs

    started = time.perf_counter()
    note = note or (lambda text: print(text, file=sys.stderr))
    if profile not in PROFILES:
        raise ValueError(f"--profile must be one of {', '.join(PROFILES)}, got {profile!r}")
    if workers is not None and scheduler is not None:
        raise ValueError("--workers and --scheduler: give one (a local cluster of N workers, or "
                         "an existing cluster)")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise ValueError(f"--workers must be an integer >= 1, got {workers!r}")
    if scheduler is not None:
        scheduler = check_scheduler_address(scheduler)
    plugin_paths = [str(Path(p).expanduser().resolve()) for p in plugins]
    for path in plugin_paths:
        registry.load_plugin(path)
    for claim_id in claim_ids:
        registry.get(claim_id)  # UnknownClaimError (a ValueError) names the id
    claim_ids = list(dict.fromkeys(claim_ids))
    if not claim_ids:
        raise ValueError("give at least one claim id, or --all")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("--seeds: the range is empty")
    options_for = _split_options(claim_ids, dict(options or {}), alphas, note)
    tasks = plan_tasks(claim_ids, seeds, alphas)
    if len(tasks) > MAX_TASKS:
        raise ValueError(f"--seeds/--alpha: {len(tasks)} tasks, at most {MAX_TASKS} per sweep")
    _preflight(tasks, profile, options_for, plugin_paths)
    out = Path(out)
    result = SweepResult(tasks=tasks, records={}, new=0)
    with ResultsFile(out) as results:
        if results.dropped_tail:
            note(f"note: dropped a partially written last line ({results.dropped_tail} bytes) "
                 f"of {results.path}; its task runs again")
        _check_compatible(results.records, out, profile, options_for)
        pending = [t for t in tasks if t.key not in results.records]
        where = (f"sweep: {len(tasks)} tasks, {len(tasks) - len(pending)} already in "
                 f"{results.path}, {len(pending)} to run")
        if pending:
            result.new, result.missing = _execute(
                pending, results, profile, options_for, plugin_paths, workers, scheduler,
                len(tasks), progress, lambda: note(where))
        else:
            note(where)
        result.records = {t.key: results.records[t.key] for t in tasks
                          if t.key in results.records}
        result.elapsed_s = time.perf_counter() - started
        meta = {"seeds": [seeds[0], seeds[-1]], "alphas": list(alphas) if alphas else None,
                "profile": profile, "options": {c: _plain(o) for c, o in options_for.items()},
                "plugins": plugin_paths,
                "cluster": scheduler or f"LocalCluster({workers or os.cpu_count() or 1} "
                                        "workers x 1 thread)",
                "new_tasks": result.new, "wall_s": round(result.elapsed_s, 1),
                "command": command or " ".join(["dln-verify", *sys.argv[1:]]),
                "other_records_in_file": len(results.records) - len(result.records)}
        result.summary, result.paths = write_outputs(out, tasks, result.records,
                                                     result.missing, meta)
    return result


def _execute(pending: Sequence[Task], results: ResultsFile, profile: str,
             options_for: Mapping[str, Mapping[str, Any]], plugins: Sequence[str],
             workers: int | None, scheduler: str | None, total: int,
             show_progress: bool, connected: Callable[[], None]) -> tuple[int, dict[tuple, str]]:
    """Submit ``pending`` to the cluster and append each result as it arrives."""
    from dask.distributed import as_completed

    new, missing = 0, {}
    bar = None
    run_id = uuid.uuid4().hex[:8]
    try:
        with _client(workers, scheduler) as client:
            connected()
            bar = _Progress(total, total - len(pending)) if show_progress else None
            futures = {}
            for task in pending:
                spec = {**task.as_dict(), "profile": profile,
                        "options": dict(options_for[task.claim]), "plugins": list(plugins)}
                key = f"dln-verify-{task.claim}-seed{task.seed}" + (
                    f"-alpha{task.alpha:g}" if task.alpha is not None else "") + f"-{run_id}"
                futures[client.submit(run_task, spec, key=key, pure=False,
                                      retries=RETRIES)] = task
            for future in as_completed(list(futures)):
                task = futures.pop(future)
                try:
                    record = future.result()
                except Exception as exc:  # noqa: BLE001 - KilledWorker, cancelled, lost data
                    missing[task.key] = " ".join(f"{type(exc).__name__}: {exc}".split())
                    status = "not run"
                else:
                    results.append(record)
                    new += 1
                    status = record["status"]
                future.release()
                if bar is not None:
                    bar.update(status)
    finally:
        if bar is not None:
            bar.close()
    return new, missing
