"""The audit chain on SQLite and PostgreSQL: concurrent appends never fork it, and every kind of
tampering is reported at the first entry it touched."""

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from models.audit import GENESIS, _digest, append_audit, verify_chain
from models.db import session_scope

NOW = datetime(2026, 11, 16, 9, tzinfo=UTC)


def append(engine: Engine, count: int) -> None:
    for n in range(count):
        with session_scope(engine) as session:
            append_audit(session, at=NOW, actor="officer", action="test", subject=f"s{n}", detail={"n": n})


def hashes(engine: Engine) -> list[tuple[int, str, str]]:
    with engine.connect() as connection:
        return [tuple(r) for r in connection.execute(text("SELECT id, prev_hash, hash FROM audit_entry ORDER BY id"))]


def unguard(engine: Engine, *guards: str) -> None:
    """What someone with database access does first: drop the triggers (and index) that protect the log."""
    on = " ON audit_entry" if engine.dialect.name == "postgresql" else ""
    with engine.begin() as connection:
        for guard in guards:
            if guard.startswith("uq_"):
                connection.execute(text(f"DROP INDEX {guard}"))
            else:
                connection.execute(text(f"DROP TRIGGER {guard}{on}"))


def test_concurrent_appends_make_one_unbroken_chain(engine: Engine) -> None:
    threads, each = 8, 25
    barrier = threading.Barrier(threads)
    failures: list[BaseException] = []

    def writer(number: int) -> None:
        barrier.wait()
        try:
            for n in range(each):
                with session_scope(engine) as session:
                    append_audit(session, at=NOW, actor=f"writer-{number}", action="test", subject=f"s{n}")
        except BaseException as exc:  # noqa: BLE001 - every failure is reported below
            failures.append(exc)

    workers = [threading.Thread(target=writer, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)

    assert failures == []
    with session_scope(engine) as session:
        check = verify_chain(session)
    assert (check.ok, check.entries) == (True, threads * each)
    chain = hashes(engine)
    assert len({prev for _, prev, _ in chain}) == threads * each  # no entry followed by two
    assert check.head == chain[-1][2]


def test_the_database_refuses_a_second_entry_after_the_same_one(engine: Engine) -> None:
    append(engine, 2)
    first = hashes(engine)[0]
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO audit_entry (at, actor, action, subject, detail, prev_hash, hash) "
                "VALUES (:at, 'x', 'fork', 'y', '{}', :prev, :hash)"
            ),
            {"at": NOW.replace(tzinfo=None), "prev": first[2], "hash": "f" * 64},
        )


def test_a_removed_entry_is_reported_at_the_entry_after_it(engine: Engine) -> None:
    append(engine, 4)
    unguard(engine, "audit_entry_no_delete")
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_entry WHERE id = 2"))
    with session_scope(engine) as session:
        check = verify_chain(session)
    assert (check.ok, check.first_bad_id, check.entries) == (False, 3, 2)
    assert check.problem is not None and "before 3 was removed" in check.problem


def test_an_entry_forged_into_the_middle_is_reported_itself(engine: Engine) -> None:
    """A careful forger: renumbers the later entries, inserts a well-formed entry chained to entry 1."""
    append(engine, 3)
    unguard(engine, "audit_entry_no_update", "uq_audit_entry_prev_hash")
    first = hashes(engine)[0]
    forged_hash = _digest(first[2], NOW, "forger", "payment_run.approved", "2026-10/v1", "{}")
    with engine.begin() as connection:
        connection.execute(text("UPDATE audit_entry SET id = id + 100 WHERE id >= 2"))
        connection.execute(
            text(
                "INSERT INTO audit_entry (id, at, actor, action, subject, detail, prev_hash, hash) "
                "VALUES (2, :at, 'forger', 'payment_run.approved', '2026-10/v1', '{}', :prev, :hash)"
            ),
            {
                "at": NOW.replace(tzinfo=None) if engine.dialect.name == "sqlite" else NOW,
                "prev": first[2],
                "hash": forged_hash,
            },
        )
    with session_scope(engine) as session:
        check = verify_chain(session)
    assert (check.ok, check.first_bad_id) == (False, 2)
    assert check.problem is not None and "entry 2 is not in the chain" in check.problem


def test_a_forged_entry_with_a_made_up_hash_is_reported_itself(engine: Engine) -> None:
    append(engine, 2)
    last = hashes(engine)[-1]
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO audit_entry (at, actor, action, subject, detail, prev_hash, hash) "
                "VALUES (:at, 'forger', 'return.unlocked', 'x', '{}', :prev, :hash)"
            ),
            {
                "at": NOW.replace(tzinfo=None) if engine.dialect.name == "sqlite" else NOW,
                "prev": last[2],
                "hash": "e" * 64,
            },
        )
    with session_scope(engine) as session:
        check = verify_chain(session)
    assert (check.ok, check.first_bad_id, check.entries) == (False, 3, 3)
    assert check.problem is not None and "edited" in check.problem


def test_an_empty_log_is_intact_with_the_genesis_head(engine: Engine) -> None:
    with session_scope(engine) as session:
        check = verify_chain(session)
    assert (check.ok, check.entries, check.head) == (True, 0, GENESIS)
