"""The workbook as a package: what kind of file it is, whether its zip is safe, where its sheets are.

Everything here looks at the container before any spreadsheet library parses it, so a hostile
or broken file is refused with a finding before it can cost memory or time.
"""

import io
import posixpath
import zipfile
import zlib
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeTree
from defusedxml.common import DefusedXmlException

from domain.findings import Finding

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls and encrypted OOXML share this container
ZIP_PREFIX = b"PK"  # local header, or the end record of an empty zip
ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")  # an OLE directory entry name

MAX_UNCOMPRESSED_BYTES = 100 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100  # whole file; text XML compresses ~10-20x, bombs 1000x+
MAX_ZIP_ENTRIES = 1000

NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
WORKSHEET_REL = NS_REL + "/worksheet"
WORKBOOK = "xl/workbook.xml"


class Refused(Exception):
    """The file cannot be read as a return; ``finding`` says why."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.code)
        self.finding = finding

    @classmethod
    def file(cls, code: str, filename: str, detail: str = "") -> "Refused":
        return cls(Finding(code, params={"filename": filename, "detail": f" ({detail})" if detail else ""}))


@dataclass(frozen=True)
class Package:
    archive: zipfile.ZipFile
    sheets: dict[str, str]  # sheet name -> worksheet part inside the zip


def _looks_like_text(head: bytes) -> bool:
    if head.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):  # a byte-order mark
        return True
    if b"\0" in head:
        return False
    printable = sum(32 <= b < 127 or b in (9, 10, 13) or b >= 128 for b in head)
    return printable >= 0.95 * len(head)


def _sniff_not_zip(filename: str, content: bytes) -> Refused:
    if content.startswith(OLE_MAGIC):
        if ENCRYPTED_STREAM in content:
            return Refused.file("FILE_ENCRYPTED", filename)
        return Refused.file("FILE_LEGACY_XLS", filename)
    head = content[:4096]
    if head.startswith(b"%PDF"):
        return Refused.file("FILE_NOT_XLSX", filename, "it is a PDF")
    if _looks_like_text(head):
        return Refused.file("FILE_TEXT", filename)
    return Refused.file("FILE_NOT_XLSX", filename)


def _check_entries(filename: str, archive: zipfile.ZipFile, size: int) -> None:
    entries = archive.infolist()
    if len(entries) > MAX_ZIP_ENTRIES:
        raise Refused.file("FILE_TOO_LARGE", filename, f"{len(entries):,} parts inside, limit {MAX_ZIP_ENTRIES:,}")
    names = [e.filename for e in entries]
    if len(set(names)) != len(names):
        # Two parts with one name: readers disagree on which one counts, so neither does.
        raise Refused.file("FILE_CORRUPT", filename, "the same part appears twice")
    if any(e.flag_bits & 0x1 for e in entries):
        raise Refused.file("FILE_ENCRYPTED", filename)
    expanded = sum(e.file_size for e in entries)
    if expanded > MAX_UNCOMPRESSED_BYTES:
        raise Refused.file("FILE_TOO_LARGE", filename, f"{expanded:,} bytes uncompressed")
    if expanded > MAX_COMPRESSION_RATIO * max(size, 1):
        raise Refused.file("FILE_COMPRESSION_RATIO", filename, f"{expanded // max(size, 1):,} times")
    lowered = {n.lower() for n in names}
    if "mimetype" in lowered and "content.xml" in lowered:
        raise Refused.file("FILE_ODS", filename)
    if "xl/workbook.bin" in lowered:
        raise Refused.file("FILE_XLSB", filename)
    if any(n.endswith("vbaproject.bin") for n in lowered):
        raise Refused.file("FILE_MACRO_ENABLED", filename)
    if WORKBOOK not in names:
        detail = "it is a Word or PowerPoint file" if {"word/document.xml", "ppt/presentation.xml"} & lowered else ""
        raise Refused.file("FILE_NOT_XLSX", filename, detail)
    # Reads every part once: the declared sizes above bound how much this can expand.
    if archive.testzip() is not None:
        raise Refused.file("FILE_CORRUPT", filename, "a part fails its checksum")


def _xml(filename: str, archive: zipfile.ZipFile, part: str) -> Element:
    try:
        return SafeTree.fromstring(archive.read(part))
    except KeyError as missing:
        raise Refused.file("FILE_CORRUPT", filename, f"{part} is missing") from missing
    except (SafeTree.ParseError, DefusedXmlException, ValueError) as bad:
        raise Refused.file("FILE_CORRUPT", filename, f"{part} is not valid XML") from bad


def _sheet_parts(filename: str, archive: zipfile.ZipFile) -> dict[str, str]:
    book = _xml(filename, archive, WORKBOOK)
    rels_part = "xl/_rels/workbook.xml.rels"
    targets: dict[str, str] = {}
    if rels_part in archive.namelist():
        for rel in _xml(filename, archive, rels_part).iter(f"{{{NS_PKG_REL}}}Relationship"):
            target = rel.get("Target") or ""
            if rel.get("Type") == WORKSHEET_REL and rel.get("Id"):
                part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")
                targets[str(rel.get("Id"))] = part
    sheets: dict[str, str] = {}
    for sheet in book.iter(f"{{{NS_MAIN}}}sheet"):
        name, rel_id = sheet.get("name"), sheet.get(f"{{{NS_REL}}}id")
        if name is not None and rel_id in targets:
            if name in sheets:
                raise Refused.file("FILE_CORRUPT", filename, f"two sheets are named {name!r}")
            sheets[name] = targets[str(rel_id)]
    return sheets


def open_package(filename: str, content: bytes) -> Package:
    """The workbook's zip and its worksheets by name, or ``Refused``."""
    if not content:
        raise Refused.file("FILE_EMPTY", filename)
    if not content.startswith(ZIP_PREFIX):
        raise _sniff_not_zip(filename, content)
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        _check_entries(filename, archive, len(content))
        return Package(archive=archive, sheets=_sheet_parts(filename, archive))
    except Refused:
        raise
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
        EOFError,
        OSError,
        ValueError,
        NotImplementedError,
    ) as bad:
        raise Refused.file("FILE_CORRUPT", filename) from bad
