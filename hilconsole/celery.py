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


class SentTask:
    """A sent task nobody waits for: its id, and no result backend.

    Celery's own result object binds the app's result backend, which Celery keeps per thread.
    Under Django's ASGI handler every request ran in a thread of its own, so each request that sent
    a task built a new Redis result backend (with its connection pool) only to throw it away; and a
    worker's threads need none either.
    """

    ignored = True

    def __init__(self, task_id: str):
        self.id = task_id


def send_unawaited(name: str, *, args=(), kwargs=None) -> SentTask:
    """Send task `name` by name, asking for no result: nobody waits for it, and the worker
    writes none."""
    return app.send_task(name, args=args, kwargs=kwargs, ignore_result=True, result_cls=SentTask, add_to_parent=False)
