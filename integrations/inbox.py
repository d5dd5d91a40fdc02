"""Inbox storage: where partners' files land, and the archive that keeps their original bytes.

An inbox is a folder or an fsspec URL (``memory://``, ``s3://``, ...). Files at its top level
come from anyone; a file in a sub-folder named after a partner id came from that partner
(their upload folder), which the About sheet must then agree with.
"""

import contextlib
import hashlib
import os
import re
import stat
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, Protocol, runtime_checkable

import fsspec

from integrations.private_files import ARCHIVED_MODE, private_folder

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
    # Not a file the alliance reads, so never read (a symbolic link, a folder, a file still being written):
    # the finding code it is refused with; ``content`` then describes the entry, for the archive.
    refused: str | None = None


@runtime_checkable
class Inbox(Protocol):
    def files(self) -> Iterator[InboxFile]: ...


# Files a person's tools leave beside real ones; never a submission.
_IGNORED_PREFIXES = (".", "~$")


def _ignored(name: str) -> bool:
    return name.startswith(_IGNORED_PREFIXES)


# How a local entry that is not a plain file is refused (domain/findings.py has the codes).
SYMLINK = "FILE_SYMLINK"
NOT_A_FILE = "FILE_NOT_REGULAR"
CHANGING = "FILE_CHANGING"
IN_SUBFOLDER = "FILE_IN_SUBFOLDER"
# How many entries of a sub-folder are refused one by one; the rest are left for the next cycle's listing.
MAX_SUBFOLDER_ENTRIES = 1000


def _refused(
    path: Path, code: str, info: os.stat_result | None, received_at: datetime | None, sender: str | None
) -> InboxFile:
    """An entry never read: recorded by what it is and where it is (its bytes are a description, for the archive)."""
    detail = ""
    if code == SYMLINK:
        try:
            detail = f" to {os.readlink(path)!r}"[:300]
        except OSError:
            detail = ""
    if code in (CHANGING, IN_SUBFOLDER) and info is not None:  # one refusal per state seen, not one per name
        detail = f" ({info.st_size} bytes, modified {info.st_mtime_ns} ns)"
    description = f"{code}: {str(path)!r}{detail}".encode("utf-8", "backslashreplace")
    at = datetime.fromtimestamp(info.st_mtime, tz=UTC) if info else datetime.now(UTC)
    return InboxFile(
        name=path.name,
        path=str(path),
        received_at=received_at or at,
        size=len(description),
        sha256=hashlib.sha256(description).hexdigest(),
        content=description,
        sender=sender,
        refused=code,
    )


def _same(before: os.stat_result, after: os.stat_result) -> bool:
    return (before.st_dev, before.st_ino, before.st_size, before.st_mtime_ns) == (
        after.st_dev,
        after.st_ino,
        after.st_size,
        after.st_mtime_ns,
    )


