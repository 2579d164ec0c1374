"""PLACEHOLDER — being written (issue 4)."""


class MaxMarginSolution:  # pragma: no cover - placeholder
    pass


def max_margin(*args, **kwargs):  # pragma: no cover - placeholder
    raise NotImplementedError
