"""Seeded mutations of a valid return: nothing crashes and nothing is half written.

Replay a failure with ALLIANCE_MUTATION_SEED=<seed printed in the failure>; change the
number with ALLIANCE_MUTATIONS.
"""

import io
import os
import random
import re
import secrets
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func
from sqlmodel import select

from integrations.inbox import read_file
from integrations.workspace import Workspace
from models import repo
from models.db import session_scope
from models.tables import FindingRecord, ParticipantRecord, Submission
from services.deps import production_deps
from services.intake import process_file
from tests.helpers import EXCEPTION_TEXT, clean_rows, return_bytes

SEED = int(os.environ.get("ALLIANCE_MUTATION_SEED") or secrets.randbits(32))
COUNT = int(os.environ.get("ALLIANCE_MUTATIONS", "1000"))
ON_TIME = datetime(2026, 11, 10, 10, tzinfo=UTC)

Mutation = Callable[[random.Random, bytes], bytes]


def _parts(content: bytes) -> list[tuple[zipfile.ZipInfo, bytes]]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return [(item, archive.read(item)) for item in archive.infolist()]


def _zip(parts: list[tuple[zipfile.ZipInfo, bytes]]) -> bytes:
    """The parts zipped again, the same bytes whenever it runs (no clock in the entries): a seed replays exactly."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for item, data in parts:
            archive.writestr(
                zipfile.ZipInfo(item.filename, date_time=(2026, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED
            )
    return out.getvalue()


def _edit_part(
    rng: random.Random, content: bytes, edit: Callable[[random.Random, bytes], bytes], xml_only: bool = True
) -> bytes:
    parts = _parts(content)
    choices = [i for i, (item, _) in enumerate(parts) if not xml_only or item.filename.endswith((".xml", ".rels"))]
    index = rng.choice(choices)
    item, data = parts[index]
    parts[index] = (item, edit(rng, data))
    return _zip(parts)


def flip_bytes(rng: random.Random, content: bytes) -> bytes:
    data = bytearray(content)
    for _ in range(rng.randint(1, 8)):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    return bytes(data)


def truncate_file(rng: random.Random, content: bytes) -> bytes:
    return content[: rng.randrange(len(content))]


def drop_entry(rng: random.Random, content: bytes) -> bytes:
    parts = _parts(content)
    del parts[rng.randrange(len(parts))]
    return _zip(parts)


def duplicate_entry(rng: random.Random, content: bytes) -> bytes:
    parts = _parts(content)
    parts.insert(rng.randrange(len(parts) + 1), rng.choice(parts))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns about the duplicate name it is asked to write
        return _zip(parts)


def truncate_xml(rng: random.Random, content: bytes) -> bytes:
    return _edit_part(rng, content, lambda r, data: data[: r.randrange(len(data) + 1)])


def corrupt_xml(rng: random.Random, content: bytes) -> bytes:
    return _edit_part(rng, content, lambda r, data: flip_bytes(r, data) if data else data)


def _random_ref(rng: random.Random) -> str:
    letters = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(rng.randint(1, 3)))
    return f"{letters}{rng.choice([1, 2, 7, 5001, 20_001, 1_048_576, rng.randint(1, 10**7)])}"


def falsify_dimension(rng: random.Random, content: bytes) -> bytes:
    def edit(r: random.Random, data: bytes) -> bytes:
        ref = r.choice(["A1", "A1:A1", f"A1:{_random_ref(r)}", "A1:XFD1048576", "", "garbage"])
        return re.sub(rb'<dimension ref="[^"]*"', f'<dimension ref="{ref}"'.encode(), data)

    return _edit_part(rng, content, edit)


def retype_cell(rng: random.Random, content: bytes) -> bytes:
    def edit(r: random.Random, data: bytes) -> bytes:
        cells = list(re.finditer(rb"<c ([^>]*?)(/?)>", data))
        if not cells:
            return data
        cell = r.choice(cells)
        attrs = re.sub(rb'\s*t="[^"]*"', b"", cell.group(1))
        kind = r.choice([b"s", b"b", b"e", b"str", b"d", b"n", b"inlineStr", b"zz"])
        value = r.choice(
            [b"", b"<v>999999</v>", b"<v>-1</v>", b"<v>2</v>", b"<v>x</v>", b"<v>1e308</v>", b"<f>1/0</f>"]
        )
        replacement = b"<c " + attrs + b' t="' + kind + b'">' + value + b"</c>"
        if cell.group(2):  # a self-closed cell
            return data[: cell.start()] + replacement + data[cell.end() :]
        end = data.find(b"</c>", cell.end())
        return data[: cell.start()] + replacement + data[end + 4 :] if end >= 0 else data

    return _edit_part(rng, content, edit)


def move_cell(rng: random.Random, content: bytes) -> bytes:
    def edit(r: random.Random, data: bytes) -> bytes:
        refs = list(re.finditer(rb'<c r="([A-Z]+[0-9]+)"', data))
        if not refs:
            return data
        ref = r.choice(refs)
        return data[: ref.start(1)] + _random_ref(r).encode() + data[ref.end(1) :]

    return _edit_part(rng, content, edit)


def drop_references(rng: random.Random, content: bytes) -> bytes:
    return _edit_part(rng, content, lambda r, data: re.sub(rb'(<c|<row) r="[^"]*"', rb"\1", data))


MUTATIONS: list[Mutation] = [
    flip_bytes,
    truncate_file,
    drop_entry,
    duplicate_entry,
    truncate_xml,
    corrupt_xml,
    falsify_dimension,
    retype_cell,
    move_cell,
    drop_references,
]


def test_mutated_returns_never_crash_and_are_recorded_whole_or_refused(workspace: Workspace) -> None:
    print(f"mutation seed {SEED} ({COUNT} mutations): replay with ALLIANCE_MUTATION_SEED={SEED}")
    rng = random.Random(SEED)
    deps = production_deps(workspace, clock=lambda: datetime(2026, 11, 16, 9, tzinfo=UTC))
    with session_scope(deps.engine) as session:
        repo.sync_partners(session, contract=deps.contract)
    base = return_bytes(deps.contract, rows=clean_rows(6))
    inbox = Path(workspace.root) / "inbox"
    inbox.mkdir()
    statuses: dict[str, int] = {}
    seen = {base}
    applied: set[str] = set()
    number = 0
    while number < COUNT:
        mutation = rng.choice(MUTATIONS)
        content = mutation(rng, base)
        if content in seen:
            continue  # the same bytes would only be recognised as a duplicate; draw another
        seen.add(content)
        applied.add(mutation.__name__)
        number += 1
        path = inbox / f"m{number:04d}.xlsx"  # read as from harbour-trust's folder (its return, mutated)
        path.write_bytes(content)
        where = f"seed {SEED}, mutation {number} ({mutation.__name__})"
        try:
            outcome = process_file(deps, read_file(path, received_at=ON_TIME, sender="harbour-trust"))
        except Exception as exc:  # noqa: BLE001 - the point: report which mutation crashed, replayably
            raise AssertionError(f"{where} crashed: {type(exc).__name__}: {exc}") from exc
        statuses[outcome.status] = statuses.get(outcome.status, 0) + 1
        assert outcome.status in {"accepted", "rejected", "quarantined", "duplicate"}, where
        assert outcome.status == "duplicate" or outcome.findings or outcome.status == "accepted", where
        assert not any(EXCEPTION_TEXT.search(f.message) for f in outcome.findings), where

    with session_scope(deps.engine) as session:
        rows = dict(
            session.exec(
                select(ParticipantRecord.submission_id, func.count()).group_by(ParticipantRecord.submission_id)
            ).all()
        )
        findings = dict(
            session.exec(select(FindingRecord.submission_id, func.count()).group_by(FindingRecord.submission_id)).all()
        )
        for record in session.exec(select(Submission)):
            where = f"seed {SEED}, {record.filename}"
            whole = record.status in ("accepted", "superseded")
            assert rows.get(record.id, 0) == (record.row_count if whole else 0), where
            assert findings.get(record.id, 0) == record.error_count + record.warning_count + record.info_count, where
            assert (record.error_count == 0) == whole, where
            if whole:
                assert record.partner_id and record.period and record.version, where
    print(f"outcomes: {statuses}")
    assert applied == {m.__name__ for m in MUTATIONS}
    assert statuses.get("duplicate", 0) == 0 and sum(statuses.values()) == COUNT
