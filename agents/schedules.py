"""The agents app's periodic tasks, defined here and installed into django-celery-beat's tables
after every `migrate`, so beat runs them from the first start and after every restart."""

from django.db import transaction

# name → (task, every seconds)
SCHEDULES = {
    "Resume stalled AI turns": ("agents.resume_stalled_turns", 30),
}


@transaction.atomic
def schedules_install() -> None:
    """Create or correct each schedule; an admin's enabled switch is kept."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    for name, (task, seconds) in SCHEDULES.items():
        interval, _ = IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)
        PeriodicTask.objects.update_or_create(name=name, defaults={"task": task, "interval": interval})
