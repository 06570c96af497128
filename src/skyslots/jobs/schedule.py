"""The periodic jobs' names and periods (beat's schedule, and the in-process one without it)."""

DELIVER_TASK = "skyslots.deliver_outbox"
RELAY_TASK = "skyslots.relay_outbox"
REMINDERS_TASK = "skyslots.queue_reminders"
SWEEP_TASK = "skyslots.sweep_holds"
RETENTION_TASK = "skyslots.purge_retention"
SWEEP_SECONDS = 5.0
RETENTION_SECONDS = 3600.0  # hourly: retention is counted in days
RUN_EXPORT_TASK = "skyslots.run_export"
RELAY_EXPORTS_TASK = "skyslots.relay_exports"  # every SKYSLOTS_OUTBOX_POLL_SECONDS
CLEAN_STORAGE_TASK = "skyslots.clean_storage"
CLEAN_STORAGE_SECONDS = 3600.0
WARM_TASK = "skyslots.warm_artifacts"
WARM_DEBOUNCE_SECONDS = 2.0  # roster changes within this are one regeneration
# Every task's name: their failure series start at 0 (skyslots.metrics).
TASK_NAMES = (
    DELIVER_TASK,
    RELAY_TASK,
    REMINDERS_TASK,
    SWEEP_TASK,
    RETENTION_TASK,
    RUN_EXPORT_TASK,
    RELAY_EXPORTS_TASK,
    CLEAN_STORAGE_TASK,
    WARM_TASK,
)
