"""Rules the database enforces itself, whatever code path writes (DESIGN.md section 7).

- A submission is not accepted while its partner's return for the period is locked (the latest
  return_lock event for the partner and period is a lock): an officer must unlock it first.
- A submission's status changes only as ``domain.period_states.SUBMISSION_TRANSITIONS`` allows.
- A period's state only moves forward (open -> due -> closed).

Triggers on SQLite and PostgreSQL, created by migration 0008 (made again by 0011 for sent_back); their messages say
which rule refused the write, and ``models.db.session_scope`` turns them into ``domain.errors.IntegrityError``.
"""

from typing import Any

from domain.period_states import PERIOD_ORDER, SUBMISSION_STATUSES, SUBMISSION_TRANSITIONS
from models.immutable import IMMUTABLE_MESSAGE

LOCKED_RULE = (
    "is locked: its payment run was approved, so no version can be accepted until an officer unlocks it "
    "(alliance period unlock)"
)
STATUS_RULE = (
    "a submission's status only goes received -> accepted, rejected or quarantined, and accepted -> superseded or "
    "sent_back"
)
PERIOD_RULE = "a period's state only moves forward: open -> due -> closed"

# What identifies an error raised by one of the database's own rules (see models.db.session_scope).
RULE_MESSAGES = (LOCKED_RULE, STATUS_RULE, PERIOD_RULE, IMMUTABLE_MESSAGE)

_SUBMISSION_TRIGGERS = (
    "submission_locked_insert",
    "submission_locked_update",
    "submission_status_insert",
    "submission_status_update",
)
_PERIOD_TRIGGERS = ("period_state_insert", "period_state_update")


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _in(values: tuple[str, ...] | list[str]) -> str:
    return "(" + ", ".join(_lit(v) for v in values) + ")"


def _allowed_transition(old: str, new: str) -> str:
    pairs = sorted(SUBMISSION_TRANSITIONS)
    return "(" + " OR ".join(f"({old} = {_lit(a)} AND {new} = {_lit(b)})" for a, b in pairs) + ")"


def _rank(column: str) -> str:
    cases = " ".join(f"WHEN {_lit(str(s))} THEN {i}" for i, s in enumerate(PERIOD_ORDER))
    return f"(CASE {column} {cases} END)"


_LAST_LOCK = (
    "(SELECT action FROM return_lock WHERE return_lock.period = NEW.period "
    "AND return_lock.partner_id = NEW.partner_id ORDER BY return_lock.id DESC LIMIT 1)"
)
_STATES = [str(s) for s in PERIOD_ORDER]


