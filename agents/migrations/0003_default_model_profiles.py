from django.db import migrations

PROFILES = [
    ("fast", "Quick, cheap answers: classification, routing."),
    ("balanced", "Customer answers and tool use."),
    ("powerful", "Hard cases and summaries."),
]


def create_profiles(apps, schema_editor):
    """Every profile starts on the embedded local model, so the console works offline."""
    ModelProfile = apps.get_model("agents", "ModelProfile")
    Deployment = apps.get_model("agents", "Deployment")
    for name, description in PROFILES:
        profile, created = ModelProfile.objects.get_or_create(name=name, defaults={"description": description})
        if created:
            Deployment.objects.create(profile=profile, position=0, model="local/hil-small", timeout_seconds=30)


class Migration(migrations.Migration):
    dependencies = [("agents", "0002_ai_building_blocks")]

    operations = [migrations.RunPython(create_profiles, migrations.RunPython.noop)]
