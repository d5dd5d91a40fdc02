"""At the start of each month, each partner's return template for it goes to the partner (its Slack channel and
email, the workbook attached); the portal offers the same template. Once per partner and month."""

from datetime import date, datetime

from sqlmodel import Session

from domain.contract import Contract, Partner
from domain.periods import Period, due_date, london_date
from integrations.spreadsheets.templates import how_to_send, template_path, write_templates
from models import repo
from models.db import session_scope
from services import messages, outbox
from services.deps import Deps


def template_key(period: Period, partner: Partner) -> str:
    return f"template:{period}:{partner.id}"


def send_templates(deps: Deps, *, today: date | None = None) -> list[tuple[str, bool]]:
    """Queue this month's template for every partner not yet sent it (the daily `reminders` flow): each partner of
    the month, and whether it was sent now (False: sent before)."""
    now = deps.clock()
    day = today or london_date(now)
    with session_scope(deps.engine) as session:
        repo.sync_partners(session, contract=deps.contract)
        sent = {p for p, _ in issue_templates(deps, session, day=day, now=now)}
    if Period(day.year, day.month) < deps.contract.alliance.start:
        return []
    return [(p.id, p.id in sent) for p in sorted(deps.contract.partners, key=lambda p: p.id)]


def issue_templates(deps: Deps, session: Session, *, day: date, now: datetime) -> list[tuple[str, str]]:
    """Send this month's template to every partner not yet sent it: (partner id, dedup key) for each sent now."""
    contract = deps.contract
    period = Period(day.year, day.month)
    if period < contract.alliance.start:
        return []
    sent = []
    for partner in sorted(contract.partners, key=lambda p: p.id):
        key = template_key(period, partner)
        if outbox.told(session, partner, dedup_key=key):
            continue
        folder = deps.workspace.templates_dir
        write_templates(contract, period, folder, portal_url=deps.workspace.base_url, partners=[partner])
        relative = template_path(folder, partner, period).relative_to(folder).as_posix()
        outbox.tell_partner(
            session,
            partner,
            dedup_key=key,
            kind="template_issued",
            text=_text(contract, partner, period, deps.workspace.base_url),
            at=now,
            payload={"period": str(period), "file": relative, "folder": "templates"},
        )
        sent.append((partner.id, key))
    return sent


def _text(contract: Contract, partner: Partner, period: Period, portal_url: str | None) -> str:
    due = due_date(period, contract.deadlines.due_day)
    return messages.template_issued(
        partner_name=partner.name,
        month=period.first_day.strftime("%B %Y"),
        due=f"{due:%A} {due.day} {due:%B %Y}",
        ways=how_to_send(contract, portal_url),
    )
