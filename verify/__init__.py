"""Claims registry, comparison, reports and the ``dln-verify`` command line."""

if __name__.split(".")[0] != "dln_verify":  # the folder is importable from a checkout's root
    raise ImportError("this package installs as dln_verify.verify: import dln_verify.verify "
                      "(after `pip install .`), not verify")

from dln_verify.verify import registry

__all__ = ["registry"]
