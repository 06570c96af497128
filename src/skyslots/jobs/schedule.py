"""The periodic jobs' names and periods (beat's schedule, and the in-process one without it)."""

DELIVER_TASK = "skyslots.deliver_outbox"
RELAY_TASK = "skyslots.relay_outbox"
REMINDERS_TASK = "skyslots.queue_reminders"
SWEEP_TASK = "skyslots.sweep_holds"
RETENTION_TASK = "skyslots.purge_retention"
SWEEP_SECONDS = 5.0
RETENTION_SECONDS = 3600.0  # hourly: retention is counted in days
