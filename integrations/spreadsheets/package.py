"""The workbook as a package: what kind of file it is, whether its zip is safe, where its sheets are.

Everything here looks at the container before any spreadsheet library parses it, so a hostile
or broken file is refused with a finding before it can cost memory or time.
"""

import io
import posixpath
import re
import zipfile
import zlib
from dataclasses import dataclass
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

from defusedxml import ElementTree as SafeTree
from defusedxml.common import DefusedXmlException

from domain.findings import Finding

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls and encrypted OOXML share this container
ZIP_PREFIX = b"PK"  # local header, or the end record of an empty zip
ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")  # an OLE directory entry name

MAX_UNCOMPRESSED_BYTES = 100 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100  # whole file; text XML compresses ~10-20x, bombs 1000x+
MAX_ZIP_ENTRIES = 1000

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
    others: dict[str, str]  # "styles" / "sharedStrings" -> part
    date1904: bool


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
    if len({n.casefold() for n in names}) != len(names):
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


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _part(target: str) -> str:
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")


def _relationships(filename: str, archive: zipfile.ZipFile) -> dict[str, tuple[str, str]]:
    """Id -> (kind, part), where kind is the last word of the relationship type (worksheet, styles, ...)."""
    rels_part = "xl/_rels/workbook.xml.rels"
    found: dict[str, tuple[str, str]] = {}
    if rels_part not in archive.namelist():
        return found
    for rel in _xml(filename, archive, rels_part).iter():
        if _local(rel.tag) != "Relationship":
            continue
        rel_id, kind = rel.get("Id"), (rel.get("Type") or "").rpartition("/")[2]
        if not rel_id:
            continue
        if rel_id in found:
            raise Refused.file("FILE_CORRUPT", filename, f"relationship {rel_id!r} is declared twice")
        found[rel_id] = (kind, _part(rel.get("Target") or ""))
    return found


def _check_main_part(filename: str, archive: zipfile.ZipFile) -> None:
    """The package's own index must point where every spreadsheet program puts the workbook."""
    if "_rels/.rels" not in archive.namelist():
        return
    for rel in _xml(filename, archive, "_rels/.rels").iter():
        is_main = _local(rel.tag) == "Relationship" and (rel.get("Type") or "").endswith("/officeDocument")
        if is_main and (rel.get("Target") or "").lstrip("/") != WORKBOOK:
            raise Refused.file("FILE_CORRUPT", filename, "its workbook is not where spreadsheet programs put it")


def _sheet_parts(filename: str, archive: zipfile.ZipFile) -> tuple[dict[str, str], dict[str, str], bool]:
    """Sheets by name, the workbook's other parts by kind, and whether it counts dates from 1904."""
    _check_main_part(filename, archive)
    book = _xml(filename, archive, WORKBOOK)
    rels = _relationships(filename, archive)
    sheets: dict[str, str] = {}
    names: set[str] = set()
    date1904 = False
    for element in book.iter():
        local = _local(element.tag)
        if local == "workbookPr":
            date1904 = element.get("date1904", "").lower() in ("1", "true")
        if local != "sheet":
            continue
        name = element.get("name")
        ids = [value for key, value in element.attrib.items() if _local(key) == "id" and key.startswith("{")]
        if name is None or len(ids) != 1:
            raise Refused.file("FILE_CORRUPT", filename, "a sheet without exactly one relationship")
        if name.casefold() in names:
            raise Refused.file("FILE_CORRUPT", filename, f"two sheets are named {name!r}")
        names.add(name.casefold())
        kind, part = rels.get(ids[0], ("", ""))
        if kind == "worksheet" and part in archive.namelist():
            sheets[name] = part
    others = {kind: part for kind, part in rels.values() if kind in ("styles", "sharedStrings")}
    for part in others.values():
        if part not in archive.namelist():
            raise Refused.file("FILE_CORRUPT", filename, f"{part} is missing")
    return sheets, others, date1904


_COUNT_HINTS = re.compile(rb"""\s(?:count|uniqueCount)\s*=\s*(?:"[^"]*"|'[^']*')""")
_DIMENSION = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?dimension\b[^>]*>")
_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def minimal_workbook(package: "Package", parts: dict[str, bytes]) -> bytes:
    """A new workbook holding only ``parts`` (sheet name -> the XML that was scanned), styles and strings.

    The value reader gets this instead of the file: no relationship, part name, case twin or
    size hint in the original can point it anywhere the checks did not look.
    """
    sheets = list(parts.items())
    workbook = (
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f'<workbookPr date1904="{int(package.date1904)}"/><sheets>'
        + "".join(
            f'<sheet name="{escape(name, {chr(34): "&quot;"})}" sheetId="{n}" r:id="rId{n}"/>'
            for n, (name, _) in enumerate(sheets, start=1)
        )
        + "</sheets></workbook>"
    )
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    links = [(f"rId{n}", "worksheet", f"worksheets/sheet{n}.xml") for n in range(1, len(sheets) + 1)]
    if "styles" in package.others:
        links.append(("rIdStyles", "styles", "styles.xml"))
    if "sharedStrings" in package.others:
        links.append(("rIdStrings", "sharedStrings", "sharedStrings.xml"))
    workbook_rels = (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        + "".join(f'<Relationship Id="{i}" Type="{rel}/{kind}" Target="{target}"/>' for i, kind, target in links)
        + "</Relationships>"
    )
    types = {
        "/xl/workbook.xml": f"{_CONTENT_TYPE}.sheet.main+xml",
        "/xl/styles.xml": f"{_CONTENT_TYPE}.styles+xml",
        "/xl/sharedStrings.xml": f"{_CONTENT_TYPE}.sharedStrings+xml",
        **{f"/xl/worksheets/sheet{n}.xml": f"{_CONTENT_TYPE}.worksheet+xml" for n in range(1, len(sheets) + 1)},
    }
    content_types = (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        + "".join(f'<Override PartName="{name}" ContentType="{kind}"/>' for name, kind in types.items())
        + "</Types>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as rebuilt:
        rebuilt.writestr("[Content_Types].xml", content_types)
        rebuilt.writestr(
            "_rels/.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        rebuilt.writestr("xl/workbook.xml", workbook)
        rebuilt.writestr("xl/_rels/workbook.xml.rels", workbook_rels)
        for kind, target in (("styles", "xl/styles.xml"), ("sharedStrings", "xl/sharedStrings.xml")):
            if kind in package.others:
                rebuilt.writestr(target, _COUNT_HINTS.sub(b"", package.archive.read(package.others[kind])))
        for n, (_, xml) in enumerate(sheets, start=1):
            rebuilt.writestr(f"xl/worksheets/sheet{n}.xml", _DIMENSION.sub(b"", xml, count=1))
    return out.getvalue()


def open_package(filename: str, content: bytes) -> Package:
    """The workbook's zip and its worksheets by name, or ``Refused``."""
    if not content:
        raise Refused.file("FILE_EMPTY", filename)
    if not content.startswith(ZIP_PREFIX):
        raise _sniff_not_zip(filename, content)
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
        _check_entries(filename, archive, len(content))
        sheets, others, date1904 = _sheet_parts(filename, archive)
        return Package(archive=archive, sheets=sheets, others=others, date1904=date1904)
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
