from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from domain.errors import ConfigError
from models import repo
from models.audit import append_audit, verify_chain
from models.db import ensure_schema, is_current, make_engine, session_scope, upgrade
from models.tables import PartnerRecord, PaymentRun, Submission

NOW = datetime(2026, 11, 16, 9, tzinfo=UTC)


def a_run(version: int = 1, key: str = "k1") -> PaymentRun:
    return PaymentRun(
        period="2026-10",
        version=version,
        idempotency_key=key,
        inputs_hash="h",
        contract_fingerprint="c",
        framework_version=1,
        target_points="260",
        alliance_points="130",
        alliance_factor="0.8",
        pool_pence=5_000_000,
        payable_pence=4_000_000,
        created_at=NOW,
    )


def test_migrations_bring_the_schema_to_head(engine: Engine) -> None:
    assert is_current(engine)


def test_datetimes_come_back_utc_aware(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add(a_run())
    with session_scope(engine) as session:
        run = repo.latest_run(session, period="2026-10")
        assert run is not None and run.created_at == NOW and run.created_at.tzinfo is not None


def test_payment_runs_can_be_neither_updated_nor_deleted(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add(a_run())
    for statement in ("UPDATE payment_run SET payable_pence = 1", "DELETE FROM payment_run"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    with session_scope(engine) as session:
        run = repo.latest_run(session, period="2026-10")
        assert run is not None and run.payable_pence == 4_000_000


def test_a_run_version_is_posted_once(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add(a_run(1, "k1"))
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(a_run(1, "k2"))


def test_the_same_file_is_one_submission(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add(PartnerRecord(id="p", name="P", size="small", annual_core_pence=100, slack_channel="#p"))
    sub = dict(sha256="a" * 64, filename="x.xlsx", stored_path="x", received_at=NOW, status="rejected")
    with session_scope(engine) as session:
        session.add(Submission(**sub))
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(Submission(**sub))


def test_money_survives_at_the_scale_of_billions(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add(
            PartnerRecord(id="big", name="B", size="large", annual_core_pence=123_456_789_012_34, slack_channel="#b")
        )
    with session_scope(engine) as session:
        record = session.get(PartnerRecord, "big")
        assert record is not None and record.annual_core_pence == 123_456_789_012_34


def test_the_outbox_keeps_one_message_per_dedup_key(engine: Engine) -> None:
    with session_scope(engine) as session:
        first = repo.enqueue(session, dedup_key="k", channel="#c", kind="x", text="one", at=NOW)
        again = repo.enqueue(session, dedup_key="k", channel="#c", kind="x", text="two", at=NOW)
        assert first.id == again.id
    with session_scope(engine) as session:
        assert [n.text for n in repo.notifications(session)] == ["one"]


def test_the_audit_chain_detects_an_edit(engine: Engine) -> None:
    with session_scope(engine) as session:
        for n in range(3):
            append_audit(session, at=NOW, actor="officer", action="test", subject=f"s{n}", detail={"n": n})
    with session_scope(engine) as session:
        assert verify_chain(session).ok and verify_chain(session).entries == 3
    # Someone with database access drops the guard and edits history.
    with engine.begin() as connection:
        connection.execute(
            text(
                "DROP TRIGGER audit_entry_no_update"
                + (" ON audit_entry" if engine.dialect.name == "postgresql" else "")
            )
        )
        connection.execute(text("UPDATE audit_entry SET subject = 'edited' WHERE subject = 's1'"))
    with session_scope(engine) as session:
        check = verify_chain(session)
        assert not check.ok and check.first_bad_id == 2


def test_the_audit_chain_holds_whatever_zone_the_clock_used(engine: Engine) -> None:
    from zoneinfo import ZoneInfo

    with session_scope(engine) as session:
        append_audit(session, at=NOW.astimezone(ZoneInfo("Europe/London")), actor="a", action="b", subject="c")
    with session_scope(engine) as session:
        assert verify_chain(session).ok


# Issue 31, case 14: a database this version cannot use is refused in one line a person can act on.
def test_a_database_made_by_a_newer_alliance_is_refused_naming_its_revision(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    for start in (ensure_schema, upgrade):
        with pytest.raises(ConfigError, match=r"made by a newer version of alliance \(schema revision 0099; .*upgrade"):
            start(engine)


def test_a_dropped_table_is_damage_not_the_newest_schema(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE payment_line"))
    for start in (ensure_schema, upgrade):
        with pytest.raises(ConfigError, match="table payment_line is missing .*damaged; restore it from a backup"):
            start(engine)


def test_a_file_that_is_not_a_database_is_refused_in_words(tmp_path: Path) -> None:
    path = tmp_path / "alliance.db"
    path.write_bytes(b"SQLite format 3\x00" + b"not really" * 100)
    with pytest.raises(ConfigError, match="cannot read the database .*restore it from a backup"):
        ensure_schema(make_engine(f"sqlite:///{path}"))


@pytest.mark.parametrize("url", ["bogus://me:secret@host/db", "secret-not-a-url"])
def test_a_database_url_alliance_cannot_use_is_refused_without_showing_it(url: str) -> None:
    with pytest.raises(ConfigError, match="is not one alliance can use: set ALLIANCE_DATABASE_URL") as caught:
        make_engine(url)
    assert "secret" not in str(caught.value)
