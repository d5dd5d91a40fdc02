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

# The longest text the records keep for a field a partner types (models/tables.py sizes its columns from these;
# PostgreSQL refuses longer, SQLite would keep it): a longer value is a finding (VALUE_TOO_LONG), never a failed write.
TEXT_LIMITS = {"participant_id": 64}

SUMMARY_PARTICIPANTS = "participants"
# What the Summary sheet calls its count of rows (its other items are the measures, by label).
SUMMARY_PARTICIPANTS_LABEL = "Participant rows"

# What the template's Participants sheet calls the fields that are not outcome measures (measures show their labels).
FIELD_HEADERS = {
    "participant_id": "Participant ID",
    "referral_date": "Referral date",
    "complexity_band": "Complexity band",
    "postcode_district": "Postcode district",
}

# The workbook property in which a template records which header is which column id (for filling it in by id).
COLUMNS_PROPERTY = "alliance_columns"

# Rows a template offers for data (drop-downs and formats reach this far).
TEMPLATE_ROWS = 5000


def canonical_header(text: str) -> str:
    """'Participant ID ' and 'participant-id' are the template's 'participant_id'."""
    return "_".join(text.replace("-", " ").split()).lower()


def template_id(*, alliance: str, partner_id: str, period: str, framework_version: str) -> str:
    """The id printed on a template's About sheet: changes if any of what it was issued for changes."""
    seed = f"{alliance}|{partner_id}|{period}|{framework_version}|{TEMPLATE_FORMAT}"
    return hashlib.sha256(seed.encode()).hexdigest()[:12]
