"""Periodic tasks are defined in code, next to their tasks (`<app>/schedules.py`), and installed
into django-celery-beat's tables by `migrate` and by `manage.py install_schedules` (which
`make run` runs), so beat has them from its first start and after every restart, and admins
see them under Periodic tasks."""

import importlib

from django.apps import apps

# Each app's schedules module holds SCHEDULES = {name: (task name, every how many seconds)}.
SCHEDULE_MODULES = ["agents.schedules", "reviews.schedules"]


def all_schedules() -> dict[str, tuple[str, int]]:
    schedules = {}
    for module in SCHEDULE_MODULES:
        schedules |= importlib.import_module(module).SCHEDULES
    return schedules


def schedules_install(schedules: dict[str, tuple[str, int]] | None = None, models=apps) -> None:
    """Create or correct each schedule; an admin's switch (enabled or not) is kept.

    `models` is the app registry, or a migration's historical one.
    """
    interval_schedule = models.get_model("django_celery_beat", "IntervalSchedule")
    periodic_task = models.get_model("django_celery_beat", "PeriodicTask")
    for name, (task, seconds) in (schedules or all_schedules()).items():
        every, _ = interval_schedule.objects.get_or_create(every=seconds, period="seconds")
        periodic_task.objects.update_or_create(name=name, defaults={"task": task, "interval": every})
