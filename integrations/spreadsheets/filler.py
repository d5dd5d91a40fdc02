"""Filling a template the way a person would (used by the demo and by tests)."""

import io
import json
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook

from domain import return_layout as layout
from integrations.spreadsheets.cells import set_value


def fill_return(
    book: Workbook,
    rows: Sequence[dict[str, Any]],
    *,
    summary: dict[str, Any] | None = None,
    extra_column: tuple[str, list[Any]] | None = None,
    blank_rows_after: Sequence[int] = (),
) -> bytes:
    """Write ``rows`` (header -> value) under the header; return the saved workbook's bytes."""
    sheet = book[layout.PARTICIPANTS]
    headers = {str(c.value): c.column for c in sheet[1] if c.value is not None}
    # Rows and the Summary may name columns and items by id: the template records what each id shows as.
    shown: dict[str, str] = {}
    if layout.COLUMNS_PROPERTY in book.custom_doc_props.names:
        shown = json.loads(book.custom_doc_props[layout.COLUMNS_PROPERTY].value)
        headers |= {column: headers[header] for column, header in shown.items() if header in headers}
    excel_row = 2
    for index, row in enumerate(rows):
        for name, value in row.items():
            if name in headers:
                set_value(sheet.cell(row=excel_row, column=headers[name]), value)
        excel_row += 1
        if index in blank_rows_after:
            excel_row += 1
    if extra_column is not None:
        name, values = extra_column
        column = sheet.max_column + 1
        set_value(sheet.cell(row=1, column=column), name)
        for offset, value in enumerate(values, start=2):
            set_value(sheet.cell(row=offset, column=column), value)
    if summary is not None:
        sheet = book[layout.SUMMARY]
        items = {shown.get(key, key): value for key, value in summary.items()}
        for cells in sheet.iter_rows(min_row=2, max_col=2):
            key = cells[0].value
            if key in items:
                set_value(cells[1], items[key])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
