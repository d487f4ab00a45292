from django.db import migrations
from pgvector.django import VectorExtension


class Migration(migrations.Migration):
    """pgvector, which the knowledge base and every embedding column rely on."""

    dependencies = []

    operations = [VectorExtension()]
