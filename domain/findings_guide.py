"""The findings catalogue as partners and readers of the documentation meet it: the template's Guidance sheet
(the partner's usual mistakes first) and docs/findings.md. Pure."""

from collections.abc import Mapping
from dataclasses import dataclass

from domain.findings import CATALOGUE, LeftBlank, Severity


def catalogue_rows() -> list[tuple[str, str, str, str]]:
    """(code, severity, meaning, how to fix) for every code, in catalogue order.

    The fix is the catalogue's template with its placeholders left as ``{name}``, as a reader
    of the documentation sees them before any finding fills them in.
    """
    return [(code, spec.severity.value, spec.meaning, spec.fix) for code, spec in CATALOGUE.items()]


# What a partner's own typing causes, most often first: the template's Guidance sheet lists these before the rest.
ROW_MISTAKES = (
    "VALUE_REQUIRED",
    "YESNO_INVALID",
    "BAND_UNKNOWN",
    "DATE_INVALID",
    "DATE_AMBIGUOUS",
    "DATE_AFTER_PERIOD",
    "DATE_TOO_EARLY",
    "ID_DUPLICATE",
    "POSTCODE_INVALID",
    "CELL_ERROR",
    "FORMULA_NO_VALUE",
    "SUMMARY_MISMATCH",
    "SUMMARY_BLANK",
    "OUTCOME_CLAIMED_BEFORE",
    "DUPLICATE_CLAIM",
    "VOLUME_UNUSUAL",
    "RATE_UNUSUAL",
    "RETURN_LATE",
)
# Problems with the file itself (its format, its size), rarely met by a partner who saves the template: listed last.
FILE_PROBLEMS = tuple(c for c in CATALOGUE if c.startswith("FILE_") or c in ("NOT_A_RETURN", "SHEET_TOO_LARGE"))

BLOCKS = {Severity.error: "Yes", Severity.warning: "No, but please look", Severity.info: "No"}


@dataclass(frozen=True)
class GuidanceSection:
    title: str
    rows: list[tuple[str, str, str, str]]  # (what was found, how to fix it, blocks acceptance?, code)


def guidance_sections(fill: Mapping[str, str], fill_for: Mapping[str, Mapping[str, str]]) -> list[GuidanceSection]:
    """The catalogue for a template's Guidance sheet: the partner's usual mistakes first, then changes to the
    template and when it is sent, then problems with the file itself; each fix with its placeholders filled
    (``fill``, and ``fill_for`` a code: the words a template can give before any finding exists)."""

    def row(code: str) -> tuple[str, str, str, str]:
        spec = CATALOGUE[code]
        fix = spec.fix.format_map(LeftBlank({**fill, **fill_for.get(code, {})}))
        return (spec.meaning, fix, BLOCKS[spec.severity], code)

    rest = [c for c in CATALOGUE if c not in ROW_MISTAKES and c not in FILE_PROBLEMS]
    return [
        GuidanceSection("Mistakes in the rows (the most common)", [row(c) for c in ROW_MISTAKES]),
        GuidanceSection("Changes to the template, and sending it", [row(c) for c in rest]),
        GuidanceSection(
            "Problems with the file itself (rare if you save the template as .xlsx)", [row(c) for c in FILE_PROBLEMS]
        ),
    ]


def catalogue_markdown() -> str:
    """docs/findings.md: generated, so the documentation and the checks cannot drift apart."""
    lines = [
        "# Findings",
        "",
        "Every problem the alliance finds in a return is a finding with a stable code. An **error** blocks",
        "acceptance; a **warning** does not, but the partner should look; **info** is a note. The feedback",
        "workbook and the Slack message quote these codes. This file is generated from",
        "`domain/findings.py` by `alliance findings > docs/findings.md`; a test keeps it current.",
        "",
        "| code | severity | meaning | how to fix |",
        "|---|---|---|---|",
    ]
    for code, severity, meaning, fix in catalogue_rows():
        lines.append(f"| `{code}` | {severity} | {_cell(meaning)} | {_cell(fix)} |")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
