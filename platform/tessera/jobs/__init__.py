"""Background jobs: Celery with Redis, eager in-process when no broker is configured."""
