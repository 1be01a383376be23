"""Celery tasks of chat functions: thin wrappers that run a function (``functions.actions``) in a worker."""

from typing import Any

from celery import shared_task

from functions.actions import do_run_function
from functions.selectors import function_to_run


@shared_task(name="functions.run_function", ignore_result=True)
def run_function(function_id: int, args: dict[str, Any], chain: list[int]) -> None:
    """Run a function queued by an event (a function deleted since is skipped)."""
    function = function_to_run(function_id)
    if function is not None:
        do_run_function(function, args, tuple(chain))
