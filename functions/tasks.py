"""Celery tasks of chat functions: thin wrappers that run a function (``functions.actions``) in a worker."""

from typing import Any

from celery import shared_task

from functions.actions import do_run_function
from functions.models import ChatFunction


@shared_task(name="functions.run_function", ignore_result=True)
def run_function(function_id: int, args: dict[str, Any], chain: list[int]) -> None:
    """Run a function queued by an event (a function deleted since is skipped)."""
    function = (
        ChatFunction.objects.select_related("application__oauth_client", "runtime").filter(pk=function_id).first()
    )
    if function is not None:
        do_run_function(function, args, tuple(chain))
