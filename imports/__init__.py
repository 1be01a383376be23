"""Import and export jobs run by Celery workers (and by management commands, with the same code)."""
