"""What every delivery channel (Slack, email) says when it did not deliver."""


class DeliveryError(Exception):
    """The channel did not take the message. ``permanent``: retrying will not help; else try again later."""

    def __init__(self, code: str, *, permanent: bool, retry_after: float | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.permanent = permanent
        self.retry_after = retry_after
