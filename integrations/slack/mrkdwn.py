"""Slack mrkdwn: partner-supplied text is escaped so it cannot format, link or ping."""


def escape(text: object) -> str:
    """Escape the three control characters Slack requires (&, <, >).

    With ``<`` and ``>`` escaped, ``<!channel>``, ``<@U123>`` and links cannot be formed.
    """
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
