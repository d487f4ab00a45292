from django.core.management.base import BaseCommand

from hilconsole.schedules import all_schedules, schedules_install


class Command(BaseCommand):
    help = "Install (or correct) every app's periodic tasks in django-celery-beat."

    def handle(self, *args, **options):
        schedules_install()
        self.stdout.write(f"Periodic tasks installed: {', '.join(all_schedules())}.")
