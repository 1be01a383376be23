"""``manage.py create_application NAME [--json]``: create a tenant and show its credentials once."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from chat.actions.applications import check_create_application, do_rotate_push_secret
from chat.models import Application


class Command(BaseCommand):
    """Create an application (tenant) and print its id, key and secret."""

    help = (
        "Create an application and print its client id (key), its secret and its socket service secret; the secrets "
        "are not shown again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """NAME and --json."""
        parser.add_argument("name")
        parser.add_argument(
            "--sessions",
            choices=["signed-token", "unsecured"],
            default="signed-token",
            help="how browser sessions prove their user: a JWT signed by your backend (default), or the username "
            "alone (unsecured: anyone may log in as anyone; development and demos only)",
        )
        parser.add_argument("--json", action="store_true", help='print only {"id", "key", "secret"}')

    def handle(self, *args: Any, **options: Any) -> None:
        """Create and print."""
        scheme = options["sessions"].upper().replace("-", "_")
        application, secret = check_create_application(options["name"], session_authentication=scheme)
        push_secret = do_rotate_push_secret(application)
        if options["json"]:
            found = {"id": application.pk, "key": application.key, "secret": secret, "pushSecret": push_secret}
            self.stdout.write(json.dumps(found))
            return
        self.stdout.write(f"Application {application.name!r} (id {application.pk})")
        self.stdout.write(f"  client id (key): {application.key}")
        self.stdout.write(f"  client secret:   {secret}")
        self.stdout.write(f"  socket service secret (pushes): {push_secret}")
        self.stdout.write("The secrets are stored hashed and will not be shown again.")
        if scheme == Application.SessionAuthentication.UNSECURED:
            self.stdout.write("Sessions: UNSECURED: anyone who knows the key and a username logs in as that user.")
        else:
            self.stdout.write(
                "Sessions: SIGNED_TOKEN: set sessionTokenPublicKey (PUT /v1/application/settings) before users log in."
            )
