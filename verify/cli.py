"""The ``dln-verify`` command line (also ``python -m dln_verify``).

Exit codes: 0 every checked claim passed; 1 a claim failed (or errored); 2 bad input (unknown
claim id, invalid option value, unparsable expression). Errors print one line, never a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from dln_verify.verify import registry
from dln_verify.verify.claim import PROFILES
from dln_verify.verify.report import format_number

__all__ = ["main", "cli"]

EXIT_PASS, EXIT_FAIL, EXIT_INPUT = 0, 1, 2


def _progress(message: str) -> None:
    click.echo(message, err=True)


def _resolve_ids(ids: tuple[str, ...], all_: bool) -> list[str]:
    if all_ and ids:
        raise click.UsageError("give claim ids or --all, not both")
    if all_:
        return registry.ids()
    if not ids:
        raise click.UsageError("give at least one claim id, or --all (see `dln-verify list`)")
    for claim_id in ids:
        registry.get(claim_id)  # raises UnknownClaimError (a ValueError) -> exit 2
    return list(ids)


_seed = click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
                     help="Seed of the instance generators and of every random run.")
_profile = click.option("--profile", type=click.Choice(PROFILES), default="quick",
                        show_default=True, help="quick: CI-sized; thorough: larger sweeps.")
_potential = click.option("--potential", default=None, metavar="EXPR",
                          help="SymPy expression in x of a separable potential (mirror-horizon).")
_data = click.option("--data", type=click.Path(exists=True, dir_okay=False), default=None,
                     help="Your own .npz with arrays X (n×d) and y (n,) (gf-hypentropy, gf-depth).")
_alpha = click.option("--alpha", type=float, default=None,
                      help="Initialisation scale α > 0 instead of the claim's default sweep.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dln-verify")
def cli() -> None:
    """Verify implicit-bias claims for diagonal linear networks and mirror flows."""


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per claim.")
def list_claims(as_json: bool) -> None:
    """The catalogue: id, paper, theorem, kind."""
    for claim in registry.all_claims():
        ref = claim.reference
        if as_json:
            click.echo(json.dumps({"claim": claim.id, "title": claim.title, "kind": claim.kind,
                                   "reference": ref.cite(), "options": sorted(claim.options)}))
        else:
            click.echo(f"{claim.id:<24} {claim.kind:<12} {ref.short:<22} {ref.theorem}")


@cli.command()
@click.argument("ids", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Check every registered claim.")
@_seed
@_profile
@_potential
@_data
@_alpha
@click.option("--json", "as_json", is_flag=True, help="JSON Lines: one object per claim.")
def check(ids, all_, seed, profile, potential, data, alpha, as_json) -> None:
    """Check claims; exit 0 if all pass, 1 if any fails."""
    from dln_verify.verify.runner import run_claims

    claim_ids = _resolve_ids(ids, all_)
    options = {"potential": potential, "data": data, "alpha": alpha}
    results = run_claims(claim_ids, seed=seed, profile=profile, options=options,
                         progress=_progress)
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
    sys.exit(EXIT_PASS if all(ev.passed for ev in results) else EXIT_FAIL)


@cli.command()
@click.argument("ids", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Report every claim (the default).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("reports"),
              show_default=True, help="Output folder.")
@_seed
@_profile
@_potential
def report(ids, all_, out, seed, profile, potential) -> None:
    """Check claims and write index.html, index.md, results.json and figures/."""
    from dln_verify.verify.report import write_report
    from dln_verify.verify.runner import run_claims

    claim_ids = _resolve_ids(ids, all_ or not ids)
    try:  # fail before any work if the output folder cannot be written
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise click.BadParameter(f"cannot write to {out}: {exc.strerror or exc}",
                                 param_hint="'--out'") from None
    results = run_claims(claim_ids, seed=seed, profile=profile,
                         options={"potential": potential}, progress=_progress)
    paths = write_report(results, out, seed=seed, profile=profile)
    passed = sum(ev.passed for ev in results)
    click.echo(f"{passed}/{len(results)} claims verified; report written to "
               f"{paths['html']} (also {paths['markdown'].name}, {paths['json'].name}, figures/)")
    sys.exit(EXIT_PASS if passed == len(results) else EXIT_FAIL)


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
@click.option("--param", type=click.Choice(["uv", "w2", "unbalanced"]), default="uv",
              show_default=True, help="Parametrisation: u⊙v, Woodworth's w+²−w−², or u0≠v0.")
@_fmt_text
@_fmt_latex
@_fmt_json
def derive_potential_cmd(depth, param, fmt) -> None:
    """The potential ψ of gradient flow on a DLN, its derivatives and conjugate."""
    from dln_verify.symbolic.potentials import derive_potential

    _emit(derive_potential(param=param, depth=depth), fmt)


@derive.command("horizon")
@click.argument("expr")
@_fmt_text
@_fmt_latex
@_fmt_json
def derive_horizon_cmd(expr, fmt) -> None:
    """The horizon function of a separable potential given as a SymPy expression in x."""
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


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning input errors into one line and exit code 2."""
    try:
        cli.main(args=argv, prog_name="dln-verify", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("dln-verify: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        click.echo(f"dln-verify: error: {exc.format_message()}", err=True)
        sys.exit(EXIT_INPUT)
    except ValueError as exc:
        click.echo(f"dln-verify: error: {exc}", err=True)
        sys.exit(EXIT_INPUT)
    sys.exit(EXIT_PASS)
