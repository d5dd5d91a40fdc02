"""The cycle and what lands in the inbox: who sent it, odd names, what is not read (issue 31, cases 2, 8, 13)."""

from datetime import UTC, datetime

from flows.monthly_cycle import monthly_cycle
from integrations.workspace import Workspace
from services.deps import Deps, production_deps
from tests.helpers import return_bytes

CYCLE_AT = datetime(2026, 11, 16, 9, tzinfo=UTC)
CJK_NAME = "参加者報告" * 16 + ".xlsx"  # 80 characters and a suffix: 245 bytes in UTF-8 (a name takes 255)


def deps_for(workspace: Workspace) -> Deps:
    return production_deps(workspace, clock=lambda: CYCLE_AT)


def test_a_file_name_near_the_file_systems_limit_goes_through_the_cycle_twice(workspace: Workspace) -> None:
    folder = workspace.inbox / "harbour-trust"
    folder.mkdir(parents=True)
    (folder / CJK_NAME).write_bytes(return_bytes(workspace.load_contract()))
    (folder / ("二" + CJK_NAME)).write_bytes(b"not a workbook")
    first = monthly_cycle(period="2026-10", deps=deps_for(workspace))
    assert {o.filename: o.status for o in first.outcomes} == {CJK_NAME: "accepted", "二" + CJK_NAME: "rejected"}
    again = monthly_cycle(period="2026-10", deps=deps_for(workspace))
    assert again.outcomes == [] and again.runs[0].run.id == first.runs[0].run.id
    written = [p for p in workspace.root.rglob("*") if p.is_file() and "inbox" not in p.parts]
    assert all(len(p.name.encode()) < 120 for p in written), [p for p in written if len(p.name.encode()) >= 120]


def test_files_in_a_partners_sub_folder_are_refused_to_the_partner_and_ignored_names_are_counted(
    workspace: Workspace,
) -> None:
    old = workspace.inbox / "harbour-trust" / "old"
    old.mkdir(parents=True)
    (old / "october.xlsx").write_bytes(return_bytes(workspace.load_contract()))
    (workspace.inbox / "harbour-trust" / "~$october.xlsx").write_bytes(b"lock")
    (workspace.inbox / ".DS_Store").write_bytes(b"finder")
    first = monthly_cycle(period="2026-10", deps=deps_for(workspace))
    assert [(o.filename, o.status, o.partner_id, [f.code for f in o.findings]) for o in first.outcomes] == [
        ("october.xlsx", "rejected", "harbour-trust", ["FILE_IN_SUBFOLDER"])
    ]
    assert sorted(first.ignored) == [".DS_Store", "harbour-trust/~$october.xlsx"]
    again = monthly_cycle(period="2026-10", deps=deps_for(workspace))
    assert again.outcomes == [] and len(again.ignored) == 2  # recorded once; counted every time
