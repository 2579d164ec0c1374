"""Numerical layer: instances, simulators, convex predictions with certificates.

Depends on :mod:`dln_verify.symbolic` only; never formats reports.
"""

if __name__.split(".")[0] != "dln_verify":  # the folder is importable from a checkout's root
    raise ImportError("this package installs as dln_verify.numeric: import dln_verify.numeric "
                      "(after `pip install .`), not numeric")
