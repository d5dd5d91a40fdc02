"""Reading a posted form as it streams in: fields and files with their limits, and the CSRF token checked before
a single byte of a file is written.

Every state-changing request of the portal reads its body through :func:`read_form`, so every one of them is
refused without a genuine token (tests/web/test_csrf.py posts to every POST route without one). A file part
must come after the token (the forms put it first; browsers send fields in page order), is streamed to the
workspace's ``.uploads/`` with its SHA-256 computed on the way, and is cut off, and deleted, at its limit.
"""

import hashlib
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from urllib.parse import parse_qsl

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from domain.errors import AllianceError
from services.uploads import Staged, clean_filename

FIELDS_LIMIT = 64 * 1024  # all text fields of one form together (a review reply is at most REPLY_TEXT_LIMIT)
PARTS_LIMIT = 16
CSRF_FIELD = "csrf_token"


class CsrfRefused(AllianceError):
    """The form did not carry this visitor's token: from another site, an old page or a forged request."""

    exit_code = 4


class FormRefused(AllianceError):
    """A form the portal cannot read (too many fields, too large, not a form at all)."""

    exit_code = 2


class FileTooLarge(AllianceError):
    exit_code = 2


@dataclass
class Form:
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, Staged] = field(default_factory=dict)

    def get(self, name: str, default: str = "") -> str:
        return self.fields.get(name, default)

    def discard(self) -> None:
        """Delete every staged file (a form refused after its files were received)."""
        for staged in self.files.values():
            staged.path.unlink(missing_ok=True)


async def read_form(
    request: Request,
    *,
    genuine: Callable[[str], bool],
    files_to: Path | None = None,
    file_limit: int = 0,
) -> Form:
    """The form's fields and files. ``genuine`` says whether a CSRF token is this visitor's; a file is accepted
    only into ``files_to`` and up to ``file_limit`` bytes (an upload larger is FileTooLarge, nothing kept)."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > file_limit + FIELDS_LIMIT + 64 * 1024:
        raise FileTooLarge(_too_large(file_limit)) if file_limit else FormRefused("The form sent is too large")
    if content_type == b"application/x-www-form-urlencoded":
        form = await _urlencoded(request)
        if not genuine(form.get(CSRF_FIELD)):
            raise CsrfRefused(_CSRF_WORDS)
        return form
    if content_type == b"multipart/form-data" and b"boundary" in options:
        return await _multipart(request, options[b"boundary"], genuine, files_to, file_limit)
    raise FormRefused("The page sent something that is not a form: go back and try again")


_CSRF_WORDS = "This form has expired or did not come from this site. Go back, reload the page and try again"


def _too_large(limit: int) -> str:
    return f"The selected file must be smaller than {limit // (1024 * 1024) or 1} MB"


async def _urlencoded(request: Request) -> Form:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > FIELDS_LIMIT:
            raise FormRefused("The form sent is too large")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=PARTS_LIMIT)
    except (UnicodeDecodeError, ValueError):
        raise FormRefused("The form could not be read: go back and try again") from None
    return Form(fields=dict(pairs))


class _Parts:
    """The multipart parser's callbacks: text parts collected, file parts streamed to disk."""

    def __init__(self, genuine: Callable[[str], bool], files_to: Path | None, file_limit: int) -> None:
        self.genuine, self.files_to, self.file_limit = genuine, files_to, file_limit
        self.form = Form()
        self.trusted = False
        self.parts = 0
        self.field_bytes = 0
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._headers: dict[bytes, bytes] = {}
        self._name = ""
        self._filename: str | None = None
        self._chosen = False
        self._text = bytearray()
        self._sink: BinaryIO | None = None
        self._path: Path | None = None
        self._digest = hashlib.sha256()
        self._size = 0

    def callbacks(self) -> dict[str, Callable[..., None]]:
        return {
            "on_part_begin": self.part_begin,
            "on_part_data": self.part_data,
            "on_part_end": self.part_end,
            "on_header_field": lambda data, start, end: self._header_name.extend(data[start:end]),
            "on_header_value": lambda data, start, end: self._header_value.extend(data[start:end]),
            "on_header_end": self.header_end,
            "on_headers_finished": self.headers_finished,
        }

    def part_begin(self) -> None:
        self.parts += 1
        if self.parts > PARTS_LIMIT:
            raise FormRefused("The form sent has too many parts")
        self._headers, self._name, self._filename = {}, "", None
        self._text = bytearray()

    def header_end(self) -> None:
        self._headers[bytes(self._header_name).lower()] = bytes(self._header_value)
        self._header_name, self._header_value = bytearray(), bytearray()

    def headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        if filename is None:
            return
        self._chosen = bool(filename)  # a file field left empty sends a part with no name and no bytes
        self._filename = clean_filename(filename.decode("utf-8", "replace"))
        if not self.trusted:  # no file byte is written for a form that has not shown its token
            raise CsrfRefused(_CSRF_WORDS)
        if self.files_to is None or not self.file_limit:
            raise FormRefused("This form does not take files")
        self.files_to.mkdir(parents=True, exist_ok=True)
        self._path = self.files_to / f"{secrets.token_hex(12)}.part"
        descriptor = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._sink = os.fdopen(descriptor, "wb")
        self._digest, self._size = hashlib.sha256(), 0

    def part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._filename is None:
            self.field_bytes += len(chunk)
            if self.field_bytes > FIELDS_LIMIT:
                raise FormRefused("The form sent is too large")
            self._text.extend(chunk)
            return
        self._size += len(chunk)
        if self._size > self.file_limit:
            raise FileTooLarge(_too_large(self.file_limit))
        self._digest.update(chunk)
        assert self._sink is not None
        self._sink.write(chunk)

    def part_end(self) -> None:
        if self._filename is None:
            try:
                value = self._text.decode("utf-8")
            except UnicodeDecodeError:
                raise FormRefused("The form could not be read: go back and try again") from None
            self.form.fields[self._name] = value
            if self._name == CSRF_FIELD:
                self.trusted = self.genuine(value)
            return
        self._close()
        assert self._path is not None
        if self._size == 0 and not self._chosen:
            self._path.unlink(missing_ok=True)
            self._path = None
            return
        if self._name in self.form.files:  # one file per field: a second is refused, not silently preferred
            self._path.unlink(missing_ok=True)
            raise FormRefused("Choose one file at a time")
        self.form.files[self._name] = Staged(self._path, self._filename, self._size, self._digest.hexdigest())
        self._path = None

    def _close(self) -> None:
        if self._sink is not None:
            self._sink.close()
            self._sink = None

    def abandon(self) -> None:
        self._close()
        if self._path is not None:
            self._path.unlink(missing_ok=True)
        self.form.discard()


async def _multipart(
    request: Request, boundary: bytes, genuine: Callable[[str], bool], files_to: Path | None, file_limit: int
) -> Form:
    parts = _Parts(genuine, files_to, file_limit)
    parser = MultipartParser(boundary, parts.callbacks())  # type: ignore[arg-type]
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except AllianceError:
        parts.abandon()
        raise
    except Exception:  # noqa: BLE001 (a malformed body: the parser's own errors, a dropped connection)
        parts.abandon()
        raise FormRefused("The form could not be read: go back and try again") from None
    if not parts.trusted:
        parts.abandon()
        raise CsrfRefused(_CSRF_WORDS)
    return parts.form
