from pathlib import Path

from openpyxl import load_workbook

from domain.findings import Finding
from integrations.slack.mrkdwn import escape
from integrations.spreadsheets.feedback import write_feedback


def test_partner_text_is_never_written_as_a_formula(tmp_path: Path) -> None:
    hostile = '=HYPERLINK("http://evil.example","click")'
    finding = Finding("BAND_UNKNOWN", sheet="Participants", cell="C3", row=3, column="complexity_band", value=hostile)
    path = write_feedback(
        tmp_path / "f.xlsx",
        partner_name="=cmd|' /C calc'!A0",
        period="2026-10",
        version=1,
        filename="x.xlsx",
        status="rejected",
        findings=[finding],
    )
    sheet = load_workbook(path)["Issues"]
    cells = [c for row in sheet.iter_rows() for c in row if c.value is not None]
    assert all(c.data_type != "f" for c in cells)
    assert sheet["G4"].value == hostile
    assert sheet["B4"].value == "BAND_UNKNOWN"


def test_mrkdwn_escaping_stops_pings_and_links() -> None:
    assert escape("<!channel> & <http://x|y>") == "&lt;!channel&gt; &amp; &lt;http://x|y&gt;"
