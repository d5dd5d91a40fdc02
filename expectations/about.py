"""Whose return is this? The About sheet checked against the contract."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain import return_layout as layout
from domain.contract import Contract, Partner
from domain.errors import UsageError
from domain.findings import Finding
from domain.periods import LONDON, Period, contract_month, due_at


@dataclass(frozen=True)
class Identity:
    partner: Partner | None
    period: Period | None
    findings: list[Finding]


def _about(code: str, field: str, value: Any = None, **params: Any) -> Finding:
    return Finding(
        code,
        sheet=layout.ABOUT,
        column=field,
        value=None if value is None else str(value),
        params={"field": field, **params},
    )


def _as_text(value: Any) -> str | None:
    """About values as text; a spreadsheet stores the version 1 as the number 1.0."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def identify(about: dict[str, Any], contract: Contract, *, sender: str | None = None) -> Identity:
    """Whose return, for which month; ``sender`` is the partner whose folder the file came from, if known."""
    about = {key: _as_text(value) for key, value in about.items()}
    findings: list[Finding] = []
    for key in ("alliance", "partner_id", "period", "framework_version"):
        if about.get(key) is None:
            findings.append(_about("ABOUT_FIELD_MISSING", key))
    alliance = about.get("alliance")
    if alliance is not None and str(alliance) != contract.alliance.name:
        findings.append(_about("ABOUT_OTHER_ALLIANCE", "alliance", alliance))

    partner = None
    if about.get("partner_id") is not None:
        partner = contract.partner(str(about["partner_id"]))
        if partner is None:
            findings.append(_about("ABOUT_PARTNER_UNKNOWN", "partner_id", about["partner_id"]))

    period = None
    if about.get("period") is not None:
        try:
            period = Period.parse(str(about["period"]))
            contract_month(period, contract.alliance.start)
        except UsageError:
            period = None
            findings.append(_about("ABOUT_PERIOD_INVALID", "period", about["period"]))

    version = about.get("framework_version")
    expected = contract.framework.version
    if version is not None and str(version).strip() != str(expected):
        findings.append(
            _about(
                "ABOUT_FRAMEWORK_VERSION", "framework_version", version, expected=expected, period=about.get("period")
            )
        )
    if sender is not None and partner is not None and partner.id != sender:
        findings.append(_about("ABOUT_PARTNER_MISMATCH", "partner_id", partner.id, sender=sender))
    if partner is not None and period is not None and not findings:
        issued = layout.template_id(
            alliance=contract.alliance.name,
            partner_id=partner.id,
            period=str(period),
            framework_version=str(expected),
        )
        if about.get("template_id") != issued:
            findings.append(_about("ABOUT_TEMPLATE_MISMATCH", "template_id", about.get("template_id")))
    return Identity(partner=partner, period=period, findings=findings)


def timing(period: Period, received_at: datetime, contract: Contract) -> list[Finding]:
    """A return for a month that has not started is refused; one after the due date is late."""
    received_day = received_at.astimezone(LONDON).date()
    if received_day < period.first_day:
        return [_about("ABOUT_PERIOD_FUTURE", "period", period)]
    due = due_at(period, contract.deadlines.due_day)
    if received_at > due:
        return [Finding("RETURN_LATE", value=_london(received_at), params={"expected": _london(due)})]
    return []


def _london(moment: datetime) -> str:
    return moment.astimezone(LONDON).strftime("%d/%m/%Y %H:%M")