def create_rules(op: Any) -> None:
    """The triggers (``op`` is Alembic's)."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _sqlite(op)
    elif dialect == "postgresql":
        _postgresql(op)


def drop_rules(op: Any) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS submission_rules ON submission")
        op.execute("DROP TRIGGER IF EXISTS period_rules ON period")
        op.execute("DROP FUNCTION IF EXISTS alliance_submission_rules()")
        op.execute("DROP FUNCTION IF EXISTS alliance_period_rules()")
        return
    for name in (*_SUBMISSION_TRIGGERS, *_PERIOD_TRIGGERS):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")


def _sqlite(op: Any) -> None:
    # SQLite's RAISE takes a literal: the message names the rule, the caller knows the partner and period.
    locked = _lit(f"submission: this partner's return for this period {LOCKED_RULE}")
    status = _lit(f"submission: status refused: {STATUS_RULE}")
    period = _lit(f"period: state refused: {PERIOD_RULE}")
    op.execute(
        "CREATE TRIGGER submission_locked_insert BEFORE INSERT ON submission "
        f"WHEN NEW.status = 'accepted' AND {_LAST_LOCK} = 'lock' "
        f"BEGIN SELECT RAISE(ABORT, {locked}); END"
    )
    op.execute(
        "CREATE TRIGGER submission_locked_update BEFORE UPDATE OF status, partner_id, period ON submission "
        "WHEN NEW.status = 'accepted' AND (OLD.status <> 'accepted' OR NEW.partner_id IS NOT OLD.partner_id "
        f"OR NEW.period IS NOT OLD.period) AND {_LAST_LOCK} = 'lock' "
        f"BEGIN SELECT RAISE(ABORT, {locked}); END"
    )
    op.execute(
        "CREATE TRIGGER submission_status_insert BEFORE INSERT ON submission "
        f"WHEN NEW.status NOT IN {_in(SUBMISSION_STATUSES)} "
        f"BEGIN SELECT RAISE(ABORT, {status}); END"
    )
    op.execute(
        "CREATE TRIGGER submission_status_update BEFORE UPDATE OF status ON submission "
        f"WHEN NEW.status <> OLD.status AND NOT {_allowed_transition('OLD.status', 'NEW.status')} "
        f"BEGIN SELECT RAISE(ABORT, {status}); END"
    )
    op.execute(
        "CREATE TRIGGER period_state_insert BEFORE INSERT ON period "
        f"WHEN NEW.state NOT IN {_in(_STATES)} BEGIN SELECT RAISE(ABORT, {period}); END"
    )
    op.execute(
        "CREATE TRIGGER period_state_update BEFORE UPDATE OF state ON period "
        f"WHEN NEW.state NOT IN {_in(_STATES)} OR {_rank('NEW.state')} < {_rank('OLD.state')} "
        f"BEGIN SELECT RAISE(ABORT, {period}); END"
    )


def _postgresql(op: Any) -> None:
    # SQLSTATE 23514 (check_violation): drivers report it as an integrity error, as SQLite does RAISE(ABORT).
    op.execute(
        "CREATE OR REPLACE FUNCTION alliance_submission_rules() RETURNS trigger AS $$ "
        "DECLARE last_action text; "
        "BEGIN "
        f"IF NEW.status NOT IN {_in(SUBMISSION_STATUSES)} OR (TG_OP = 'UPDATE' AND NEW.status <> OLD.status "
        f"AND NOT {_allowed_transition('OLD.status', 'NEW.status')}) THEN "
        "RAISE EXCEPTION USING ERRCODE = '23514', MESSAGE = format('submission %s: status %s -> %s refused: ', "
        f"NEW.id, CASE WHEN TG_OP = 'UPDATE' THEN OLD.status ELSE '(new)' END, NEW.status) || {_lit(STATUS_RULE)}; "
        "END IF; "
        "IF NEW.status = 'accepted' AND (TG_OP = 'INSERT' OR OLD.status <> 'accepted' "
        "OR NEW.partner_id IS DISTINCT FROM OLD.partner_id OR NEW.period IS DISTINCT FROM OLD.period) THEN "
        f"last_action := {_LAST_LOCK}; "
        "IF last_action = 'lock' THEN "
        "RAISE EXCEPTION USING ERRCODE = '23514', MESSAGE = format('submission: %s''s return for %s ', "
        f"NEW.partner_id, NEW.period) || {_lit(LOCKED_RULE)}; "
        "END IF; "
        "END IF; "
        "RETURN NEW; "
        "END; $$ LANGUAGE plpgsql"
    )
    op.execute(
        "CREATE TRIGGER submission_rules BEFORE INSERT OR UPDATE ON submission "
        "FOR EACH ROW EXECUTE FUNCTION alliance_submission_rules()"
    )
    op.execute(
        "CREATE OR REPLACE FUNCTION alliance_period_rules() RETURNS trigger AS $$ "
        "BEGIN "
        f"IF NEW.state NOT IN {_in(_STATES)} OR (TG_OP = 'UPDATE' AND {_rank('NEW.state')} < {_rank('OLD.state')}) "
        "THEN RAISE EXCEPTION USING ERRCODE = '23514', MESSAGE = format('period %s: state %s -> %s refused: ', "
        f"NEW.id, CASE WHEN TG_OP = 'UPDATE' THEN OLD.state ELSE '(new)' END, NEW.state) || {_lit(PERIOD_RULE)}; "
        "END IF; "
        "RETURN NEW; "
        "END; $$ LANGUAGE plpgsql"
    )
    op.execute(
        "CREATE TRIGGER period_rules BEFORE INSERT OR UPDATE ON period "
        "FOR EACH ROW EXECUTE FUNCTION alliance_period_rules()"
    )
