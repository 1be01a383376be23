"""The dashboard (Django admin): one module per part of the console. Every change goes through the same actions as
the APIs; each staff user sees the applications they run (``chat.dashboard``)."""

from chat.admin import applications, chat, keys, webhooks

__all__ = ["applications", "chat", "keys", "webhooks"]
