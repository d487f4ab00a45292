from django.core.management.base import BaseCommand
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from reviews.schedules import SCHEDULES, schedules_install


class Command(BaseCommand):
    help = "Install (or update) the desk's periodic tasks in django-celery-beat."

    def handle(self, *args, **options):
        schedules_install(IntervalSchedule, PeriodicTask)
        self.stdout.write(f"Desk schedules installed: {', '.join(SCHEDULES)}.")
