"""Building filled returns for tests, the way a partner would."""

import re
from datetime import date
from typing import Any

from domain.contract import Contract
from domain.periods import Period
from integrations.spreadsheets.filler import fill_return
from integrations.spreadsheets.templates import build_template

OCTOBER = Period(2026, 10)

# A message naming an exception (ValueError, BadZipFile...) or showing a traceback helps no partner.
EXCEPTION_TEXT = re.compile(r"Traceback|\b[A-Z][A-Za-z]*(Error|Exception|BadZipFile)\b|File \"")


def clean_rows(count: int = 4, period: Period = OCTOBER) -> list[dict[str, Any]]:
    bands = ["standard", "complex", "very_complex"]
    return [
        {
            "participant_id": f"P{n:03d}",
            "referral_date": date(period.year, period.month, 1),
            "complexity_band": bands[n % 3],
            "housing_sustained": "Yes" if n % 2 == 0 else "No",
            "into_work": "No",
            "wellbeing_up": "Yes",
        }
        for n in range(count)
    ]


def summary_of(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "participants": len(rows),
        "housing_sustained": sum(r["housing_sustained"] in ("Yes", True) for r in rows),
        "into_work": sum(r["into_work"] in ("Yes", True) for r in rows),
        "wellbeing_up": sum(r["wellbeing_up"] in ("Yes", True) for r in rows),
    }


def return_bytes(
    contract: Contract,
    partner_id: str = "harbour-trust",
    period: Period = OCTOBER,
    rows: list[dict[str, Any]] | None = None,
    **options: Any,
) -> bytes:
    partner = contract.partner(partner_id)
    assert partner is not None
    rows = clean_rows(period=period) if rows is None else rows
    options.setdefault("summary", summary_of(rows))
    return fill_return(build_template(contract, partner, period), rows, **options)


def rewrite_parts(content: bytes, changes: dict[str, Any], *, add: dict[str, bytes] | None = None) -> bytes:
    """The workbook with some zip parts replaced (bytes), transformed (a callable) or dropped (None)."""
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename in changes:
                change = changes[item.filename]
                if change is None:
                    continue
                data = change(data) if callable(change) else change
            target.writestr(item, data)
        for name, data in (add or {}).items():
            target.writestr(name, data)
    return out.getvalue()


def zip_of(parts: dict[str, bytes]) -> bytes:
    """A zip archive holding ``parts`` (name -> bytes), for files that only look like workbooks."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


PARTICIPANTS_PART = "xl/worksheets/sheet2.xml"  # where openpyxl writes the template's Participants sheet


def named_partner(content: bytes) -> str | None:
    """The partner id a workbook's About sheet names (None: not a workbook, no such sheet): the folder a test puts a
    return in, as that partner would (a file from no partner's folder is never filed: issue 31, case 2)."""
    import io
    import zipfile

    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, TypeError):
        return None
    try:
        if "About" not in book.sheetnames:
            return None
        for row in book["About"].iter_rows(values_only=True):
            if row and row[0] == "partner_id" and isinstance(row[1], str):
                return row[1]
        return None
    finally:
        book.close()
