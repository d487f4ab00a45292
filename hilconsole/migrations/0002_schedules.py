from django.db import migrations

from hilconsole.schedules import SCHEDULES, schedules_install


def install(apps, schema_editor):
    schedules_install(SCHEDULES, models=apps)


class Migration(migrations.Migration):
    dependencies = [("hilconsole", "0001_initial"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
