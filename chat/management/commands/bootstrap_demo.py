"""``manage.py bootstrap_demo``: on a fresh install, create a dashboard admin and a demo application; print logins.

The first run writes the generated passwords to ``<state dir>/credentials.json`` (mode 600) so later runs can print
them again; nothing is created when an administrator or the demo application already exists.
"""

import json
import os
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

from chat.actions.applications import do_create_demo_application, do_rotate_push_secret
from chat.models import Application


class Command(BaseCommand):
    """Create the demo application and admin when missing, and print where to log in."""

    help = "Create a demo application and a dashboard admin if none exist, and print the logins."

    def add_arguments(self, parser: CommandParser) -> None:
        """--url: the address printed for the dashboard."""
        parser.add_argument("--url", default="http://127.0.0.1:8000")

    def handle(self, *args: Any, **options: Any) -> None:
        """Create what is missing, remember generated secrets, print everything."""
        path = settings.STATE_DIR / "credentials.json"
        saved: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
        admin_model = get_user_model()
        if not admin_model.objects.filter(is_superuser=True).exists():
            password = secrets.token_urlsafe(12)
            admin_model.objects.create_superuser("admin", "admin@localhost", password)
            saved["admin"] = {"username": "admin", "password": password}
        if not Application.objects.filter(name=Application.DEMO_NAME).exists():
            application, secret = do_create_demo_application()
            push_secret = do_rotate_push_secret(application)
            saved["demo"] = {"id": application.pk, "key": application.key, "secret": secret, "pushSecret": push_secret}
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(saved, indent=2))
        os.chmod(path, 0o600)
        url = options["url"]
        admin = saved.get("admin", {"username": "(existing)", "password": "(unchanged)"})
        rotate = "(rotate with manage.py rotate_application_secret)"
        demo = {"key": "(existing)", "secret": rotate, "pushSecret": rotate, **saved.get("demo", {})}
        self.stdout.write(
            "\n".join(
                [
                    "",
                    f"Parley is running at {url}",
                    f"  Dashboard:   {url}/admin/  (user {admin['username']}, password {admin['password']})",
                    f"  Chat demo:   {url}/demo/  (pick any name; open it twice to chat)",
                    f"  API docs:    {url}/v1/docs  (console: {url}/v1/console)",
                    f"  Token:       POST {url}/oauth/token (Basic id:secret, grant_type=client_credentials)",
                    f"  Demo application client id: {demo['key']}",
                    f"  Demo application secret:    {demo['secret']}",
                    f"  Demo socket service secret: {demo['pushSecret']}  (pushes; browsers subscribe with the key)",
                    "",
                ]
            )
        )
