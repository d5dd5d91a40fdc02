import ast
import re
import string
from pathlib import Path

from domain import return_layout as layout
from domain.contract import Contract
from domain.findings import CATALOGUE, Finding
from domain.findings_guide import catalogue_markdown
from domain.monitors import MonitorCode
from domain.notifications import RouteProblem
from domain.periods import Period
from domain.review import Basis
from integrations.spreadsheets.templates import build_template

REPO = Path(__file__).resolve().parents[2]
PRODUCTION = ("cli", "domain", "expectations", "flows", "integrations", "models", "services")
CODE = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$")


def _code_literals() -> set[str]:
    """Every string constant in production code that looks like a finding code."""
    found = set()
    for package in PRODUCTION:
        for path in (REPO / package).rglob("*.py"):
            if path.name == "findings.py" and path.parent.name == "domain":
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and CODE.match(node.value):
                    found.add(node.value)
    return found


def test_docs_findings_md_is_the_generated_catalogue() -> None:
    assert (REPO / "docs" / "findings.md").read_text() == catalogue_markdown()


def test_every_catalogue_code_is_raised_somewhere_and_documented() -> None:
    literals = _code_literals()
    unused = sorted(set(CATALOGUE) - literals)
    assert unused == []
    text = catalogue_markdown()
    assert all(f"`{code}`" in text for code in CATALOGUE)


def test_no_code_is_used_without_an_entry() -> None:
    # Constants shaped like codes that are not findings (settings, env names) are listed here on purpose.
    not_findings = {
        "ALLIANCE_REQUIRE_SERVICES",
        "ALLIANCE_DEBUG",
        "ALLIANCE_WORKSPACE",
        "GX_ANALYTICS_ENABLED",
        "DO_NOT_TRACK",
        "SLACK_BOT_TOKEN",
        "BOOLEAN_ONLY",  # a Great Expectations result format (expectations/quality.py)
        "HASH_THRESHOLD",  # a Great Expectations setting (expectations/quality.py)
    }
    not_findings |= {problem.value for problem in RouteProblem}  # why a message was not sent: about Slack, not a return
    not_findings |= {basis.value for basis in Basis}  # why a partner's review standing is what it is: not a return
    not_findings |= {code.value for code in MonitorCode}  # gaming monitors: their own catalogue, domain.monitors
    unknown = sorted(c for c in _code_literals() - set(CATALOGUE) - not_findings if not c.startswith("PREFECT_"))
    assert unknown == []


def test_every_entry_says_what_it_means_and_how_to_fix_it() -> None:
    for code, spec in CATALOGUE.items():
        assert spec.meaning.endswith("."), code
        assert spec.message and spec.fix, code
        names = {n for _, n, _, _ in string.Formatter().parse(spec.message + spec.fix) if n}
        known = {
            "sheet",
            "cell",
            "row",
            "column",
            "value",
            "filename",
            "detail",
            "field",
            "expected",
            "period",
            "sender",
            "allowed",
            "earliest",
            "months",
            "median",
        }
        assert names <= known, (code, names - known)


def test_a_finding_with_an_unknown_code_cannot_be_made() -> None:
    try:
        Finding("NOT_A_CODE")
    except KeyError as error:
        assert "NOT_A_CODE" in str(error)
    else:
        raise AssertionError("an unknown code was accepted")


def test_the_template_guidance_sheet_lists_every_code(contract: Contract) -> None:
    partner = contract.partners[0]
    guide = build_template(contract, partner, Period(2026, 10))[layout.GUIDANCE]
    codes = [row[3] for row in guide.iter_rows(values_only=True) if len(row) > 3 and row[3] in CATALOGUE]
    assert sorted(codes) == sorted(CATALOGUE)
