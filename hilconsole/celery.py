"""The Celery app. Its configuration is the CELERY_* part of Django settings."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hilconsole.settings")

app = Celery("hilconsole")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _connections_like_a_request(**kwargs):
    # As Django does around a request: a connection past its age goes back to the pool, and the
    # next query health-checks the one it gets, so a database restart costs no task.
    from django.db import close_old_connections

    close_old_connections()
