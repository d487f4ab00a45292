"""Periodic tasks are defined in code, next to their tasks (`<app>/schedules.py`), and installed
into django-celery-beat's tables by `migrate` and by `manage.py install_schedules` (which
`make run` runs), so beat has them from its first start and after every restart, and admins
see them under Periodic tasks."""

import importlib

from django.apps import apps
from django.conf import settings

# Each app's schedules module holds SCHEDULES = {name: (task name, every how many seconds, or a
# crontab "minute hour day month weekday" in TIME_ZONE)}.
SCHEDULE_MODULES = ["agents.schedules", "reviews.schedules", "hilconsole.schedules"]

# The console's own: rollups for the dashboard and Prometheus, and the nightly retention sweep.
SCHEDULES = {
    "Roll up the dashboard's figures": ("hilconsole.rollups_refresh", 300),
    "Delete conversations' data past their inbox's retention": ("hilconsole.retention_sweep", "30 3 * * *"),
}


def all_schedules() -> dict[str, tuple[str, int | str]]:
    schedules = {}
    for module in SCHEDULE_MODULES:
        schedules |= importlib.import_module(module).SCHEDULES
    return schedules


def schedules_install(schedules: dict[str, tuple[str, int | str]] | None = None, models=apps) -> None:
    """Create or correct each schedule; an admin's switch (enabled or not) is kept.

    `models` is the app registry, or a migration's historical one.
    """
    interval_schedule = models.get_model("django_celery_beat", "IntervalSchedule")
    crontab_schedule = models.get_model("django_celery_beat", "CrontabSchedule")
    periodic_task = models.get_model("django_celery_beat", "PeriodicTask")
    for name, (task, when) in (schedules or all_schedules()).items():
        if isinstance(when, str):
            minute, hour, day_of_month, month_of_year, day_of_week = when.split()
            crontab, _ = crontab_schedule.objects.get_or_create(
                minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month_of_year,
                day_of_week=day_of_week, timezone=settings.TIME_ZONE,
            )  # fmt: skip
            periodic_task.objects.update_or_create(name=name, defaults={"task": task, "crontab": crontab,
                                                                        "interval": None})  # fmt: skip
        else:
            every, _ = interval_schedule.objects.get_or_create(every=when, period="seconds")
            periodic_task.objects.update_or_create(name=name, defaults={"task": task, "interval": every})
