"""Round trips through LibreOffice: the way many partners fill and save returns."""

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from domain.contract import Contract
from expectations.returns import validate_return
from integrations.spreadsheets.reader import read_return
from integrations.spreadsheets.templates import build_template
from tests.conftest import require_or_skip
from tests.helpers import OCTOBER, clean_rows, return_bytes

Convert = Callable[[dict[str, bytes], str], dict[str, bytes]]


@pytest.fixture(scope="module")
def convert(tmp_path_factory: pytest.TempPathFactory) -> Convert:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        require_or_skip("LibreOffice (soffice) is not installed: apt-get install -y libreoffice-calc-nogui")
    assert soffice is not None
    profile = tmp_path_factory.mktemp("lo-profile")

    def run(files: dict[str, bytes], target: str) -> dict[str, bytes]:
        source, out = tmp_path_factory.mktemp("lo-in"), tmp_path_factory.mktemp("lo-out")
        for name, content in files.items():
            (source / name).write_bytes(content)
        subprocess.run(
            [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", target,
             "--outdir", str(out), *sorted(str(source / n) for n in files)],
            check=True, capture_output=True, timeout=180,
        )  # fmt: skip
        extension = target.split(":")[0]
        return {name: (out / f"{Path(name).stem}.{extension}").read_bytes() for name in files}

    return run


def test_a_filled_return_resaved_by_libreoffice_reads_as_the_same_rows(contract: Contract, convert: Convert) -> None:
    rows = clean_rows(30)
    original = return_bytes(contract, rows=rows)
    [resaved] = convert({"r.xlsx": original}, "xlsx").values()
    assert resaved != original
    read = [read_return("r.xlsx", content) for content in (original, resaved)]
    assert all(r.raw is not None for r in read), [r.findings for r in read]
    validated = [validate_return(r.raw, contract) for r in read if r.raw is not None]
    assert validated[1].accepted, validated[1].findings
    assert validated[1].rows == validated[0].rows
    assert len(validated[1].rows) == 30


def test_a_template_opens_in_libreoffice_and_still_identifies_its_partner(contract: Contract, convert: Convert) -> None:
    import io

    buffer = io.BytesIO()
    build_template(contract, contract.partners[1], OCTOBER).save(buffer)
    [resaved] = convert({"t.xlsx": buffer.getvalue()}, "xlsx").values()
    result = read_return("t.xlsx", resaved)
    assert result.raw is not None, result.findings
    validated = validate_return(result.raw, contract)
    assert validated.partner == contract.partners[1] and validated.period == OCTOBER
    assert [f.code for f in validated.findings] == ["NO_ROWS"]  # identified, and only empty


@pytest.mark.parametrize(("target", "code"), [("xls", "FILE_LEGACY_XLS"), ("ods", "FILE_ODS")])
def test_a_return_saved_in_another_format_and_renamed_is_named_for_its_format(
    contract: Contract, convert: Convert, target: str, code: str
) -> None:
    [other] = convert({"r.xlsx": return_bytes(contract)}, target).values()
    assert [f.code for f in read_return("r.xlsx", other).findings] == [code]
