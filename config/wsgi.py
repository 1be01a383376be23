"""WSGI entry point, used only by ``manage.py runserver`` and the test live server; production runs ASGI."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()
