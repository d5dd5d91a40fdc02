"""The alliance report: what each audience gets, small numbers hidden, no participant-level value, the figures right."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from domain.periods import Period
from domain.publication import WITHHELD, Grade
from models import checks, ledger, repo
from models.db import session_scope
from services.deps import Deps
from services.report import build_report
from services.spot_checks import record_check
from tests.services.report_helpers import (
    LAST,
    MISSING,
    count_cells,
    open_books_deps,
    participant_ids,
    published_files,
)
from tests.services.review_helpers import START, Clock

OFFICERS_ONLY = {"spot_checks", "gaming_monitors"}
ALLIANCE_GRADE = {"partner_payments", "partner_performance", "returns_on_time", "review_decisions"}


def figures(page: Path) -> dict[str, dict[str, Any]]:
    return {f["id"]: f for f in json.loads((page.parent / "figures.json").read_text())["figures"]}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Any:
    deps = open_books_deps(tmp_path_factory.mktemp("books") / "ws")
    pages = {"period": build_report(deps, period=LAST).pages, "year": build_report(deps, year=1).pages}
    return deps, pages


def test_no_published_file_holds_a_participant_id_or_an_unhidden_small_count(built: Any) -> None:
    deps, _ = built
    root = deps.workspace.out / "report"
    ids = participant_ids(deps)
    assert len(ids) > 1000
    leaked = [
        (p.name, i) for p in published_files(root) for text in [p.read_bytes()] for i in ids if i.encode() in text
    ]
    assert leaked == []
    threshold = deps.contract.report.suppress_below
    cells = count_cells(root)
    small = [c for c in cells if not (c[2] in (f"<{threshold}", WITHHELD) or int(c[2]) >= threshold)]
    assert small == []
    # The data hold small counts, so the scan above has something to find: they are shown hidden.
    assert sum(1 for c in cells if c[2] == f"<{threshold}") > 50
    assert any(c[2] == WITHHELD for c in cells)
    assert {p.suffix for p in published_files(root)} == {".html", ".json", ".csv", ".png"}


def test_each_audience_gets_only_the_figures_graded_for_it(built: Any) -> None:
    _, pages = built
    for kind in ("period", "year"):
        public, alliance, officers = (figures(pages[kind][g]) for g in pages[kind])
        assert not set(public) & (OFFICERS_ONLY | ALLIANCE_GRADE)
        assert set(alliance) == set(public) | ALLIANCE_GRADE
        assert set(officers) == set(alliance) | OFFICERS_ONLY
        folder = next(iter(pages[kind].values())).parent
        assert not (folder / "spot_checks.csv").exists() and not (folder / "funnel.png").exists()
        assert "Gaming monitors" not in (folder / "index.html").read_text()


def test_a_figure_graded_otherwise_in_the_contract_moves_audience(tmp_path: Path) -> None:
    deps = open_books_deps(tmp_path / "ws")
    path = deps.workspace.contract_path
    path.write_text(
        path.read_text() + "report: {suppress_below: 10, figures: {spot_checks: public, partner_payments: officers}}\n"
    )
    deps.contract = deps.workspace.load_contract()
    pages = build_report(deps, period=LAST).pages
    public, alliance, _ = (figures(page) for page in pages.values())
    assert "spot_checks" in public and "partner_payments" not in public | alliance
    assert all(c[2] in ("<10", WITHHELD) or int(c[2]) >= 10 for c in count_cells(deps.workspace.out / "report"))


def rows_by_partner(figure: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["partner"]: r for r in figure["rows"]}


def test_the_figures_are_the_records_figures(built: Any) -> None:
    deps, pages = built
    officers = figures(pages["period"][list(pages["period"])[-1]])
    volumes = rows_by_partner(officers["partner_volumes"])
    assert volumes["Partner 01"]["participants"] == "<5"  # the tiny partner
    assert volumes["Partner 05"]["participants"] == 60
    assert volumes["Partner 02"]["participants"] == WITHHELD  # else 'All partners' minus the rest gives the tiny one
    assert volumes["All partners"]["participants"] == sum(n for n in [3, 12, *(45 + 3 * i for i in range(3, 13))])
    with session_scope(deps.engine) as session:
        state = ledger.last_payable(ledger.run_states(session, period=str(LAST)))
        assert state is not None and state.run.version == 2  # the recovery run
        lines = repo.lines_of(session, run_id=state.run.id or 0)
    payments = rows_by_partner(officers["partner_payments"])
    outcome = sum(x.amount_pence for x in lines if x.partner_id == "partner-04" and x.kind == "outcome")
    assert payments["Partner 04"]["outcome"] == f"{outcome / 100:.2f}"
    core = sum(x.amount_pence for x in lines if x.kind == "core")
    assert payments["All partners"]["core"] == f"{core / 100:.2f}"
    factor = {r["period"]: r for r in officers["alliance_factor"]["rows"]}
    assert factor[str(LAST)]["run"] == "v2 (final)" and factor[str(LAST)]["factor"] == float(state.run.alliance_factor)
    [month] = officers["spot_checks"]["rows"]
    # 12 partners x 3 claims, one checked (not verified): hidden, and so is the verified 0 beside it (which is
    # which stays unknown); the alliance's 36 claims drawn are published, so the 35 still to check go too.
    assert month["period"] == str(LAST) and month["drawn"] == 36
    assert (month["verified"], month["not_verified"], month["to_check"]) == ("<5", "<5", WITHHELD)


def test_the_year_withholds_a_partners_total_over_months_its_monthly_reports_hid(built: Any) -> None:
    """Partner 01's months are each hidden (3 participants): its total, 15, would give one away by subtraction
    between consecutive year-to-date reports. So it is withheld, and so is Partner 02's, withheld in its months
    beside Partner 01's; the alliance's total is the sum of its months, each published."""
    _, pages = built
    year = figures(pages["year"][list(pages["year"])[-1]])
    volumes = rows_by_partner(year["partner_volumes"])
    assert volumes["Partner 01"]["months"] == 5  # one month (MISSING) without an accepted return
    assert MISSING[0] == "partner-01"
    assert volumes["Partner 01"]["participants"] == WITHHELD
    assert volumes["Partner 02"]["participants"] == WITHHELD
    assert volumes["Partner 05"]["participants"] == 6 * 60
    assert volumes["All partners"]["participants"] == 4137


def alliance_wide_cells(figures_of: dict[str, dict[str, Any]]) -> list[Any]:
    """The alliance's own counts: each outcome each month (and year to date), and the 'All partners' rows."""
    cells = [r["achieved"] for r in figures_of["alliance_outcomes"]["rows"]]
    for figure in (figures_of["partner_volumes"], figures_of["partner_outcomes"]):
        counted = [c["key"] for c in figure["columns"] if c["kind"] == "count"]
        cells += [r[k] for r in figure["rows"] if r["partner"] == "All partners" for k in counted]
    return cells


