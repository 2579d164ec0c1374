"""Number formatting shared by the command line and the reports (no heavy imports)."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["format_number"]


def format_number(value: Any) -> str:
    """Compact human formatting of a metric value.

    Examples
    --------
    >>> format_number(3.3e-10), format_number(0.25), format_number(True), format_number(7)
    ('3.300e-10', '0.25', 'yes', '7')
    """
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if value == 0 or 1e-3 <= abs(value) < 1e4:
            return f"{value:.4g}"
        return f"{value:.3e}"
    return str(value)
