"""Numerical layer: instances, simulators, convex predictions with certificates.

Depends on :mod:`symbolic` only; never formats reports.
"""
