"""Inbox storage: where partners' files land, and the archive that keeps their original bytes.

An inbox is a folder or an fsspec URL (``memory://``, ``s3://``, ...). Files at its top level
come from anyone; a file in a sub-folder named after a partner id came from that partner
(their upload folder), which the About sheet must then agree with.
"""

import hashlib
import os
import stat
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, Protocol, runtime_checkable

import fsspec

# A return is a few MB at most; a larger file is refused without being read into memory.
MAX_FILE_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class InboxFile:
    name: str  # as the partner named it
    path: str  # where it was found
    received_at: datetime  # when the file landed in the inbox
    size: int
    sha256: str
    content: bytes | None  # None when the file is over MAX_FILE_BYTES
    sender: str | None = None  # the sub-folder it came from (a partner id), if any


@runtime_checkable
class Inbox(Protocol):
    def files(self) -> Iterator[InboxFile]: ...


# Files a person's tools leave beside real ones; never a submission.
_IGNORED_PREFIXES = (".", "~$")


def _ignored(name: str) -> bool:
    return name.startswith(_IGNORED_PREFIXES)


def read_file(path: Path, received_at: datetime | None = None, sender: str | None = None) -> InboxFile:
    info = path.stat()
    digest = hashlib.sha256()
    content: bytes | None = None
    if info.st_size <= MAX_FILE_BYTES:
        content = path.read_bytes()
        digest.update(content)
    else:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return InboxFile(
        name=path.name,
        path=str(path),
        received_at=received_at or datetime.fromtimestamp(info.st_mtime, tz=UTC),
        size=info.st_size,
        sha256=digest.hexdigest(),
        content=content,
        sender=sender,
    )


class FolderInbox:
    """Every regular file in a folder and its partner sub-folders, oldest first (mtime = received)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def files(self) -> Iterator[InboxFile]:
        if not self.folder.is_dir():
            return
        found: list[tuple[Path, str | None]] = []
        for entry in self.folder.iterdir():
            if _ignored(entry.name):
                continue
            if entry.is_file():
                found.append((entry, None))
            elif entry.is_dir():
                found += [(p, entry.name) for p in entry.iterdir() if p.is_file() and not _ignored(p.name)]
        for path, sender in sorted(found, key=lambda item: (item[0].stat().st_mtime, str(item[0]))):
            yield read_file(path, sender=sender)


def _modified(info: dict[str, Any]) -> datetime | None:
    for key in ("mtime", "LastModified", "last_modified", "created", "updated"):
        value = info.get(key)
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, tz=UTC)
    return None


class UrlInbox:
    """An inbox at an fsspec URL. A store that keeps no modification time gets ``now`` as received."""

    def __init__(self, url: str, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.fs, self.root = fsspec.core.url_to_fs(url)
        self.now = now

    def files(self) -> Iterator[InboxFile]:
        if not self.fs.exists(self.root):
            return
        found = []
        for path, info in self.fs.find(self.root, maxdepth=2, detail=True).items():
            relative = PurePosixPath(path).relative_to(PurePosixPath(self.root.rstrip("/") or "/"))
            if info.get("type") != "file" or any(_ignored(part) for part in relative.parts):
                continue
            sender = relative.parts[0] if len(relative.parts) == 2 else None
            found.append((_modified(info) or self.now(), path, sender, int(info.get("size") or 0)))
        for received_at, path, sender, size in sorted(found, key=lambda item: (item[0], item[1])):
            content = self.fs.cat_file(path) if size <= MAX_FILE_BYTES else None
            digest = hashlib.sha256(content or b"")
            if content is None:
                with self.fs.open(path, "rb") as handle:
                    for block in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(block)
            yield InboxFile(
                name=PurePosixPath(path).name,
                path=self.fs.unstrip_protocol(path),
                received_at=received_at,
                size=size,
                sha256=digest.hexdigest(),
                content=content,
                sender=sender,
            )


def open_inbox(location: str | Path) -> Inbox:
    """A folder path, or an fsspec URL such as ``memory://inbox`` or ``s3://bucket/inbox``."""
    text = str(location)
    if "://" in text and not text.startswith("file://"):
        return UrlInbox(text)
    return FolderInbox(Path(text.removeprefix("file://")))


def archive_original(archive: Path, file: InboxFile) -> Path:
    """Keep the original bytes, content-addressed and read-only; the same bytes are kept once."""
    suffix = "".join(PurePosixPath(file.name).suffixes[-1:])[:10].lower()
    target = archive / file.sha256[:2] / f"{file.sha256}{suffix}"
    if target.exists() and target.stat().st_size == file.size:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # A name of its own: two submitters archiving the same bytes at once must not share (or delete) a partial.
    partial = target.with_name(f".{target.name}.{os.getpid()}-{threading.get_ident()}.partial")
    partial.unlink(missing_ok=True)  # left by an interrupted attempt of this process and thread
    if file.content is not None:
        partial.write_bytes(file.content)
    else:
        with fsspec.open(file.path, "rb") as source, partial.open("wb") as sink:
            for block in iter(lambda: source.read(1 << 20), b""):
                sink.write(block)
    os.chmod(partial, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    os.replace(partial, target)
    return target
