"""PLACEHOLDER — being written (issue 2)."""


def min_l1_interpolator(*args, **kwargs):  # pragma: no cover - placeholder
    raise NotImplementedError


def min_l2_interpolator(*args, **kwargs):  # pragma: no cover - placeholder
    raise NotImplementedError


def lasso(*args, **kwargs):  # pragma: no cover - placeholder
    raise NotImplementedError
