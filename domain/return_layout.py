"""The sheet and field names shared by the template writer and the returns reader."""

import hashlib

ABOUT = "About"
PARTICIPANTS = "Participants"
SUMMARY = "Summary"
GUIDANCE = "Guidance"

TEMPLATE_FORMAT = 1

ABOUT_FIELDS = (
    "alliance",
    "partner_id",
    "partner_name",
    "period",
    "framework_version",
    "template_id",
    "template_format",
)

SUMMARY_PARTICIPANTS = "participants"

# Rows a template offers for data (drop-downs and formats reach this far).
TEMPLATE_ROWS = 5000


def template_id(*, alliance: str, partner_id: str, period: str, framework_version: str) -> str:
    """The id printed on a template's About sheet: changes if any of what it was issued for changes."""
    seed = f"{alliance}|{partner_id}|{period}|{framework_version}|{TEMPLATE_FORMAT}"
    return hashlib.sha256(seed.encode()).hexdigest()[:12]
