"""The "backup" action of the audit log: each run of manage.py backup."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('convstore', '0010_max_messages'),
    ]

    operations = [
        migrations.AlterField(
            model_name='auditentry',
            name='action',
            field=models.CharField(choices=[('fork', 'Branch created'), ('make_active', 'Branch made active'), ('delete_branch', 'Branch deleted'), ('clear', 'Conversation cleared'), ('trash', 'Moved to trash'), ('restore', 'Restored'), ('purge', 'Purged'), ('edit', 'Edited'), ('recompute', 'Structure recomputed'), ('reprice', 'Usage repriced'), ('import', 'Imported'), ('encrypt', 'Items encrypted'), ('rekey', 'Items re-encrypted'), ('read', 'Content read'), ('hold', 'Legal hold placed'), ('release_hold', 'Legal hold lifted'), ('expire', 'Expired items deleted'), ('backup', 'Backup taken')], max_length=32),
        ),
    ]
