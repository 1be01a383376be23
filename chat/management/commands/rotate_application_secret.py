"""``manage.py rotate_application_secret APPLICATION [--push] [--json]``: issue a new client secret and revoke the old
one's tokens; or, with ``--push``, a new socket service secret."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from chat.actions.applications import do_rotate_application_secret, do_rotate_push_secret
from chat.selectors.applications import application_by_reference


class Command(BaseCommand):
    """Rotate an application's secret, found by id, key or name."""

    help = "Give an application a new secret (shown once) and revoke every token issued before."

    def add_arguments(self, parser: CommandParser) -> None:
        """APPLICATION (id, key or name) and --json."""
        parser.add_argument("application", help="the application's id, key or name")
        parser.add_argument(
            "--push", action="store_true", help="rotate the socket service secret (pushes, sockets) instead"
        )
        parser.add_argument("--json", action="store_true", help='print only {"id", "key", "secret"}')

    def handle(self, *args: Any, **options: Any) -> None:
        """Rotate and print."""
        ref: str = options["application"]
        application = application_by_reference(ref)
        if application is None:
            raise CommandError(f"No single application matches {ref!r}.")
        push = options["push"]
        secret = do_rotate_push_secret(application) if push else do_rotate_application_secret(application)
        if options["json"]:
            self.stdout.write(json.dumps({"id": application.pk, "key": application.key, "secret": secret}))
            return
        what = "socket service secret" if push else "secret"
        self.stdout.write(f"New {what} for {application.name!r} ({application.key}): {secret}")
        self.stdout.write(
            "Pushes and sockets with the old one are refused."
            if push
            else "Tokens issued with the old secret no longer work."
        )
