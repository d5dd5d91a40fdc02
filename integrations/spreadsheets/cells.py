"""Writing cells safely: text from a partner or a file is never stored as a formula."""

from typing import Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell


def set_text(cell: Cell, value: Any) -> None:
    """Write ``value`` as literal text (a leading '=' stays text, not a formula)."""
    if value is None:
        cell.value = None
        return
    # Control characters (from a file name or a cell) are not allowed in a workbook at all.
    text = ILLEGAL_CHARACTERS_RE.sub("\ufffd", str(value))
    cell.value = text
    cell.data_type = "s"  # openpyxl otherwise treats a leading '=' as a formula


def set_value(cell: Cell, value: Any) -> None:
    """Numbers, dates and booleans as themselves; anything textual through ``set_text``."""
    if isinstance(value, str) or value is None:
        set_text(cell, value)
    else:
        cell.value = value
