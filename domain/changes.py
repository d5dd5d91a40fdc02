"""What changed between two versions of a partner's return, row by participant id."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from domain.returns import RawRow


@dataclass(frozen=True)
class CellChange:
    participant_id: str
    column: str
    before: Any
    after: Any
    row: int  # in the new version


@dataclass
class Changes:
    previous_version: int
    added: list[tuple[str, int]] = field(default_factory=list)  # (participant id, row in the new version)
    removed: list[tuple[str, int]] = field(default_factory=list)  # (participant id, row in the previous one)
    changed: list[CellChange] = field(default_factory=list)

    @property
    def none(self) -> bool:
        return not (self.added or self.removed or self.changed)


def _key(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip() or None


def _by_id(rows: Iterable[RawRow]) -> dict[str, RawRow]:
    """Rows by participant id; a repeated id keeps its first row (the repeat is a finding already)."""
    keyed: dict[str, RawRow] = {}
    for row in rows:
        key = _key(row.values.get("participant_id"))
        if key is not None and key not in keyed:
            keyed[key] = row
    return keyed


def compare(previous: Iterable[RawRow], current: Iterable[RawRow], columns: list[str], version: int) -> Changes:
    """Rows added and removed (by participant id) and, for rows in both, each cell whose value changed."""
    before, after = _by_id(previous), _by_id(current)
    changes = Changes(previous_version=version)
    changes.added = [(pid, row.row) for pid, row in after.items() if pid not in before]
    changes.removed = [(pid, row.row) for pid, row in before.items() if pid not in after]
    for pid, row in after.items():
        old = before.get(pid)
        if old is None:
            continue
        for column in columns:
            was, now = old.values.get(column), row.values.get(column)
            if was.__class__ is now.__class__ and was == now:
                continue  # nearly every cell: the same value, so the same key
            if _key(was) != _key(now):
                changes.changed.append(CellChange(pid, column, was, now, row.row))
    return changes
