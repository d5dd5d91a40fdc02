"""The audit chain on SQLite and PostgreSQL: concurrent appends never fork it, and every kind of
tampering is reported at the first entry it touched."""

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from models.audit import GENESIS, _digest, append_audit, missing_head, on_new_head, verify_chain
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


def test_each_committed_append_tells_its_head_and_every_head_told_is_in_the_chain(engine: Engine) -> None:
    """Issue 31, case 4: the head kept outside the database, by writers appending at once (none rolled back told)."""
    told: list[tuple[int, str]] = []
    on_new_head(engine, lambda entry_id, digest: told.append((entry_id, digest)))
    threads, each = 6, 10
    barrier = threading.Barrier(threads)

    def writer(number: int) -> None:
        barrier.wait()
        for n in range(each):
            with session_scope(engine) as session:
                append_audit(session, at=NOW, actor=f"writer-{number}", action="test", subject=f"s{n}")
            with pytest.raises(RuntimeError), session_scope(engine) as session:
                append_audit(session, at=NOW, actor=f"writer-{number}", action="test", subject="rolled back")
                raise RuntimeError("the transaction fails after its append")

    workers = [threading.Thread(target=writer, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)

    chain = {entry_id: digest for entry_id, _, digest in hashes(engine)}
    assert len(chain) == threads * each
    assert sorted(told) == sorted(chain.items())
    with session_scope(engine) as session:
        assert all(missing_head(session, entry_id=i, digest=d) is None for i, d in told)


def test_a_chain_cut_short_or_emptied_lacks_the_head_kept_outside(engine: Engine) -> None:
    append(engine, 4)
    head = hashes(engine)[-1]
    unguard(engine, "audit_entry_no_delete")
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_entry WHERE id > 2"))
    with session_scope(engine) as session:
        assert verify_chain(session).ok  # what the chain alone cannot see
        problem = missing_head(session, entry_id=head[0], digest=head[2])
    assert problem is not None and "entry 4, recorded in the workspace as the head" in problem
    assert "the chain ends at entry 2 (2 entries)" in problem
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_entry"))
    for n in range(4):  # another chain, as long: entry 4 is there but is not the one recorded
        with session_scope(engine) as session:
            append_audit(session, at=NOW, actor="someone else", action="test", subject=f"s{n}")
    with session_scope(engine) as session:
        problem = missing_head(session, entry_id=head[0], digest=head[2])
    # SQLite numbers the new chain from 1 again; PostgreSQL's sequence goes on (entry 4 is missing there)
    expected = "its hash differs" if engine.dialect.name == "sqlite" else "the chain ends at entry 8 (4 entries)"
    assert problem is not None and expected in problem
