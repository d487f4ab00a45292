from django.db import migrations

from hilconsole.schedules import schedules_install
from reviews.schedules import SCHEDULES


def install(apps, schema_editor):
    schedules_install(SCHEDULES, models=apps)


class Migration(migrations.Migration):
    dependencies = [("reviews", "0002_desk_schedules")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
