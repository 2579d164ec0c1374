"""Exceptions of the symbolic layer that the verifier maps to verdict statuses.

Kept free of SymPy imports so that the claim contract can recognise them cheaply.
"""

from __future__ import annotations

__all__ = ["OutsideAssumptions"]


class OutsideAssumptions(ValueError):
    """The potential does not satisfy, or cannot be shown to satisfy, a hypothesis of the theorem.

    The verifier reports such a case with status ``outside-assumptions`` (neither pass nor
    fail); the command line prints the one-line message.

    Parameters
    ----------
    reason : str
        One-line reason.
    hypothesis : str
        Which hypothesis: ``"variable"`` (one real variable), ``"domain"`` (real and finite on
        R), ``"C2"``, ``"strictly-convex"``, ``"coercive-gradient"`` (ϕ' onto R),
        ``"horizon-limit"`` (the limits defining the horizon function exist and are decided) or
        ``"work-bound"`` (a bound on SymPy's work was reached).
    decided : bool
        ``True``: the hypothesis is shown to fail (e.g. a point where ϕ'' < 0);
        ``False``: SymPy could not decide it.
    option : str or None
        Option that carried the potential (``"--potential"``); it starts the message.
    """

    def __init__(self, reason: str, *, hypothesis: str = "unspecified", decided: bool = False,
                 option: str | None = None) -> None:
        self.reason = " ".join(str(reason).split())
        self.hypothesis = hypothesis
        self.decided = decided
        self.option = option
        super().__init__(f"{option}: {self.reason}" if option else self.reason)

    def with_option(self, option: str | None) -> OutsideAssumptions:
        """The same refusal, with the message prefixed by ``option``."""
        return type(self)(self.reason, hypothesis=self.hypothesis, decided=self.decided,
                          option=option)
