from django.db import migrations


class Migration(migrations.Migration):
    """A chunk's full-text vector stays in its row; its embedding goes out of the row first.

    A chunk's row (text, full-text vector, 1 KB embedding) is over PostgreSQL's 2 KB TOAST
    threshold, and by default the largest value moves to the TOAST table: for about a third of the
    chunks that is the full-text vector, which ranking then reads from there (an index lookup and
    another page per chunk). The embedding is read from the row only for the few passages shown.
    Rows written from now on are laid out so; a chunk written before keeps its layout until its
    document is ingested again.
    """

    dependencies = [("agents", "0011_workflows")]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE agents_knowledgechunk ALTER COLUMN search SET STORAGE MAIN",
            reverse_sql="ALTER TABLE agents_knowledgechunk ALTER COLUMN search SET STORAGE EXTENDED",
        )
    ]
