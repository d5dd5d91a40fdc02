from datetime import datetime
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import Engine

from domain.contract import Contract
from domain.notifications import check_route
from domain.periods import LONDON
from models import repo
from models.db import session_scope
from services.template_issue import send_templates
from tests.services.stored import deps_on


def test_each_partner_is_sent_its_template_once_at_the_start_of_the_month(
    engine: Engine, contract: Contract, tmp_path: Path
) -> None:
    first_of_november = datetime(2026, 11, 1, 8, tzinfo=LONDON)
    deps = deps_on(engine, contract, tmp_path, first_of_november)
    partners = ["city-mind", "harbour-trust", "northfield-works"]
    assert send_templates(deps) == [(p, True) for p in partners]
    later = deps_on(engine, contract, tmp_path, first_of_november.replace(day=2))
    assert send_templates(later) == [(p, False) for p in partners]
    with session_scope(engine) as session:
        sent = [n for n in repo.notifications(session) if n.kind == "template_issued"]
    assert {(n.channel, n.dedup_key) for n in sent} == {
        (f"#{p}", f"template:2026-11:{p}") for p in ("city-mind", "harbour-trust", "northfield-works")
    }
    [harbour] = [n for n in sent if n.partner_id == "harbour-trust"]
    assert "November 2026" in harbour.text and "Monday 14 December 2026" in harbour.text
    template = deps.workspace.templates_dir / "2026-11" / "harbour-trust-2026-11.xlsx"
    about = load_workbook(template)["About"]
    assert (about["B2"].value, about["B4"].value) == ("harbour-trust", "2026-11")
    assert f'"file": "2026-11/{template.name}"' in (harbour.payload or "")
    assert check_route(contract, partner_id="harbour-trust", channel="#harbour-trust", file_name=template.name) is None


def test_no_template_is_sent_before_the_contract_starts(engine: Engine, contract: Contract, tmp_path: Path) -> None:
    assert send_templates(deps_on(engine, contract, tmp_path, datetime(2026, 3, 20, 8, tzinfo=LONDON))) == []
