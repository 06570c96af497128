"""Background jobs: outbox delivery and the sweeps, on Celery or in-process (docs/jobs.md)."""
