"""Claims registry, comparison, reports and the ``dln-verify`` command line."""

from verify import registry

__all__ = ["registry"]
