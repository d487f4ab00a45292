"""The desk's periodic tasks, defined here and installed into django-celery-beat's tables by a
migration (and again by `manage.py desk_schedules`), so they survive restarts and admins see
them under Periodic tasks."""

# name: (task, every how many seconds)
SCHEDULES = {
    "Desk presence: away, offline, requeue after grace": ("reviews.presence_sweep", 15),
    "Desk service levels: escalate unclaimed handovers": ("reviews.sla_sweep", 15),
}


def schedules_install(interval_schedule, periodic_task) -> None:
    """Create or update the schedules; takes the models so a migration can pass its own."""
    for name, (task, seconds) in SCHEDULES.items():
        every, _ = interval_schedule.objects.get_or_create(every=seconds, period="seconds")
        periodic_task.objects.update_or_create(name=name, defaults={"task": task, "interval": every, "enabled": True})
