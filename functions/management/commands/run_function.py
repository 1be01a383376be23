"""``manage.py run_function APPLICATION TYPE [--event JSON | --event-file FILE]``: run an application's function
once, now, against a sample event, and print how it went (the run is recorded as an invocation like any other)."""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from chat.selectors.applications import application_by_reference
from functions.actions import do_run_function
from functions.models import ChatFunction, FunctionType, InvocationStatus
from functions.triggers import sample_event


class Command(BaseCommand):
    """Test-run a deployed function from the command line, on this machine's pool of Node workers."""

    help = "Run APPLICATION's TYPE function against an event (default: the type's sample event) and print the outcome."

    def add_arguments(self, parser: CommandParser) -> None:
        """APPLICATION, TYPE, and the event as JSON text or a file."""
        parser.add_argument("application", help="the application's id, key or name")
        parser.add_argument("type", choices=FunctionType.values, metavar="TYPE", help="the function's event type")
        source = parser.add_mutually_exclusive_group()
        source.add_argument("--event", help="the event, as JSON")
        source.add_argument("--event-file", type=Path, help="a file holding the event as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        """Run, print status, duration, result or error, and logs; fail (exit 1) when the run failed."""
        application = application_by_reference(options["application"])
        if application is None:
            raise CommandError(f"No single application matches {options['application']!r}.")
        function = (
            ChatFunction.objects.select_related("application__oauth_client", "runtime")
            .filter(application=application, type=options["type"])
            .first()
        )
        if function is None or function.current_version_number == 0:
            raise CommandError(f"{application.name!r} has no deployed {options['type']} function.")
        event = self._event(options)
        invocation = do_run_function(function, event) if function.enabled else None
        if invocation is None:
            raise CommandError(f"The {options['type']} function is disabled.")
        self.stdout.write(
            f"Invocation {invocation.pk} of version {function.current_version_number}: {invocation.status} "
            f"in {invocation.duration_ms} ms"
        )
        if invocation.logs:
            self.stdout.write("Logs:\n" + invocation.logs)
        if invocation.status != InvocationStatus.SUCCEEDED:
            raise CommandError(invocation.error)
        self.stdout.write("Result: " + json.dumps(invocation.result, indent=2))

    def _event(self, options: dict[str, Any]) -> Any:
        text = options["event"]
        if options["event_file"] is not None:
            try:
                text = options["event_file"].read_text()
            except (OSError, UnicodeDecodeError) as error:
                raise CommandError(f"Cannot read {options['event_file']}: {error}") from error
        if text is None:
            return sample_event(options["type"])
        try:
            event = json.loads(text)
        except ValueError as error:
            raise CommandError(f"The event is not JSON: {error}") from error
        if not isinstance(event, dict):
            raise CommandError("The event must be a JSON object.")
        return event
