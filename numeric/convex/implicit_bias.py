"""PLACEHOLDER — being written (issue 2). See numeric/convex/__init__.py for the public names."""


class ImplicitBiasSolution:  # pragma: no cover - placeholder
    pass


def implicit_bias_solution(*args, **kwargs):  # pragma: no cover - placeholder
    raise NotImplementedError
