"""How ChatKitty's wire writes a moment: ISO-8601 in UTC with milliseconds."""

import datetime


def timestamp(value: datetime.datetime) -> str:
    """ISO-8601 UTC with milliseconds: ``2021-09-16T20:45:33.696Z``."""
    value = value.astimezone(datetime.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
