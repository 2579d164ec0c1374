"""The ``dln-verify`` command line (also ``python -m dln_verify``).

Exit codes: 0 every checked claim passed; 1 a claim failed, diverged or errored; 2 bad input
(unknown claim id, invalid option value, unparsable expression, unloadable plugin); 3 no claim
failed but at least one was not decided (``inconclusive`` or ``outside-assumptions``). ``sweep``
exits 0 when no task failed or errored (undecided tasks are counted in its summary), 1
otherwise. Errors print one line, never a traceback.

Per-claim options (``--data``, ``--alpha``, ``--potential`` …) are not listed here: they are
built from the :class:`~dln_verify.verify.claim.Option` declarations of the registered claims,
including those of ``--plugin`` files, which are therefore loaded before the arguments are
parsed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from dln_verify.verify import registry
from dln_verify.verify.claim import PROFILES, Evidence, Option
from dln_verify.verify.formatting import format_number

__all__ = ["main", "cli", "exit_code", "PhaseBars", "EXIT_PASS", "EXIT_FAIL", "EXIT_INPUT",
           "EXIT_UNDECIDED"]

EXIT_PASS, EXIT_FAIL, EXIT_INPUT, EXIT_UNDECIDED = 0, 1, 2, 3
_UNDECIDED = ("inconclusive", "outside-assumptions")


def exit_code(results: Sequence[Evidence]) -> int:
    """0 all passed; 1 any fail/diverged/error; 3 otherwise (some claim not decided)."""
    if all(ev.passed for ev in results):
        return EXIT_PASS
    if all(ev.passed or ev.status in _UNDECIDED for ev in results):
        return EXIT_UNDECIDED
    return EXIT_FAIL


_QUIET = {"on": False}


def _progress(message: str) -> None:
    if not _QUIET["on"]:
        click.echo(message, err=True)


class PhaseBars:
    """Progress bars (tqdm) on ``stream`` for one claim's check: one bar per phase.

    A phase is an outermost :func:`~dln_verify.numeric.progress.progress_scope` (``predict``,
    ``simulate``, ``controls``, opened by :meth:`~dln_verify.verify.claim.Claim.check_instance`);
    a simulator's scope inside it is shown in the phase's bar with its own unit, total and
    label. Bars are erased when their phase ends (``leave=False``), so the per-claim lines stay
    the only lasting output. A failing bar (a closed stream) switches itself off instead of
    failing the check.

    Examples
    --------
    >>> import io
    >>> from dln_verify.numeric.progress import progress_scope, reporting
    >>> stream = io.StringIO()
    >>> with reporting(PhaseBars("[1/1] toy", stream)):
    ...     with progress_scope(label="simulate"):
    ...         with progress_scope(4, "t", "flow") as scope:
    ...             scope.advance_to(4)
    >>> "[1/1] toy simulate" in stream.getvalue()
    True
    """

    def __init__(self, prefix: str, stream: Any) -> None:
        self.prefix, self.stream = prefix, stream
        self.bar: Any = None
        self.shown: int | None = None
        self.broken = False

    def __call__(self, event: Any) -> None:
        if self.broken:
            return
        try:
            self._handle(event)
        except Exception:  # noqa: BLE001 - a display must never change a verdict
            self.broken = True
            self._close()

    def _close(self) -> None:
        bar, self.bar, self.shown = self.bar, None, None
        if bar is not None:
            try:
                bar.close()
            except Exception:  # noqa: BLE001 - the stream is gone; nothing to show
                pass

    def _handle(self, event: Any) -> None:
        from tqdm import tqdm

        if event.depth == 0 and event.kind == "start":
            self._close()
            self.bar = tqdm(total=event.total, unit=event.unit or "it", unit_scale=True,
                            desc=f"{self.prefix} {event.label}", file=self.stream,
                            leave=False, dynamic_ncols=True)
            self.shown = event.scope_id
            return
        if event.depth == 0 and event.kind == "end":
            self._close()
            return
        if self.bar is None or event.kind == "end":
            return
        if event.scope_id != self.shown:  # another scope reports: show it in the phase's bar
            self.bar.unit = event.unit or "it"
            self.bar.set_postfix_str(event.label if event.depth else "", refresh=False)
            self.bar.reset(total=event.total)
            self.shown = event.scope_id
        if event.kind == "advance":
            self.bar.update(event.done - self.bar.n)


def _stderr_is_tty() -> bool:
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def _live_bars():
    """A :class:`PhaseBars` factory for :func:`~dln_verify.verify.runner.run_claims`, or None
    when stderr is not a terminal (logs get only the per-claim lines) or ``--quiet`` is on."""
    if _QUIET["on"] or not _stderr_is_tty():
        return None
    return lambda prefix: PhaseBars(prefix, sys.stderr)


def _set_quiet(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    _QUIET["on"] = bool(value)
    return value


_quiet = click.option("--quiet", "-q", is_flag=True, expose_value=False, callback=_set_quiet,
                      is_eager=True, help="No progress on stderr: no per-claim lines, no bars "
                                   "(errors still print).")


def _resolve_ids(ids: tuple[str, ...], all_: bool) -> list[str]:
    if all_ and ids:
        raise click.UsageError("give claim ids or --all, not both")
    if all_:
        return registry.ids()
    if not ids:
        raise click.UsageError("give at least one claim id, or --all (see `dln-verify list`)")
    for claim_id in ids:
        registry.get(claim_id)  # raises UnknownClaimError (a ValueError) -> exit 2
    return list(dict.fromkeys(ids))


_seed = click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
                     help="Seed of the instance generators and of every random run.")
_profile = click.option("--profile", type=click.Choice(PROFILES), default="quick",
                        show_default=True, help="quick: CI-sized; thorough: larger sweeps.")
_plugin = click.option("--plugin", "plugins", multiple=True, metavar="FILE.py",
                       help="Load claims from a Python file (repeatable).")

_CLICK_TYPES = {"str": click.STRING, "float": click.FLOAT, "int": click.INT,
                "path": click.Path(exists=True, dir_okay=False)}


def claim_options() -> dict[str, Option]:
    """The union of the registered claims' option declarations (one per name)."""
    merged: dict[str, tuple[Option, list[str]]] = {}
    for claim in registry.all_claims():
        for name, option in claim.options.items():
            if name in merged:
                known, takers = merged[name]
                if known.type != option.type:
                    raise ValueError(f"claims {takers[0]} and {claim.id} declare option "
                                     f"--{name} with different types ({known.type}, "
                                     f"{option.type})")
                takers.append(claim.id)
            else:
                merged[name] = (option, [claim.id])
    return {name: opt for name, (opt, _) in sorted(merged.items())}


