"""Domain errors raised by actions and selectors; each door renders them in its own dialect."""


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
