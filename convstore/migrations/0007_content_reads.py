"""Reads of message text in the audit log: the "read" action, and the index that
finds a user's latest read of a conversation's branch."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("convstore", "0006_view_content"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditentry",
            name="action",
            field=models.CharField(
                choices=[
                    ("fork", "Branch created"),
                    ("make_active", "Branch made active"),
                    ("delete_branch", "Branch deleted"),
                    ("clear", "Conversation cleared"),
                    ("trash", "Moved to trash"),
                    ("restore", "Restored"),
                    ("purge", "Purged"),
                    ("edit", "Edited"),
                    ("recompute", "Structure recomputed"),
                    ("reprice", "Usage repriced"),
                    ("import", "Imported"),
                    ("encrypt", "Items encrypted"),
                    ("rekey", "Items re-encrypted"),
                    ("read", "Content read"),
                ],
                max_length=32,
            ),
        ),
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(
                condition=models.Q(("action", "read")),
                fields=["actor", "session_id", "branch_id", "-at"],
                name="audit_reads_latest",
            ),
        ),
    ]
