"""The data lifecycle: a conversation's TTL, legal holds (fields, permission, audit actions)
and the record of apply_retention's runs. The hold permission is granted to no one:
superusers have it, and others get it by hand."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('convstore', '0008_structure_branch_turn_index'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='RetentionRun',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('started_at', models.DateTimeField()),
                ('finished_at', models.DateTimeField()),
                ('dry_run', models.BooleanField()),
                ('retain_days', models.IntegerField(blank=True, null=True)),
                ('trash_days', models.IntegerField(blank=True, null=True)),
                ('counts', models.JSONField(blank=True, default=dict)),
            ],
            options={
                'db_table': 'convstore_retention_run',
                'ordering': ['-started_at', '-id'],
            },
        ),
        migrations.AlterModelOptions(
            name='agentsession',
            options={'ordering': ['-updated_at'], 'permissions': [('purge_agentsession', 'Can purge conversations for good'), ('view_content', 'Can read message content'), ('hold_agentsession', 'Can place and lift legal holds')]},
        ),
        migrations.AddField(
            model_name='agentsession',
            name='held_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='agentsession',
            name='held_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='agentsession',
            name='hold_reason',
            field=models.TextField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='agentsession',
            name='ttl_seconds',
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='action',
            field=models.CharField(choices=[('fork', 'Branch created'), ('make_active', 'Branch made active'), ('delete_branch', 'Branch deleted'), ('clear', 'Conversation cleared'), ('trash', 'Moved to trash'), ('restore', 'Restored'), ('purge', 'Purged'), ('edit', 'Edited'), ('recompute', 'Structure recomputed'), ('reprice', 'Usage repriced'), ('import', 'Imported'), ('encrypt', 'Items encrypted'), ('rekey', 'Items re-encrypted'), ('read', 'Content read'), ('hold', 'Legal hold placed'), ('release_hold', 'Legal hold lifted'), ('expire', 'Expired items deleted')], max_length=32),
        ),
        migrations.AddIndex(
            model_name='agentsession',
            index=models.Index(condition=models.Q(('held_at__isnull', False)), fields=['-held_at'], name='agent_sessions_held'),
        ),
        migrations.AddIndex(
            model_name='agentsession',
            index=models.Index(condition=models.Q(('ttl_seconds__isnull', False)), fields=['session_id'], name='agent_sessions_with_ttl'),
        ),
        migrations.AddIndex(
            model_name='retentionrun',
            index=models.Index(fields=['dry_run', '-started_at'], name='retention_run_latest'),
        ),
    ]
