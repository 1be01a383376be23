"""``manage.py deploy_function APPLICATION TYPE FILE [--name NAME]``: deploy a handler script as the new current
version of an application's function for an event type (creating the function the first time)."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from chat.errors import ChatError
from chat.selectors.applications import application_by_reference
from functions.actions import check_create_function, check_create_function_version
from functions.models import ChatFunction, FunctionType


class Command(BaseCommand):
    """Deploy a function version from a file, through the same actions as the Platform API."""

    help = "Deploy FILE (JavaScript or TypeScript) as the current version of APPLICATION's TYPE function."

    def add_arguments(self, parser: CommandParser) -> None:
        """APPLICATION (id, key or name), TYPE (event type), FILE, and --name for a new function."""
        parser.add_argument("application", help="the application's id, key or name")
        parser.add_argument("type", choices=FunctionType.values, metavar="TYPE", help="the event type it handles")
        parser.add_argument("file", type=Path, help="the handler script")
        parser.add_argument("--name", help="the function's name, when it is created (default: the type)")

    def handle(self, *args: Any, **options: Any) -> None:
        """Create the function if needed, deploy the version, print its number."""
        application = application_by_reference(options["application"])
        if application is None:
            raise CommandError(f"No single application matches {options['application']!r}.")
        path: Path = options["file"]
        try:
            script = path.read_text()
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"Cannot read {path}: {error}") from error
        try:
            with transaction.atomic():  # a version that is refused leaves no new function behind
                function = ChatFunction.objects.filter(application=application, type=options["type"]).first()
                if function is None:
                    name = options["name"] or options["type"]
                    function = check_create_function(application, function_type=options["type"], name=name)
                version = check_create_function_version(function, handler_script=script)
        except ChatError as error:
            raise CommandError(error.message) from error
        self.stdout.write(
            f"Deployed version {version.version_number} of {function.type} ({function.name!r}) "
            f"for {application.name!r}."
        )
