"""The sheet and field names shared by the template writer and the returns reader."""

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
