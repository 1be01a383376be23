"""Deployment checks (``manage.py check --deploy``) of Parley's own security settings: each purpose has a signing key
of its own in production, so that one leaked key opens one thing."""

import os
from typing import Any

from django.core.checks import CheckMessage, Tags, Warning, register

PURPOSE_KEYS = ("PARLEY_GRANTS_KEY", "PARLEY_FUNCTIONS_KEY")


@register(Tags.security, deploy=True)
def purpose_keys_set(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Every purpose key comes from the environment, not derived from SECRET_KEY."""
    return [
        Warning(
            f"{name} is derived from SECRET_KEY: whoever learns SECRET_KEY can forge what {name} signs.",
            hint=f"Set {name} in the environment to a long random value of its own.",
            id="parley.W001",
        )
        for name in PURPOSE_KEYS
        if not os.environ.get(name)
    ]