def _claim_params(options: dict[str, Option]) -> list[click.Option]:
    """One click option per name; claims that explain it differently each keep their own text
    (``--data`` means (X, y) regression data to some claims and ±1-labelled data to others)."""
    params = []
    for name, opt in options.items():
        texts: dict[str, list[str]] = {}
        for claim in registry.all_claims():
            if name in claim.options:
                texts.setdefault(claim.options[name].help, []).append(claim.id)
        help_text = "; ".join(f"{text} [{', '.join(ids)}]" for text, ids in texts.items())
        params.append(click.Option(
            [opt.flag, name], type=_CLICK_TYPES[opt.type], multiple=True,
            metavar=opt.metavar or name.upper(), help=help_text))
    return params


def _claim_values(values: dict[str, Any]) -> dict[str, Any]:
    """Per-claim option values from click's tuples; a repeated option is an input error."""
    out = {}
    for name, given in values.items():
        if not given:
            continue
        if len(given) > 1:
            raise click.BadParameter(f"given {len(given)} times; give it once",
                                     param_hint=f"'--{name.replace('_', '-')}'")
        out[name] = given[0]
    return out


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dln-verify")
def cli() -> None:
    """Verify implicit-bias claims for diagonal linear networks and mirror flows."""


def markdown_catalogue() -> str:
    """The catalogue as a Markdown table (``dln-verify list --markdown``; the README's table)."""
    lines = ["| id | source | what is checked | kind | options |", "|---|---|---|---|---|"]
    for claim in registry.all_claims():
        options = ", ".join(f"`{o.flag}`" for o in claim.options.values()) or "—"
        lines.append(f"| `{claim.id}` | {claim.reference.short}, {claim.reference.theorem} | "
                     f"{claim.title} | {claim.kind} | {options} |")
    return "\n".join(lines)


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per claim.")
@click.option("--markdown", "as_markdown", is_flag=True, help="The catalogue as a Markdown table.")
@_plugin
def list_claims(as_json: bool, as_markdown: bool, plugins: tuple[str, ...]) -> None:
    """The catalogue: id, kind, paper, theorem."""
    if as_json and as_markdown:
        raise click.UsageError("give --json or --markdown, not both")
    if as_markdown:
        click.echo(markdown_catalogue())
        return
    claims = registry.all_claims()
    width = max([22, *(len(c.reference.short) for c in claims)])
    for claim in claims:
        ref = claim.reference
        if as_json:
            click.echo(json.dumps({"claim": claim.id, "title": claim.title, "kind": claim.kind,
                                   "reference": ref.cite(), "options": sorted(claim.options),
                                   "source": registry.source(claim.id)}))
        else:
            click.echo(f"{claim.id:<24} {claim.kind:<12} {ref.short:<{width}} {ref.theorem}")


