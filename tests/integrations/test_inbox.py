import hashlib
import os
import stat
import uuid
from pathlib import Path

import fsspec

from integrations.inbox import FolderInbox, UrlInbox, archive_original, open_inbox, read_file


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
