"""Inbox storage: where partners' files land. A folder today; the interface allows others."""

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

# A return is a few MB at most; a larger file is refused without being read into memory.
MAX_FILE_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class InboxFile:
    name: str
    path: str
    received_at: datetime  # when the file landed in the inbox
    size: int
    sha256: str
    content: bytes | None  # None when the file is over MAX_FILE_BYTES


@runtime_checkable
class Inbox(Protocol):
    def files(self) -> Iterator[InboxFile]: ...


# Files a person's tools leave beside real ones; never a submission.
_IGNORED_PREFIXES = (".", "~$")


def read_file(path: Path, received_at: datetime | None = None) -> InboxFile:
    stat = path.stat()
    digest = hashlib.sha256()
    content: bytes | None = None
    if stat.st_size <= MAX_FILE_BYTES:
        content = path.read_bytes()
        digest.update(content)
    else:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return InboxFile(
        name=path.name,
        path=str(path),
        received_at=received_at or datetime.fromtimestamp(stat.st_mtime, tz=UTC),
        size=stat.st_size,
        sha256=digest.hexdigest(),
        content=content,
    )


class FolderInbox:
    """Every regular file in a folder, oldest first; the file's mtime is when it was received."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def files(self) -> Iterator[InboxFile]:
        if not self.folder.is_dir():
            return
        entries = [p for p in self.folder.iterdir() if p.is_file() and not p.name.startswith(_IGNORED_PREFIXES)]
        for path in sorted(entries, key=lambda p: (p.stat().st_mtime, p.name)):
            yield read_file(path)
