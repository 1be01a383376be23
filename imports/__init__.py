"""Import and export jobs run by Celery workers (the import/export issue builds this app)."""
