"""Domain errors raised by actions and selectors; each door renders them in its own dialect."""

from django.db import InterfaceError, OperationalError
from psycopg_pool import PoolTimeout


class ChatError(Exception):
    """Base of every domain error: a message for people and, where there is one, the offending field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(ChatError):
    """The resource does not exist, or belongs to another application."""


class Invalid(ChatError):
    """The input is well-formed but not acceptable."""


class Conflict(ChatError):
    """The change would break a uniqueness rule, such as a taken name."""


class Forbidden(ChatError):
    """The caller may not do this."""


class RateLimited(ChatError):
    """The caller did this too often; it may retry later."""


UNAVAILABLE = "The database is unavailable; try again in a moment."


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be reached (down, restarting, no connection in time), rather than that
    a query was wrong: every door answers it as "unavailable, try again" and keeps its connections."""
    return isinstance(exc, (OperationalError, InterfaceError, PoolTimeout))