def read_file(path: Path, received_at: datetime | None = None, sender: str | None = None) -> InboxFile:
    """A plain file's bytes, read without following a link; a link, a folder or a device is refused unread, and a
    file that changes while read is refused as still being written. FileNotFoundError: it vanished."""
    listed = path.lstat()
    if stat.S_ISLNK(listed.st_mode):
        return _refused(path, SYMLINK, listed, received_at, sender)
    if not stat.S_ISREG(listed.st_mode):
        return _refused(path, NOT_A_FILE, listed, received_at, sender)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)  # not inherited (PEP 446)
    except FileNotFoundError:
        raise
    except OSError:  # ELOOP: replaced by a link since it was listed
        if os.path.islink(path):
            return _refused(path, SYMLINK, listed, received_at, sender)
        raise
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            return _refused(path, NOT_A_FILE, info, received_at, sender)
        if (info.st_dev, info.st_ino) != (listed.st_dev, listed.st_ino):  # replaced since it was listed
            return _refused(path, CHANGING, info, received_at, sender)
        digest = hashlib.sha256()
        content: bytes | None = None
        if info.st_size <= MAX_FILE_BYTES:
            content = handle.read(MAX_FILE_BYTES + 1)
            digest.update(content)
        else:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        after = os.fstat(handle.fileno())
    if not _same(info, after) or (content is not None and len(content) != info.st_size):
        return _refused(path, CHANGING, after, received_at, sender)
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
    """Every entry in a folder and its partner sub-folders, oldest first (mtime = received). A link is never
    followed: a link (to a file or to a partner's folder) or anything else that is not a plain file is yielded
    refused, so the cycle reports it; a file in a partner's real folder is attributed to that folder. A file in a
    folder inside a partner's folder (``old/``) is refused unread (FILE_IN_SUBFOLDER), attributed to the partner:
    such folders hold earlier versions as often as new ones, so none is read as the partner's next version.
    ``ignored`` lists, after each listing, what was passed over on purpose (dot files, '~$' lock files)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.ignored: list[str] = []

    def files(self) -> Iterator[InboxFile]:
        self.ignored = []
        if not self.folder.is_dir():
            return
        found: list[tuple[float, str, Path, str | None, str | None]] = []

        def listed(path: Path, sender: str | None, refused: str | None = None) -> None:
            with contextlib.suppress(FileNotFoundError):  # gone since the folder was listed
                found.append((path.lstat().st_mtime, str(path), path, sender, refused))

        def kept(path: Path) -> bool:
            return kept_name(path.name, path.parent, self)

        for entry in self.folder.iterdir():
            if not kept(entry):
                continue
            try:
                folder = stat.S_ISDIR(entry.lstat().st_mode)  # a link to a folder is not a partner's folder
            except FileNotFoundError:
                continue
            if folder:
                try:
                    inside = list(entry.iterdir())
                except FileNotFoundError:
                    continue
                for path in filter(kept, inside):
                    nested = self._nested(path)
                    if nested:
                        for file in nested:
                            listed(file, entry.name, IN_SUBFOLDER)
                    else:
                        listed(path, entry.name)  # a file, or a link or an empty folder, refused when read
            else:
                listed(entry, None)  # a loose file, or a link or odd entry, refused when read
        for _, _, path, sender, refused in sorted(found, key=lambda item: (item[0], item[1])):
            try:
                if refused is not None:
                    yield _refused(path, refused, path.lstat(), None, sender)
                else:
                    yield read_file(path, sender=sender)
            except FileNotFoundError:
                continue  # taken away while the cycle ran: nothing to record; sent again, it is read next cycle

    def _nested(self, path: Path) -> list[Path]:
        """The entries inside ``path`` when it is a real folder (never through a link), at any depth, but none of
        what is ignored; [] for anything else or an empty folder."""
        try:
            if not stat.S_ISDIR(path.lstat().st_mode):
                return []
        except FileNotFoundError:
            return []
        entries: list[Path] = []
        for root, folders, names in os.walk(path, followlinks=False):
            here = Path(root)
            folders[:] = [f for f in folders if kept_name(f, here, self)]
            entries += [here / n for n in names if kept_name(n, here, self)]
            entries += [here / f for f in folders if (here / f).is_symlink()]  # os.walk lists a folder link
            if len(entries) >= MAX_SUBFOLDER_ENTRIES:
                return entries[:MAX_SUBFOLDER_ENTRIES]
        return entries


def kept_name(name: str, folder: Path, inbox: FolderInbox) -> bool:
    """Whether an entry is read; one a person's tools leave is noted in ``inbox.ignored`` instead."""
    if _ignored(name):
        inbox.ignored.append(str((folder / name).relative_to(inbox.folder)))
        return False
    return True


def _modified(info: dict[str, Any]) -> datetime | None:
    for key in ("mtime", "LastModified", "last_modified", "created", "updated"):
        value = info.get(key)
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, tz=UTC)
    return None


class UrlInbox:
    """An inbox at an fsspec URL. A store that keeps no modification time gets ``now`` as received. ``ignored``:
    as FolderInbox's."""

    def __init__(self, url: str, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.fs, self.root = fsspec.core.url_to_fs(url)
        self.now = now
        self.ignored: list[str] = []

    def files(self) -> Iterator[InboxFile]:
        self.ignored = []
        if not self.fs.exists(self.root):
            return
        found = []
        for path, info in self.fs.find(self.root, maxdepth=2, detail=True).items():
            relative = PurePosixPath(path).relative_to(PurePosixPath(self.root.rstrip("/") or "/"))
            if info.get("type") != "file":
                continue
            if any(_ignored(part) for part in relative.parts):
                self.ignored.append(str(relative))
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
    """Keep the original bytes, content-addressed and read-only for the alliance alone (0440 in 0750 folders); the
    same bytes are kept once. The stored name is the digest and a plain suffix, never the partner's own name."""
    target = archive / file.sha256[:2] / f"{file.sha256}{archived_suffix(file)}"
    if target.exists() and target.stat().st_size == file.size:
        with contextlib.suppress(OSError):  # kept by an older version world-readable: no longer
            os.chmod(target, ARCHIVED_MODE)
        return target
    private_folder(target.parent)
    # A name of its own: two submitters archiving the same bytes at once must not share (or delete) a partial.
    partial = target.with_name(f".{target.name}.{os.getpid()}-{threading.get_ident()}.partial")
    partial.unlink(missing_ok=True)  # left by an interrupted attempt of this process and thread
    if file.content is not None:
        partial.write_bytes(file.content)
    else:
        local = "://" not in file.path  # read again without following a link put in its place since
        opened = os.fdopen(os.open(file.path, os.O_RDONLY | os.O_NOFOLLOW), "rb") if local else None
        with opened or fsspec.open(file.path, "rb") as source, partial.open("wb") as sink:
            for block in iter(lambda: source.read(1 << 20), b""):
                sink.write(block)
    os.chmod(partial, ARCHIVED_MODE)
    os.replace(partial, target)
    return target


def archived_suffix(file: InboxFile) -> str:
    """``.xlsx`` and the like, from the partner's name only when it is a short plain suffix (else ``.bin``); a refused
    entry's description is ``.txt``."""
    if file.refused:
        return ".txt"
    suffix = PurePosixPath(file.name).suffix.lower()
    return suffix if _PLAIN_SUFFIX.fullmatch(suffix) else ".bin"


_PLAIN_SUFFIX = re.compile(r"\.[a-z0-9]{1,8}")