def _run(claim_ids, seed, profile, claim_values):
    from dln_verify.verify.runner import run_claims

    return run_claims(claim_ids, seed=seed, profile=profile, options=claim_values,
                      progress=_progress, live=_live_bars())


def _write_json_results(results: Sequence[Evidence], path: Path, seed: int, profile: str) -> None:
    from dln_verify.verify.provenance import provenance
    from dln_verify.verify.report import results_payload, write_atomically

    payload = results_payload(results, provenance(seed=seed, profile=profile), {})
    write_atomically(path, json.dumps(payload, indent=2) + "\n")


@cli.command()
@click.argument("ids", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Check every registered claim.")
@_seed
@_profile
@click.option("--json", "as_json", is_flag=True, help="JSON Lines: one object per claim.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              metavar="FILE", help="Also write the results (results.json schema) to FILE.")
@_plugin
@_quiet
def check(ids, all_, seed, profile, as_json, output, plugins, **claim_values) -> None:
    """Check claims; exit 0 if all pass, 1 if any fails, 3 if some are undecided."""
    claim_ids = _resolve_ids(ids, all_)
    results = _run(claim_ids, seed, profile, _claim_values(claim_values))
    for ev in results:
        if as_json:
            click.echo(json.dumps(ev.to_json_dict()))
        else:
            value = format_number(ev.metrics.get(ev.metric, ""))
            tol = format_number(ev.tolerance.get(ev.metric, ""))
            rejected = sum(c.rejected for c in ev.controls)
            click.echo(f"{ev.status.upper():<8} {ev.claim:<24} {ev.metric} = {value} "
                       f"(tolerance {tol}); controls rejected {rejected}/{len(ev.controls)}")
            if not ev.passed:
                click.echo(f"         {ev.message}")
    if output is not None:
        _write_json_results(results, output, seed, profile)
    sys.exit(exit_code(results))


def _check_writable(out: Path) -> None:
    from dln_verify.verify.report import check_out_folder

    out = check_out_folder(out)  # never the current folder or a parent (ValueError, exit 2)
    try:  # fail before any work if the output folder's parent cannot be written
        out.parent.mkdir(parents=True, exist_ok=True)
        probe = out.parent / f".{out.name}.write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise click.BadParameter(f"cannot write to {out}: {exc.strerror or exc}",
                                 param_hint="'--out'") from None


@cli.command()
@click.argument("ids", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Report every claim (the default).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("reports"),
              show_default=True, help="Output folder (replaced atomically).")
@click.option("--from", "from_", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, metavar="RESULTS.json",
              help="Rebuild the report from a results file, without computing.")
@_seed
@_profile
@_plugin
@_quiet
def report(ids, all_, out, from_, seed, profile, plugins, **claim_values) -> None:
    """Check claims and write index.html, index.md, results.json and figures/."""
    from dln_verify.verify.report import load_results, write_report

    _check_writable(out)
    if from_ is not None:
        if ids or all_ or _claim_values(claim_values):
            raise click.UsageError("--from rebuilds a report as it was: give no claim ids, "
                                   "--all or claim options with it")
        prov, results = load_results(from_)
        paths = write_report(results, out, provenance_record=prov)
    else:
        claim_ids = _resolve_ids(ids, all_ or not ids)
        results = _run(claim_ids, seed, profile, _claim_values(claim_values))
        paths = write_report(results, out, seed=seed, profile=profile)
    passed = sum(ev.passed for ev in results)
    click.echo(f"{passed}/{len(results)} claims verified; report written to "
               f"{paths['html']} (also {paths['markdown'].name}, {paths['json'].name}, figures/)")
    sys.exit(exit_code(results))


@cli.command()
@click.argument("ids", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Sweep every registered claim.")
@click.option("--seeds", required=True, metavar="A-B",
              help="Inclusive seed range (e.g. 0-99); each task's seed is the integer itself, "
                   "so `check ID --seed S` reproduces it.")
@click.option("--alpha", "alphas", default=None, metavar="LIST",
              help="Comma-separated initialisation scales: one task per (claim, seed, α); "
                   "only for claims that declare --alpha.")
@_profile
@_plugin
@click.option("--workers", type=click.IntRange(min=1), default=None, metavar="N",
              help="Worker processes of the local dask cluster [default: the machine's cores].")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Run on an existing dask cluster (e.g. tcp://HOST:8786) instead.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              metavar="DIR", help="Output folder: results.jsonl (resumed), summary.json, "
                                  "index.html, figures/.")
def sweep(ids, all_, seeds, alphas, profile, plugins, workers, scheduler, out,
          **claim_values) -> None:
    """Check claims at every seed of a range on dask; exit 0 iff no task failed or errored."""
    from dln_verify.verify.sweep import (
        check_scheduler_address,
        parse_alphas,
        parse_seeds,
        run_sweep,
    )

    if workers is not None and scheduler is not None:
        raise click.UsageError("give --workers (a local cluster) or --scheduler (an existing "
                               "one), not both")
    seed_range = parse_seeds(seeds)
    alpha_list = parse_alphas(alphas) if alphas is not None else None
    if scheduler is not None:
        scheduler = check_scheduler_address(scheduler)
    claim_ids = _resolve_ids(ids, all_)
    result = run_sweep(claim_ids, seed_range, out=out, alphas=alpha_list, profile=profile,
                       options=_claim_values(claim_values), plugins=plugins, workers=workers,
                       scheduler=scheduler, note=_progress)
    summary = result.summary
    click.echo(f"{len(result.tasks)} tasks ({result.new} new) in {result.elapsed_s:.1f} s: "
               + ", ".join(f"{s} {summary[s]}" for s in _SWEEP_STATUSES if summary[s])
               + (f", not run {summary['missing']}" if summary["missing"] else ""))
    for claim_id, c in summary["claims"].items():
        rates = ", ".join(f"{k} {v['rejected']}/{v['runs']}" for k, v in c["controls"].items())
        worst = (c["largest_margin"] or {}).get("value", "")
        small = (c["smallest_control_margin"] or {}).get("value", "")
        click.echo(f"{claim_id:<24} " + ", ".join(f"{s} {c[s]}" for s in _SWEEP_STATUSES
                                                  if c[s])
                   + f"; controls rejected {rates or '-'}; margin median "
                     f"{format_number(c['margin']['q50'] if c['margin']['n'] else '-')}, "
                     f"largest {format_number(worst)}; smallest control margin "
                     f"{format_number(small)}")
        for status, hits in c["tasks_by_status"].items():
            for hit in hits[:5]:
                click.echo(f"  {status} at seed {hit['seed']}: {hit['message']}")
                click.echo(f"    reproduce: {hit['reproduce']}")
    if summary["missing"]:
        click.echo(f"{summary['missing']} task(s) did not run (their worker died every try); "
                   "rerun the command to retry them")
    click.echo(f"results: {result.paths['results']}; summary: {result.paths['summary']}; "
               f"report: {result.paths['html']}")
    bad = summary["fail"] + summary["error"] + summary["diverged"] + summary["missing"]
    sys.exit(EXIT_FAIL if bad else EXIT_PASS)


_SWEEP_STATUSES = ("pass", "fail", "inconclusive", "outside-assumptions", "diverged", "error")


_fmt_latex = click.option("--latex", "fmt", flag_value="latex", help="Print LaTeX.")
_fmt_json = click.option("--json", "fmt", flag_value="json", help="Print JSON (str(expr)).")
_fmt_text = click.option("--text", "fmt", flag_value="text", default=True, hidden=True)


def _emit(derivation, fmt: str) -> None:
    if fmt == "latex":
        click.echo(derivation.to_latex())
    elif fmt == "json":
        click.echo(derivation.to_json())
    else:
        click.echo(derivation.to_text())


@cli.group()
def derive() -> None:
    """Print a symbolic derivation (potential, horizon, momentum)."""


@derive.command("potential")
@click.option("--depth", type=click.IntRange(min=2), default=2, show_default=True,
              help="Network depth D (D >= 2).")
@click.option("--param", type=click.Choice(["uv", "w2", "unbalanced"]), default=None,
              help="Parametrisation: u⊙v, Woodworth's w+²−w−², or u0≠v0 (depth 2); "
                   "w+^D−w−^D at depth D >= 3. Default: uv at depth 2, w2 above.")
@_fmt_text
@_fmt_latex
@_fmt_json
def derive_potential_cmd(depth, param, fmt) -> None:
    """The potential ψ of gradient flow on a DLN, its derivatives and conjugate."""
    from dln_verify.symbolic.potentials import derive_potential

    _emit(derive_potential(param=param or ("uv" if depth == 2 else "w2"), depth=depth), fmt)


@derive.command("horizon")
@click.argument("expr")
@_fmt_text
@_fmt_latex
@_fmt_json
def derive_horizon_cmd(expr, fmt) -> None:
    """The horizon function of a separable potential given as an expression in x."""
    from dln_verify.symbolic.horizon import derive_horizon

    _emit(derive_horizon(expr), fmt)


@derive.command("momentum")
@_fmt_text
@_fmt_latex
@_fmt_json
def derive_momentum_cmd(fmt) -> None:
    """λ = γ/(1−β)²: the heavy-ball recursion's momentum gradient flow."""
    from dln_verify.symbolic.momentum import derive_momentum

    _emit(derive_momentum(), fmt)


def _plugin_paths(argv: Sequence[str]) -> list[str]:
    """Values of ``--plugin`` in ``argv`` (``--plugin F`` or ``--plugin=F``), in order."""
    paths = []
    for k, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--plugin":
            if k + 1 >= len(argv):
                raise click.BadParameter("expects a file", param_hint="'--plugin'")
            paths.append(argv[k + 1])
        elif arg.startswith("--plugin="):
            paths.append(arg.split("=", 1)[1])
    return paths


def _prepare(argv: Sequence[str]) -> None:
    """Load plugin files, then give ``check``, ``report`` and ``sweep`` the claims' declared
    options (except a flag the command defines itself: ``sweep --alpha LIST``)."""
    for path in _plugin_paths(argv):
        registry.load_plugin(path)
    if not {"check", "report", "sweep"} & set(argv):
        return  # list, derive, --version, --help: no claim options to build (fast start-up)
    params = _claim_params(claim_options())
    for command in (check, report, sweep):
        command.params = [p for p in command.params if not getattr(p, "_dln_claim", False)]
        own = {flag for p in command.params for flag in p.opts}
        for param in params:
            param._dln_claim = True  # type: ignore[attr-defined]
            if own.isdisjoint(param.opts):
                command.params.append(param)


def _one_line(message: str) -> str:
    r"""An error message on one line: control characters from the user's input are escaped.

    Examples
    --------
    >>> _one_line("bad\nvalue\x1b[31m")
    'bad\\nvalue\\x1b[31m'
    """
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in message)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning input errors into one line and exit code 2."""
    args = list(sys.argv[1:] if argv is None else argv)
    _QUIET["on"] = False
    try:
        _prepare(args)
        cli.main(args=args, prog_name="dln-verify", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("dln-verify: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        click.echo(f"dln-verify: error: {_one_line(exc.format_message())}", err=True)
        sys.exit(EXIT_INPUT)
    except ValueError as exc:
        click.echo(f"dln-verify: error: {_one_line(str(exc))}", err=True)
        sys.exit(EXIT_INPUT)
    sys.exit(EXIT_PASS)
