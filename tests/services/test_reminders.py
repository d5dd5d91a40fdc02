from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine

from domain.contract import Contract
from domain.periods import LONDON
from models import repo
from models.db import session_scope
from models.tables import Notification
from services.reminders import send_reminders
from tests.services.stored import deps_on, store

ON_TIME = datetime(2026, 11, 10, 9, tzinfo=UTC)  # October's returns are due 14/11/2026


def morning(day: int, month: int = 11) -> datetime:
    return datetime(2026, month, day, 8, tzinfo=LONDON)


def outbox(engine: Engine) -> list[Notification]:
    with session_scope(engine) as session:
        return repo.notifications(session)


def test_running_again_the_same_day_queues_nothing(engine: Engine, contract: Contract, tmp_path: Path) -> None:
    first = send_reminders(deps_on(engine, contract, tmp_path, morning(11)))
    assert first.day == date(2026, 11, 11)
    assert first.counts() == {"reminder_before_deadline": 3}
    queued = outbox(engine)
    again = send_reminders(deps_on(engine, contract, tmp_path, morning(11).replace(hour=17)))
    assert again.counts() == {} and len(again.queued) == 3 and not any(q.new for q in again.queued)
    assert [n.dedup_key for n in outbox(engine)] == [n.dedup_key for n in queued]
    assert {n.dedup_key for n in queued} == {
        f"reminder:2026-10:{p}:before-deadline:2026-11-11" for p in ("city-mind", "harbour-trust", "northfield-works")
    }
    assert {n.channel for n in queued} == {"#city-mind", "#harbour-trust", "#northfield-works"}


def test_an_accepted_return_stops_reminders_and_a_rejected_one_is_pointed_at_its_feedback(
    engine: Engine, contract: Contract, tmp_path: Path
) -> None:
    store(engine, contract, "harbour-trust", at=ON_TIME)
    store(engine, contract, "city-mind", status="rejected", errors=3, filename="<!channel> *october*.xlsx", at=ON_TIME)
    report = send_reminders(deps_on(engine, contract, tmp_path, morning(13)))
    assert sorted(q.partner_id or "" for q in report.queued) == ["city-mind", "northfield-works"]
    texts = {n.partner_id: n.text for n in outbox(engine)}
    assert "is due by *14/11/2026* (tomorrow)" in texts["city-mind"]
    assert "version 1, `&lt;!channel&gt; *october*.xlsx`) was not accepted: 3 error(s)" in texts["city-mind"]
    assert "`city-mind-2026-10-v1-feedback.xlsx`" in texts["city-mind"]
    assert "<!channel>" not in texts["city-mind"]
    assert "not received anything" in texts["northfield-works"]


def test_overdue_notices_the_day_after_then_weekly_with_one_officer_list_a_day(
    engine: Engine, contract: Contract, tmp_path: Path
) -> None:
    for month in ("07", "08", "09"):  # earlier periods complete: only October is chased
        for partner in contract.partner_ids:
            store(engine, contract, partner, period=f"2026-{month}", at=datetime(2026, int(month) + 1, 2, tzinfo=UTC))
    store(engine, contract, "harbour-trust", at=ON_TIME)
    store(engine, contract, "city-mind", status="rejected", errors=2, at=ON_TIME)
    sent = {day: send_reminders(deps_on(engine, contract, tmp_path, morning(day))).counts() for day in range(15, 30)}
    overdue = {"reminder_overdue": 2, "overdue_summary": 1}
    assert {day: counts for day, counts in sent.items() if counts} == {15: overdue, 22: overdue, 29: overdue}
    summaries = [n for n in outbox(engine) if n.kind == "overdue_summary"]
    assert [n.dedup_key for n in summaries] == [f"overdue-summary:2026-11-{d}" for d in (15, 22, 29)]
    assert summaries[0].channel == "#alliance-officers"
    assert summaries[0].text.splitlines()[1:] == [
        "• *2026-10* (due 14/11/2026): City Mind (version 1 not accepted, 2 error(s)); "
        "Northfield Works (nothing received)"
    ]
    assert "is 8 day(s) overdue" in next(n.text for n in outbox(engine) if n.dedup_key.endswith("overdue:2026-11-22"))


def test_the_officer_list_covers_the_recent_overdue_periods(engine: Engine, contract: Contract, tmp_path: Path) -> None:
    for partner in contract.partner_ids:
        store(engine, contract, partner, period="2026-09", at=datetime(2026, 10, 1, tzinfo=UTC))
    store(engine, contract, "city-mind", period="2026-08", at=datetime(2026, 9, 1, tzinfo=UTC))
    report = send_reminders(deps_on(engine, contract, tmp_path, morning(15)))
    assert report.periods == ["2026-08", "2026-09", "2026-10"]
    (summary,) = [n for n in outbox(engine) if n.kind == "overdue_summary"]
    lines = summary.text.splitlines()
    assert lines[1].startswith("• *2026-08* (due 14/09/2026): Harbour Trust (nothing received); Northfield Works")
    assert lines[2].startswith("• *2026-10*")  # September is complete
    overdue = [q for q in report.queued if q.kind == "reminder_overdue"]
    assert {q.period for q in overdue} == {"2026-10"}  # 15/11 is not a weekly day for August's gap


def test_each_overdue_period_keeps_its_own_weekly_cadence(engine: Engine, contract: Contract, tmp_path: Path) -> None:
    days = {
        day: sorted({q.period or "" for q in send_reminders(deps_on(engine, contract, tmp_path, morning(day))).queued})
        for day in range(15, 22)
    }
    # Days past due: October 1 on 15/11, August 64 on 17/11, September 36 on 19/11 (each 1 + 7k);
    # July has left the window of three. "" is the officers' list, queued on each of those days.
    assert {d: p for d, p in days.items() if p} == {
        15: ["", "2026-10"],
        17: ["", "2026-08"],
        19: ["", "2026-09"],
    }


def test_a_day_an_explicit_date_is_given_for(engine: Engine, contract: Contract, tmp_path: Path) -> None:
    report = send_reminders(deps_on(engine, contract, tmp_path, morning(20)), today=date(2026, 11, 13))
    assert report.counts() == {"reminder_before_deadline": 3}
    assert all(n.dedup_key.endswith("2026-11-13") for n in outbox(engine))


def test_a_day_with_no_reminder_due_still_says_who_is_missing_what_and_when_reminders_go(
    engine: Engine, contract: Contract, tmp_path: Path
) -> None:
    store(engine, contract, "harbour-trust", at=ON_TIME)  # October's, accepted
    store(engine, contract, "city-mind", status="rejected", errors=2, at=ON_TIME)
    report = send_reminders(deps_on(engine, contract, tmp_path, datetime(2027, 1, 8, 8, tzinfo=LONDON)))
    assert report.queued == []  # not a reminder day for any period
    everyone = ("city-mind", "harbour-trust", "northfield-works")
    assert report.missing == [
        ("2026-09", [(p, "nothing received") for p in everyone]),
        ("2026-10", [("city-mind", "version 1 not accepted, 2 error(s)"), ("northfield-works", "nothing received")]),
        ("2026-11", [(p, "nothing received") for p in everyone]),
    ]
    assert report.rule.startswith("reminders go 3 and 1 day(s) before the due day (the 14th")