def test_every_alliance_wide_count_is_a_number_in_every_report_and_audience(built: Any) -> None:
    """The headline figures are always published: the protection of small counts is in the partners' cells."""
    deps, pages = built
    for kind in ("period", "year"):
        for page in pages[kind].values():
            cells = alliance_wide_cells(figures(page))
            assert cells and all(isinstance(c, int) for c in cells), (kind, page, cells)
    year = figures(pages["year"][Grade.public])
    ytd = [r for r in year["alliance_outcomes"]["rows"] if r["period"] == "year to date"]
    assert len(ytd) == len(deps.contract.framework.measures)
    assert all(isinstance(r["of_target"], float) for r in ytd)
    partner_cells = [
        v
        for figure in ("partner_volumes", "partner_outcomes")
        for r in year[figure]["rows"]
        if r["partner"] != "All partners"
        for k, v in r.items()
        if k not in ("partner", "months")
    ]
    assert WITHHELD in partner_cells  # the protection moved to the partners' cells, it did not go


def test_a_rebuild_replaces_the_report_whole(built: Any) -> None:
    deps, pages = built
    folder = pages["period"][list(pages["period"])[0]].parent
    (folder / "stale.csv").write_text("old")
    build_report(deps, period=LAST)
    assert not (folder / "stale.csv").exists() and (folder / "index.html").exists()
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]


def test_the_report_is_refused_plainly_without_a_period_or_data(built: Any) -> None:
    from domain.errors import UsageError

    deps, _ = built
    with pytest.raises(UsageError, match="either --period"):
        build_report(deps)
    with pytest.raises(UsageError, match="no accepted return yet"):
        build_report(deps, year=3)


