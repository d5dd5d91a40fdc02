import hashlib
import os
import stat
import uuid
from pathlib import Path

import fsspec
import pytest

from integrations.inbox import FolderInbox, InboxFile, UrlInbox, archive_original, open_inbox, read_file


def test_a_folder_inbox_yields_files_oldest_first_with_the_partner_folder_as_sender(tmp_path: Path) -> None:
    (tmp_path / "harbour-trust").mkdir()
    files = {"loose.xlsx": None, "harbour-trust/october.xlsx": "harbour-trust", "~$lock.xlsx": None, ".DS_Store": None}
    for offset, name in enumerate(files):
        path = tmp_path / name
        path.write_bytes(name.encode())
        os.utime(path, (1_700_000_000 + offset, 1_700_000_000 + offset))
    found = list(FolderInbox(tmp_path).files())
    assert [(f.name, f.sender) for f in found] == [("loose.xlsx", None), ("october.xlsx", "harbour-trust")]
    assert found[1].sha256 == hashlib.sha256(b"harbour-trust/october.xlsx").hexdigest()
    assert found[0].received_at.timestamp() == 1_700_000_000


def test_an_fsspec_url_inbox_reads_the_same_way() -> None:
    root = f"memory://inbox-{uuid.uuid4().hex[:8]}"
    fs = fsspec.filesystem("memory")
    fs.pipe(f"{root}/a.xlsx", b"top")
    fs.pipe(f"{root}/city-mind/b.xlsx", b"from city mind")
    fs.pipe(f"{root}/city-mind/~$b.xlsx", b"lock")
    inbox = open_inbox(root)
    assert isinstance(inbox, UrlInbox)
    found = sorted(inbox.files(), key=lambda f: f.name)
    assert [(f.name, f.sender, f.content, f.size) for f in found] == [
        ("a.xlsx", None, b"top", 3),
        ("b.xlsx", "city-mind", b"from city mind", 14),
    ]
    assert found[1].path.startswith("memory://") and found[1].path.endswith("/city-mind/b.xlsx")


def test_a_folder_path_or_file_url_opens_a_folder_inbox(tmp_path: Path) -> None:
    assert isinstance(open_inbox(tmp_path), FolderInbox)
    assert isinstance(open_inbox(f"file://{tmp_path}"), FolderInbox)


def test_originals_are_archived_read_only_once_by_their_hash(tmp_path: Path) -> None:
    source = tmp_path / "Return October.XLSX"
    source.write_bytes(b"original bytes")
    file = read_file(source)
    first = archive_original(tmp_path / "archive", file)
    again = archive_original(tmp_path / "archive", file)
    assert first == again == tmp_path / "archive" / file.sha256[:2] / f"{file.sha256}.xlsx"
    assert first.read_bytes() == b"original bytes"
    assert stat.S_IMODE(first.stat().st_mode) & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) == 0
    assert [p.name for p in first.parent.iterdir()] == [first.name]  # no partial file left behind


def _mtime(path: Path, offset: int) -> None:
    os.utime(path, (1_700_000_000 + offset, 1_700_000_000 + offset), follow_symlinks=False)


def test_a_link_in_a_partner_folder_is_refused_unread_wherever_it_points(tmp_path: Path) -> None:
    inbox, outside = tmp_path / "inbox", tmp_path / "outside"
    (inbox / "harbour-trust").mkdir(parents=True)
    (inbox / "city-mind").mkdir()
    outside.mkdir()
    (inbox / "harbour-trust" / "october.xlsx").write_bytes(b"harbour's real return")
    (outside / "secret.xlsx").write_bytes(b"not the inbox's")
    (inbox / "city-mind" / "ours.xlsx").symlink_to("../harbour-trust/october.xlsx")
    (inbox / "city-mind" / "theirs.xlsx").symlink_to(outside / "secret.xlsx")
    (inbox / "loose.xlsx").symlink_to(outside / "secret.xlsx")
    for offset, path in enumerate(
        ["city-mind/ours.xlsx", "city-mind/theirs.xlsx", "loose.xlsx", "harbour-trust/october.xlsx"]
    ):
        _mtime(inbox / path, offset)
    found = list(FolderInbox(inbox).files())
    assert [(f.name, f.sender, f.refused) for f in found] == [
        ("ours.xlsx", "city-mind", "FILE_SYMLINK"),
        ("theirs.xlsx", "city-mind", "FILE_SYMLINK"),
        ("loose.xlsx", None, "FILE_SYMLINK"),
        ("october.xlsx", "harbour-trust", None),
    ]
    assert all(
        b"real return" not in (f.content or b"") and b"not the inbox" not in (f.content or b"") for f in found[:3]
    )
    assert len({f.sha256 for f in found}) == 4  # a link is never the same bytes as what it points at


