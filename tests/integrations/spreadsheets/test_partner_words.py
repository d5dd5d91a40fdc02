"""What a partner reads is in the partner's words (issue 28): no unfilled ``{placeholder}`` and no column id where
the contract gives the column a label, on any sheet of a template or in any finding's message or fix."""

import io
import re
import string
from pathlib import Path

from openpyxl import load_workbook

from domain.contract import Contract
from domain.findings import AFTER_ACCEPTANCE, CATALOGUE, Finding, in_partners_words
from integrations.spreadsheets.templates import build_template
from services.intake import check_file
from tests.feedback_cases import about_problems, refusals, row_problems
from tests.helpers import OCTOBER

PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def column_ids(contract: Contract) -> re.Pattern[str]:
    """The ids of the columns the contract gives a header other than the id (every one, today), as whole words."""
    named = [column for column, header in contract.framework.headers.items() if header != column]
    assert len(named) == len(contract.framework.columns)
    return re.compile(r"\b(" + "|".join(map(re.escape, named)) + r")\b")


def unreadable(text: str, ids: re.Pattern[str]) -> list[str]:
    return PLACEHOLDER.findall(text) + ids.findall(text)


def template_texts(contract: Contract) -> list[tuple[str, str]]:
    """Every text on every sheet of a saved template, with its cell comments and input prompts."""
    buffer = io.BytesIO()
    build_template(contract, contract.partners[0], OCTOBER, portal_url="https://portal.example").save(buffer)
    book = load_workbook(io.BytesIO(buffer.getvalue()))
    texts = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    texts.append((f"{sheet.title}!{cell.coordinate}", cell.value))
                if cell.comment is not None:
                    texts.append((f"{sheet.title}!{cell.coordinate} comment", cell.comment.text))
        for validation in sheet.data_validations.dataValidation:
            texts.append((f"{sheet.title} prompt", f"{validation.promptTitle} {validation.prompt}"))
    return texts


def test_no_sheet_of_a_template_has_a_placeholder_or_a_column_id(contract: Contract) -> None:
    ids = column_ids(contract)
    texts = template_texts(contract)
    assert len(texts) > 100  # the sheets were read, the Guidance's table of findings with them
    found = [(where, text) for where, text in texts if unreadable(text, ids)]
    assert found == []


def findings_of_every_code(contract: Contract, folder: Path) -> list[Finding]:
    """Real findings, made by the checks from the returns that between them carry every code (the golden cases),
    with the officer's own findings as the services make them."""
    findings = []
    for case in [row_problems(contract), *about_problems(contract), *refusals(contract)]:
        _, found, _ = check_file(
            case.file(),
            contract,
            received_at=case.received_at,
            context_for=case.context_for(),
            require_sender=case.require_sender,
        )
        findings += found
    findings += in_partners_words([Finding(code, value="please check row 4") for code in AFTER_ACCEPTANCE], {})
    return findings


def test_no_message_or_fix_has_a_placeholder_or_a_column_id(contract: Contract, tmp_path: Path) -> None:
    ids = column_ids(contract)
    findings = findings_of_every_code(contract, tmp_path)
    assert {f.code for f in findings} == set(CATALOGUE)
    unfilled = []
    for finding in findings:
        fields = finding._fields()
        wanted = {
            name
            for text in (finding.spec.message, finding.spec.fix)
            for _, name, _, _ in string.Formatter().parse(text)
            if name
        }
        unfilled += [(finding.code, name) for name in wanted if fields.get(name) is None]
        unfilled += [(finding.code, bad) for bad in unreadable(f"{finding.message} {finding.fix}", ids)]
    assert unfilled == []


def test_a_yes_no_finding_names_the_column_as_the_sheet_does_and_a_number_as_typed(contract: Contract) -> None:
    from tests.helpers import clean_rows, return_bytes, summary_of

    rows = clean_rows()
    rows[0]["into_work"] = "N/A"
    rows[1]["into_work"] = 21
    summary = summary_of(rows) | {"participants": 21}
    content = return_bytes(contract, rows=rows, summary=summary)
    from tests.feedback_cases import Case

    _, findings, _ = check_file(Case("r", content).file(), contract)
    messages = {f.cell: f.message for f in findings}
    assert messages["E2"] == "'N/A' under Started work or training is not Yes or No."
    assert messages["E3"] == "'21' under Started work or training is not Yes or No."
    assert messages["B2"] == "Summary says 21 for 'Participant rows' but the Participants rows give 4."


def test_how_to_send_names_the_portal_then_the_email_and_reads_alone_without_the_portal(contract: Contract) -> None:
    from integrations.spreadsheets.templates import how_to_send

    emailed = contract.model_copy(
        update={"alliance": contract.alliance.model_copy(update={"returns_email": "returns@example.org"})}
    )
    both = how_to_send(emailed, "https://portal.example.org")
    assert both == [
        "Upload it in the portal: https://portal.example.org/ (sign in, then 'Upload a return').",
        "Or email it, as an attachment, to returns@example.org.",
    ]
    assert how_to_send(emailed, None) == ["Email it, as an attachment, to returns@example.org."]
    nowhere = contract.model_copy(update={"alliance": contract.alliance.model_copy(update={"returns_email": None})})
    assert how_to_send(nowhere, None) == [
        f"Send it to {contract.alliance.name}'s office the way your contract officer asked."
    ]