def test_the_report_builds_on_postgresql_too(engine: Engine, tmp_path: Path) -> None:
    deps = open_books_deps(tmp_path / "ws", engine=engine)
    pages = build_report(deps, period=LAST).pages
    officers = figures(list(pages.values())[-1])
    assert rows_by_partner(officers["partner_volumes"])["Partner 05"]["participants"] == 60


def test_two_builds_at_once_each_leave_a_whole_report(built: Any) -> None:
    import threading

    deps, pages = built
    errors: list[BaseException] = []

    def build() -> None:
        try:
            build_report(deps, period=LAST)
        except BaseException as exc:  # noqa: BLE001 - the test reports whatever went wrong
            errors.append(exc)

    threads = [threading.Thread(target=build) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    folder = pages["period"][list(pages["period"])[-1]].parent
    assert {p.name for p in folder.iterdir()} >= {"index.html", "figures.json", "spot_checks.csv", "funnel.png"}
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]


def verify_a_claim(deps: Deps, period: Period) -> None:
    """An officer's finding on the first claim drawn for the month."""
    with session_scope(deps.engine) as session:
        draw = checks.draws_in(session, periods=[str(period)])[0]
        claim = checks.checked_claims(session, draw_ids=[draw.id or 0])[0].claim
    record_check(
        deps, period=period, partner_id=draw.partner_id, participant_id=claim.participant_id,
        measure=claim.measure, result="verified", by="Olive Officer",
    )  # fmt: skip


def test_a_cycle_builds_again_a_month_whose_claims_were_checked_after_its_report(tmp_path: Path) -> None:
    from datetime import timedelta

    from services.report import build_cycle_reports

    deps = open_books_deps(tmp_path / "ws")
    first = START.plus(1)
    build_cycle_reports(deps, [first, LAST])
    clock = deps.clock
    assert isinstance(clock, Clock)
    clock.now += timedelta(days=3)  # officers check one of that month's claims after its report went out
    verify_a_claim(deps, first)
    clock.now += timedelta(days=30)
    rebuilt = {w.label for w in build_cycle_reports(deps, [LAST])}
    assert rebuilt == {str(first), str(LAST), "year-1"}  # months checked before their report are left as built
    page = json.loads((deps.workspace.out / "report" / "officers" / str(first) / "figures.json").read_text())
    [row] = next(f for f in page["figures"] if f["id"] == "spot_checks")["rows"]
    year = json.loads((deps.workspace.out / "report" / "officers" / "year-1" / "figures.json").read_text())
    assert row == next(f for f in year["figures"] if f["id"] == "spot_checks")["rows"][1]

    # A month of a year the cycle pays nothing in (the year's last, checked after the next year began): the same.
    third = START.plus(2)
    verify_a_claim(deps, third)
    clock.now += timedelta(days=1)
    assert {w.label for w in build_cycle_reports(deps, [])} == {str(third), "year-1"}
    assert build_cycle_reports(deps, []) == []  # built since: nothing again


def test_o_e_is_only_rough_for_a_partner_with_a_count_hidden_in_any_month_to_date(built: Any) -> None:
    """O/E times E is a partner's weighted outcomes to date, and one month's report less the last gives the
    month's: exact beside a hidden count, they would give the count away."""
    deps, pages = built
    alliance = figures(pages["period"][list(pages["period"])[1]])
    performance = rows_by_partner(alliance["partner_performance"])
    exact = {name for name, row in performance.items() if isinstance(row["ratio"], float)}
    rough = {name for name, row in performance.items() if str(row["ratio"]).startswith("~")}
    assert exact and rough
    for name in rough:
        row = performance[name]
        assert (row["lower"], row["upper"], row["z"]) == (WITHHELD,) * 3
        assert re.fullmatch(r"~\d+\.\d", row["ratio"]) and re.fullmatch(r"~\d*0", row["expected"]), row
        assert row["standing"] in ("below its limits", "within", "above its limits")
    hid: set[str] = set()  # partners with a count hidden (<5 or *) in a month's own report
    for month in [START.plus(m) for m in range(6)]:
        page = figures(build_report(deps, period=month).pages[Grade.alliance])
        for figure in ("partner_volumes", "partner_outcomes"):
            for row in page[figure]["rows"]:
                if any(isinstance(v, str) and v in ("<5", WITHHELD) for k, v in row.items() if k != "partner"):
                    hid.add(row["partner"])
    assert "Partner 05" in hid  # withheld beside a small one: its exact count would give that away
    assert exact == set(performance) - hid and rough <= hid
