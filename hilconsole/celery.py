"""The Celery app. Its configuration is the CELERY_* part of Django settings."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hilconsole.settings")

app = Celery("hilconsole")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