def test_a_linked_partner_folder_is_refused_and_not_entered(tmp_path: Path) -> None:
    inbox, elsewhere = tmp_path / "inbox", tmp_path / "elsewhere"
    inbox.mkdir()
    elsewhere.mkdir()
    (elsewhere / "r.xlsx").write_bytes(b"bytes")
    (inbox / "city-mind").symlink_to(elsewhere)
    found = list(FolderInbox(inbox).files())
    assert [(f.name, f.sender, f.refused) for f in found] == [("city-mind", None, "FILE_SYMLINK")]


def test_a_folder_or_a_pipe_with_a_returns_name_in_a_partner_folder_is_refused_unopened(tmp_path: Path) -> None:
    (tmp_path / "city-mind" / "x.xlsx").mkdir(parents=True)
    (tmp_path / "city-mind" / "x.xlsx" / "inner.xlsx").write_bytes(b"inside")
    os.mkfifo(tmp_path / "city-mind" / "pipe.xlsx")  # opened, it would wait for a writer for ever
    _mtime(tmp_path / "city-mind" / "x.xlsx", 0)
    _mtime(tmp_path / "city-mind" / "pipe.xlsx", 1)
    found = list(FolderInbox(tmp_path).files())
    assert sorted((f.name, f.sender, f.refused) for f in found) == [  # the folder: the file in it (issue 31)
        ("inner.xlsx", "city-mind", "FILE_IN_SUBFOLDER"),
        ("pipe.xlsx", "city-mind", "FILE_NOT_REGULAR"),
    ]


def test_odd_names_are_kept_as_written_and_attributed_to_their_folder(tmp_path: Path) -> None:
    (tmp_path / "city-mind").mkdir()
    names = ["-rf.xlsx", "line\nbreak.xlsx", "bell\x07\x1b[31m.xlsx", "x" * 250 + ".xlsx"]
    for offset, name in enumerate(names):
        (tmp_path / "city-mind" / name).write_bytes(name.encode())
        _mtime(tmp_path / "city-mind" / name, offset)
    found = list(FolderInbox(tmp_path).files())
    assert [(f.name, f.sender, f.refused, f.content) for f in found] == [
        (n, "city-mind", None, n.encode()) for n in names
    ]


def test_a_file_that_vanishes_before_it_is_read_is_skipped_and_the_rest_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from integrations import inbox

    for offset, name in enumerate(["gone.xlsx", "kept.xlsx"]):
        (tmp_path / name).write_bytes(name.encode())
        _mtime(tmp_path / name, offset)
    real = inbox.read_file

    def vanishing(path: Path, **kwargs: object) -> InboxFile:
        if path.name == "gone.xlsx":
            path.unlink()
        return real(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(inbox, "read_file", vanishing)
    assert [f.name for f in FolderInbox(tmp_path).files()] == ["kept.xlsx"]


def test_a_file_that_changes_while_read_is_refused_as_still_changing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from integrations import inbox

    path = tmp_path / "growing.xlsx"
    path.write_bytes(b"first half")
    real, calls = os.fstat, []

    def fstat_while_written(fd: int) -> os.stat_result:
        calls.append(fd)
        if len(calls) == 2:  # after the read: the upload goes on
            with path.open("ab") as handle:
                handle.write(b" and the second half")
        return real(fd)

    monkeypatch.setattr(inbox.os, "fstat", fstat_while_written)
    file = read_file(path)
    assert (file.refused, file.name) == ("FILE_CHANGING", "growing.xlsx")
    assert b"first half" not in (file.content or b"")


def test_a_file_in_a_folder_inside_a_partners_folder_is_refused_unread_and_ignored_names_are_listed(
    tmp_path: Path,
) -> None:
    """Issue 31, case 13: nothing in the inbox is passed over without a record or a word."""
    inbox = tmp_path / "inbox"
    old = inbox / "harbour-trust" / "old" / "deeper"
    old.mkdir(parents=True)
    (old.parent / "september.xlsx").write_bytes(b"an earlier version")
    (old / "august.xlsx").write_bytes(b"an even earlier one")
    (inbox / "harbour-trust" / "~$october.xlsx").write_bytes(b"lock")
    (inbox / ".DS_Store").write_bytes(b"finder")
    (old.parent / ".hidden.xlsx").write_bytes(b"x")
    reader = FolderInbox(inbox)
    files = list(reader.files())
    assert sorted((f.name, f.sender, f.refused) for f in files) == [
        ("august.xlsx", "harbour-trust", "FILE_IN_SUBFOLDER"),
        ("september.xlsx", "harbour-trust", "FILE_IN_SUBFOLDER"),
    ]
    assert all(f.content is not None and b"an earlier" not in f.content for f in files)  # never read
    assert sorted(reader.ignored) == [".DS_Store", "harbour-trust/old/.hidden.xlsx", "harbour-trust/~$october.xlsx"]
